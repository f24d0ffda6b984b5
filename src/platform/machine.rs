//! This machine and this module as the DLL's setup depends on them: the bitness of
//! Windows and of a DLL file, where the loaded module lives, the system folders ERPs copy
//! the DLL into, whether the session is a Remote Desktop one.

use std::path::{Path, PathBuf};

/// The bitness a PE machine value (IMAGE_FILE_MACHINE_*) stands for: 0x14c (x86) 32,
/// 0x8664 (x64) and 0xaa64 (ARM64) 64.
pub fn machine_bits(machine: u16) -> Option<u32> {
    match machine {
        0x14c => Some(32),
        0x8664 | 0xaa64 => Some(64),
        _ => None,
    }
}

/// The PE machine of a Windows executable image (its first bytes).
pub fn pe_machine(image: &[u8]) -> Option<u16> {
    if image.len() < 0x40 || &image[..2] != b"MZ" {
        return None;
    }
    let pe = u32::from_le_bytes(image[0x3c..0x40].try_into().ok()?) as usize;
    let sig = image.get(pe..pe + 6)?;
    if &sig[..4] != b"PE\0\0" {
        return None;
    }
    Some(u16::from_le_bytes([sig[4], sig[5]]))
}

/// The PE machine of a file (4 KiB are enough for the headers).
pub fn file_machine(path: &Path) -> Option<u16> {
    use std::io::Read;
    let mut buf = vec![0u8; 4096];
    let mut f = std::fs::File::open(path).ok()?;
    let n = f.read(&mut buf).ok()?;
    pe_machine(&buf[..n])
}

/// Whether the operating system itself is 64-bit, whatever the bitness of this process:
/// the system folders the DLL belongs in depend on it. A 64-bit process answers for
/// itself. On Windows, the native machine of [`super::native_machine`], which tells an
/// emulated 32-bit process on ARM64 the truth.
#[cfg(windows)]
pub fn os_is_64bit() -> bool {
    usize::BITS == 64 || machine_bits(super::native_machine()) == Some(64)
}

/// Off Windows, a 32-bit process on a 64-bit x86 system finds /lib64: the psABI puts the
/// 64-bit program loader there (/lib64/ld-linux-x86-64.so.2).
#[cfg(not(windows))]
pub fn os_is_64bit() -> bool {
    usize::BITS == 64 || Path::new("/lib64").exists()
}

/// This DLL's own module, from the address of one of its statics; `flags` are
/// GetModuleHandleExW's besides FROM_ADDRESS (whether the module is pinned).
#[cfg(windows)]
pub(super) fn own_module(flags: u32) -> Option<windows::Win32::Foundation::HMODULE> {
    use windows::core::PCWSTR;
    use windows::Win32::Foundation::HMODULE;
    use windows::Win32::System::LibraryLoader::{
        GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    };
    static ANCHOR: u8 = 0;
    let mut module = HMODULE::default();
    // SAFETY: FROM_ADDRESS reads the address of a static of this module; the out pointer is valid.
    unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | flags,
            PCWSTR(&ANCHOR as *const u8 as *const u16),
            &mut module,
        )
        .ok()?;
    }
    Some(module)
}

/// The file this library was loaded from (the DLL, or the program it is built into).
#[cfg(windows)]
pub fn module_path() -> Option<PathBuf> {
    use windows::Win32::System::LibraryLoader::{
        GetModuleFileNameW, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
    };
    let module = own_module(GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT)?;
    let mut buf = vec![0u16; 32768];
    // SAFETY: the buffer is writable for its length.
    let n = unsafe { GetModuleFileNameW(Some(module), &mut buf) } as usize;
    if n == 0 {
        return None;
    }
    Some(PathBuf::from(String::from_utf16_lossy(&buf[..n])))
}

#[cfg(not(windows))]
pub fn module_path() -> Option<PathBuf> {
    static ANCHOR: u8 = 0;
    // SAFETY: Dl_info is plain data; all zeroes is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the address and fills `info`.
    let ok = unsafe { libc::dladdr(&ANCHOR as *const u8 as *const libc::c_void, &mut info) };
    if ok == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the dynamic loader.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let p = PathBuf::from(name.to_string_lossy().into_owned());
    Some(std::fs::canonicalize(&p).unwrap_or(p))
}

/// The system folders ERPs copy the DLL into, and the bitness each must hold. A 32-bit
/// process sees the real System32 only through "Sysnative". None off Windows.
#[cfg(windows)]
pub fn system_folders() -> Vec<(PathBuf, u32)> {
    let win = windows_dir();
    if !os_is_64bit() {
        return vec![(win.join("System32"), 32)];
    }
    let native = if usize::BITS == 64 {
        win.join("System32")
    } else {
        win.join("Sysnative")
    };
    vec![(native, 64), (win.join("SysWOW64"), 32)]
}

#[cfg(not(windows))]
pub fn system_folders() -> Vec<(PathBuf, u32)> {
    Vec::new()
}

#[cfg(windows)]
fn windows_dir() -> PathBuf {
    use windows::Win32::System::SystemInformation::GetSystemWindowsDirectoryW;
    let mut buf = vec![0u16; 1024];
    // SAFETY: the buffer is writable for its length.
    let n = unsafe { GetSystemWindowsDirectoryW(Some(&mut buf)) } as usize;
    if n == 0 || n >= buf.len() {
        return PathBuf::from(std::env::var("WINDIR").unwrap_or_else(|_| "C:\\Windows".into()));
    }
    PathBuf::from(String::from_utf16_lossy(&buf[..n]))
}

/// Whether this process runs in a Remote Desktop session (where the USB token is seen
/// only if smart cards are redirected); `None` off Windows.
#[cfg(windows)]
pub fn remote_session() -> Option<bool> {
    use windows::Win32::UI::WindowsAndMessaging::{GetSystemMetrics, SM_REMOTESESSION};
    // SAFETY: a plain query.
    Some(unsafe { GetSystemMetrics(SM_REMOTESESSION) } != 0)
}

#[cfg(not(windows))]
pub fn remote_session() -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pe_machine_reads_headers() {
        let mut img = vec![0u8; 0x100];
        img[..2].copy_from_slice(b"MZ");
        img[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        img[0x80..0x84].copy_from_slice(b"PE\0\0");
        img[0x84..0x86].copy_from_slice(&0x14cu16.to_le_bytes());
        assert_eq!(pe_machine(&img), Some(0x14c));
        assert_eq!(machine_bits(0x14c), Some(32));
        img[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
        assert_eq!(pe_machine(&img).and_then(machine_bits), Some(64));
        img[0x80] = b'X';
        assert_eq!(pe_machine(&img), None);
        assert_eq!(pe_machine(b"\x7fELF"), None);
    }
}
