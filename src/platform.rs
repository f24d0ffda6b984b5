//! What the DLL asks of the operating system: pinning its own module, the WebView2
//! runtime, the bitness of Windows. The bottom layer: login, client and ffi use it.

/// Pins the DLL in memory once it starts threads of its own (the I/O runtime, the login
/// window's UI thread): a host that calls FreeLibrary would otherwise unload code those
/// threads are still running, and crash. Pinned, FreeLibrary becomes harmless.
#[cfg(windows)]
pub fn pin_module() {
    use windows::core::PCWSTR;
    use windows::Win32::Foundation::HMODULE;
    use windows::Win32::System::LibraryLoader::{
        GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_PIN,
    };
    static ANCHOR: u8 = 0;
    let mut module = HMODULE::default();
    // SAFETY: FROM_ADDRESS reads the address of a static of this module; the out pointer is valid.
    unsafe {
        let _ = GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
            PCWSTR(&ANCHOR as *const u8 as *const u16),
            &mut module,
        );
    }
}

#[cfg(not(windows))]
pub fn pin_module() {}

/// The version of the installed WebView2 runtime, through the DLL's own loader
/// (build/webview2_loader.c), or why there is none (the loader's HRESULT).
#[cfg(windows)]
pub fn webview2_version(browser_folder: Option<&std::path::Path>) -> Result<String, String> {
    use webview2_com::Microsoft::Web::WebView2::Win32::GetAvailableCoreWebView2BrowserVersionString;
    use windows::core::{HSTRING, PCWSTR, PWSTR};
    use windows::Win32::System::Com::CoTaskMemFree;
    let folder = browser_folder.map(|p| HSTRING::from(p.as_os_str()));
    let folder_ptr = folder
        .as_ref()
        .map(|h| PCWSTR(h.as_ptr()))
        .unwrap_or(PCWSTR::null());
    let mut out = PWSTR::null();
    // SAFETY: the folder string lives across the call; the loader hands back a
    // CoTaskMemAlloc'd string (or NULL), freed here.
    unsafe {
        let r = GetAvailableCoreWebView2BrowserVersionString(folder_ptr, &mut out);
        let text = if out.is_null() {
            String::new()
        } else {
            out.to_string().unwrap_or_default()
        };
        if !out.is_null() {
            CoTaskMemFree(Some(out.0 as *const _));
        }
        match r {
            Ok(()) if !text.is_empty() => Ok(text),
            Ok(()) => Err("no runtime found".into()),
            Err(e) => Err(format!("0x{:08X} {}", e.code().0 as u32, e.message())),
        }
    }
}

/// WebView2 exists only on Windows.
#[cfg(not(windows))]
pub fn webview2_version(_browser_folder: Option<&std::path::Path>) -> Result<String, String> {
    Err("WebView2 exists only on Windows".into())
}

/// Whether Windows itself is 64-bit (whatever the bitness of this process): the WebView2
/// installer and the system folders the DLL belongs in depend on it.
#[cfg(windows)]
pub fn os_is_64bit() -> bool {
    use windows::Win32::System::SystemInformation::{GetNativeSystemInfo, SYSTEM_INFO};
    let mut info = SYSTEM_INFO::default();
    // SAFETY: the out pointer is valid.
    unsafe { GetNativeSystemInfo(&mut info) };
    // SAFETY: reading the processor architecture member of the union GetNativeSystemInfo filled.
    let arch = unsafe { info.Anonymous.Anonymous.wProcessorArchitecture.0 };
    arch == 9 || arch == 12 // AMD64, ARM64
}

#[cfg(not(windows))]
pub fn os_is_64bit() -> bool {
    cfg!(target_pointer_width = "64")
}

/// The kind of network filesystem `path` (a file, or a file about to be created) is on, or
/// `None` for a local disk. SQLite's WAL mode does not work there (sqlite.org, wal.html),
/// and no such filesystem refuses it: the store asks here instead.
pub fn network_filesystem(path: &std::path::Path) -> Option<&'static str> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    network_filesystem_of(&abs)
}

/// The magic numbers of linux/magic.h (and fs/smb/client) for network filesystems.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn linux_network_fs_name(magic: u32) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "nfs",
        0x517B => "smb",
        0xFF53_4D42 => "cifs",
        0xFE53_4D42 => "smb2",
        0x5346_414F => "afs",
        0x00C3_6400 => "ceph",
        0x7375_7245 => "coda",
        0x564C => "ncp",
        0x0102_1997 => "9p",
        _ => return None,
    })
}

#[cfg(target_os = "linux")]
fn network_filesystem_of(abs: &std::path::Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    // The nearest folder that exists: the file itself may not exist yet.
    let mut dir = abs;
    while !dir.exists() {
        dir = dir.parent()?;
    }
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path; `st` is a writable statfs the call fills.
    if unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statfs succeeded, so it initialised the struct.
    linux_network_fs_name(unsafe { st.assume_init() }.f_type as u32)
}

#[cfg(windows)]
fn network_filesystem_of(abs: &std::path::Path) -> Option<&'static str> {
    use std::path::{Component, Prefix};
    use windows::core::HSTRING;
    use windows::Win32::Storage::FileSystem::GetDriveTypeW;
    let drive = match abs.components().next()? {
        Component::Prefix(p) => match p.kind() {
            Prefix::UNC(..) | Prefix::VerbatimUNC(..) => return Some("smb"),
            Prefix::Disk(d) | Prefix::VerbatimDisk(d) => format!("{}:\\", d as char),
            _ => return None,
        },
        _ => return None,
    };
    // DRIVE_REMOTE: a mapped network drive (net use Z: \\server\share).
    // SAFETY: the root path lives across the call.
    (unsafe { GetDriveTypeW(&HSTRING::from(drive)) } == 4).then_some("smb")
}

#[cfg(not(any(target_os = "linux", windows)))]
fn network_filesystem_of(_dir: &std::path::Path) -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_filesystems_by_magic_number() {
        assert_eq!(linux_network_fs_name(0x6969), Some("nfs"));
        assert_eq!(linux_network_fs_name(0xFF53_4D42), Some("cifs"));
        assert_eq!(linux_network_fs_name(0xFE53_4D42), Some("smb2"));
        assert_eq!(linux_network_fs_name(0xEF53), None, "ext4");
        assert_eq!(linux_network_fs_name(0x0102_1994), None, "tmpfs");
    }

    #[test]
    fn a_local_folder_is_not_a_network_one() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(network_filesystem(&d.path().join("not/yet/there.db")), None);
        assert_eq!(
            network_filesystem(std::path::Path::new("relative.db")),
            None
        );
    }
}
