//! What the DLL asks of the operating system: pinning its own module, the WebView2
//! runtime (and the rule for the folders its DLL may be loaded from), the machine and the
//! module (`machine`), the Internet Options proxy (`internet_options`). The bottom layer:
//! login, client, diagnose and ffi use it.

mod internet_options;
mod machine;

pub use internet_options::internet_options_proxy;
pub use machine::{
    file_machine, machine_bits, module_path, os_is_64bit, pe_machine, remote_session,
    system_folders,
};

/// Pins the DLL in memory once it starts threads of its own (the I/O runtime, the login
/// window's UI thread): a host that calls FreeLibrary would otherwise unload code those
/// threads are still running, and crash. Pinned, FreeLibrary becomes harmless.
#[cfg(windows)]
pub fn pin_module() {
    let _ =
        machine::own_module(windows::Win32::System::LibraryLoader::GET_MODULE_HANDLE_EX_FLAG_PIN);
}

#[cfg(not(windows))]
pub fn pin_module() {}

// ---- the WebView2 runtime: where its DLL may be loaded from --------------------------

/// Where a WebView2 runtime folder was named, in the order the loader asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeSource {
    /// The configuration's `webview2_folder`: a fixed-version runtime the ERP ships.
    Config,
    /// The `WEBVIEW2_BROWSER_EXECUTABLE_FOLDER` environment variable.
    Environment,
    /// EdgeUpdate's key of the Evergreen runtime in HKEY_LOCAL_MACHINE.
    MachineRegistry,
    /// The same key in HKEY_CURRENT_USER (a per-user Evergreen install).
    UserRegistry,
}

impl RuntimeSource {
    /// How messages and the log name it.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeSource::Config => "webview2_folder",
            RuntimeSource::Environment => "WEBVIEW2_BROWSER_EXECUTABLE_FOLDER",
            RuntimeSource::MachineRegistry => "HKLM EdgeUpdate EBWebView",
            RuntimeSource::UserRegistry => "HKCU EdgeUpdate EBWebView",
        }
    }
}

/// Why a runtime folder is not loaded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an absolute path on a drive: it would depend on the current folder.
    Relative,
    /// A network path (`\\server\share`): other machines and users write there.
    Network,
    /// Outside the folders only this user or administrators write to.
    Outside,
}

impl Refusal {
    /// The reason, in both languages (Romanian, English).
    pub fn texts(self) -> (&'static str, &'static str) {
        match self {
            Refusal::Relative => (
                "nu este o cale completă pe un disc",
                "not a full path on a drive",
            ),
            Refusal::Network => ("este o cale de rețea", "a network path"),
            Refusal::Outside => (
                "nu este în dosarul local al utilizatorului (AppData\\Local) sau în Program Files",
                "not in the user's own local folder (AppData\\Local) or in Program Files",
            ),
        }
    }
}

/// The one rule for the folders the WebView2 runtime's DLL is loaded from (it then runs
/// inside the ERP). Never a relative path (it would depend on the current folder) nor a
/// network one (code from a share runs whatever anyone who can write there put in it).
/// `webview2_folder` is the ERP's explicit choice, as trusted as the ERP's own folder,
/// and HKLM is written only by administrators (the Evergreen installer): both are taken
/// as they are. A folder named by the environment or by HKCU can be set by anything
/// running as the user, and on a terminal server may point where other users write
/// (C:\Temp, a shared folder): it is used only inside `safe_roots` — the user's own local
/// app data (where the per-user Evergreen runtime installs) and Program Files (where only
/// administrators write). Windows paths, compared lexically, case-insensitively, `..` refused.
pub fn runtime_folder_check(
    source: RuntimeSource,
    folder: &str,
    safe_roots: &[String],
) -> Result<(), Refusal> {
    let Some(parts) = local_components(folder)? else {
        return Err(Refusal::Relative);
    };
    match source {
        RuntimeSource::Config | RuntimeSource::MachineRegistry => Ok(()),
        RuntimeSource::Environment | RuntimeSource::UserRegistry => {
            if parts.iter().any(|p| p == "..") {
                return Err(Refusal::Outside);
            }
            let under = |root: &String| match local_components(root) {
                Ok(Some(r)) => parts.len() > r.len() && parts[..r.len()] == r[..],
                _ => false,
            };
            if safe_roots.iter().any(under) {
                Ok(())
            } else {
                Err(Refusal::Outside)
            }
        }
    }
}

/// The lower-cased components of an absolute local Windows path (`C:\a\b`, `\\?\C:\a`),
/// drive first; `None` for a relative one, `Network` for `\\server\share` (and `\\?\UNC\`).
pub(crate) fn local_components(path: &str) -> Result<Option<Vec<String>>, Refusal> {
    let p = path.trim().replace('/', "\\");
    let p = match p
        .strip_prefix("\\\\?\\")
        .or_else(|| p.strip_prefix("\\\\.\\"))
    {
        Some(rest) if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("UNC\\") => {
            return Err(Refusal::Network)
        }
        Some(rest) => rest.to_string(),
        None if p.starts_with("\\\\") => return Err(Refusal::Network),
        None => p,
    };
    let b = p.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_alphabetic() || b[1] != b':' || b[2] != b'\\' {
        return Ok(None);
    }
    Ok(Some(
        p.split('\\')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_lowercase)
            .collect(),
    ))
}

/// The WebView2 runtime the login window will use: its folder, whether it is a
/// fixed-version one, and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    pub folder: std::path::PathBuf,
    pub fixed: bool,
    pub version: String,
}

/// Why there is no usable runtime, in both languages (Romanian, English).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoRuntime {
    pub ro: String,
    pub en: String,
}

/// Finds the runtime as Microsoft's loader would — `webview2_folder`, else the
/// environment variable, else the registry (HKLM, then HKCU) — with every folder passed
/// through [`runtime_folder_check`]. A folder refused is skipped (and named in the log and
/// in the answer if nothing else is found); a configured or environment folder that
/// passes is the only one tried, as with Microsoft's loader.
#[cfg(windows)]
pub fn webview2_runtime(config_folder: Option<&std::path::Path>) -> Result<Runtime, NoRuntime> {
    let mut candidates: Vec<(RuntimeSource, std::path::PathBuf)> = Vec::new();
    match config_folder {
        Some(f) => candidates.push((RuntimeSource::Config, f.to_path_buf())),
        None => {
            if let Some(e) =
                std::env::var_os("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER").filter(|e| !e.is_empty())
            {
                candidates.push((RuntimeSource::Environment, e.into()));
            }
            for (source, hive) in [
                (
                    RuntimeSource::MachineRegistry,
                    windows::Win32::System::Registry::HKEY_LOCAL_MACHINE,
                ),
                (
                    RuntimeSource::UserRegistry,
                    windows::Win32::System::Registry::HKEY_CURRENT_USER,
                ),
            ] {
                if let Some(f) = win::evergreen_folder(hive) {
                    candidates.push((source, f));
                }
            }
        }
    }
    let roots = win::safe_roots();
    let (mut ro, mut en) = (Vec::new(), Vec::new());
    for (source, folder) in candidates {
        let shown = folder.display().to_string();
        if let Err(r) = runtime_folder_check(source, &shown, &roots) {
            let (why_ro, why_en) = r.texts();
            ::log::warn!(target: "anaf::login", "WebView2 runtime folder {} = \"{shown}\" not used: {why_en}", source.name());
            ro.push(format!(
                "dosarul din {} „{shown}” nu a fost folosit: {why_ro}",
                source.name()
            ));
            en.push(format!(
                "the folder of {} \"{shown}\" was not used: {why_en}",
                source.name()
            ));
            continue;
        }
        let fixed = matches!(source, RuntimeSource::Config | RuntimeSource::Environment);
        match win::version_in(&folder) {
            Ok(version) => {
                return Ok(Runtime {
                    folder,
                    fixed,
                    version,
                })
            }
            Err(e) => {
                ro.push(format!("{} „{shown}”: {e}", source.name()));
                en.push(format!("{} \"{shown}\": {e}", source.name()));
                if fixed {
                    break;
                }
            }
        }
    }
    if en.is_empty() {
        ro.push("niciun runtime găsit".into());
        en.push("no runtime found".into());
    }
    Err(NoRuntime {
        ro: ro.join("; "),
        en: en.join("; "),
    })
}

/// WebView2 exists only on Windows.
#[cfg(not(windows))]
pub fn webview2_runtime(_config_folder: Option<&std::path::Path>) -> Result<Runtime, NoRuntime> {
    Err(NoRuntime {
        ro: "WebView2 există doar pe Windows".into(),
        en: "WebView2 exists only on Windows".into(),
    })
}

/// The version of the WebView2 runtime the login window would use, or why there is none.
pub fn webview2_version(config_folder: Option<&std::path::Path>) -> Result<String, String> {
    webview2_runtime(config_folder)
        .map(|r| r.version)
        .map_err(|e| e.en)
}

/// Creates a WebView2 environment on `runtime` through the DLL's own loader
/// (build/webview2_loader.c), which loads the runtime's DLL from that folder only.
///
/// # Safety
/// `user_data` is NULL or a NUL-terminated wide string, `handler` a live
/// ICoreWebView2CreateCoreWebView2EnvironmentCompletedHandler, both alive across the call.
#[cfg(windows)]
pub unsafe fn create_webview2_environment(
    runtime: &Runtime,
    user_data: windows::core::PCWSTR,
    handler: *mut std::ffi::c_void,
) -> windows::core::Result<()> {
    let folder = windows::core::HSTRING::from(runtime.folder.as_os_str());
    // SAFETY: the folder lives across the call; the caller vouches for the rest.
    unsafe {
        win::anaf_webview2_create(
            windows::core::PCWSTR(folder.as_ptr()),
            runtime.fixed as i32,
            user_data,
            std::ptr::null_mut(),
            handler,
        )
    }
    .ok()
}

#[cfg(windows)]
mod win {
    use std::path::PathBuf;
    use windows::core::{HRESULT, HSTRING, PCWSTR, PWSTR};
    use windows::Win32::System::Com::CoTaskMemFree;
    use windows::Win32::System::Registry::{
        RegGetValueW, HKEY, RRF_RT_REG_SZ, RRF_SUBKEY_WOW6432KEY,
    };

    // In the loader archive (build/webview2_loader.c), found through webview2-com-sys's
    // `-lWebView2Loader.dll`, which build.rs points at that archive.
    #[link(name = "WebView2Loader.dll")]
    extern "C" {
        pub fn anaf_webview2_create(
            folder: PCWSTR,
            fixed: i32,
            user_data: PCWSTR,
            options: *mut std::ffi::c_void,
            handler: *mut std::ffi::c_void,
        ) -> HRESULT;
    }

    /// The Evergreen runtime's folder that EdgeUpdate wrote under `hive` (its 32-bit
    /// view, where EdgeUpdate writes it).
    pub fn evergreen_folder(hive: HKEY) -> Option<PathBuf> {
        let key = HSTRING::from(
            "SOFTWARE\\Microsoft\\EdgeUpdate\\ClientState\\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}",
        );
        let value = HSTRING::from("EBWebView");
        let mut buf = vec![0u16; 1024];
        let mut size = (buf.len() * 2) as u32;
        // SAFETY: the strings are alive and NUL-terminated; buf is writable for `size` bytes.
        let r = unsafe {
            RegGetValueW(
                hive,
                &key,
                &value,
                RRF_RT_REG_SZ | RRF_SUBKEY_WOW6432KEY,
                None,
                Some(buf.as_mut_ptr().cast()),
                Some(&mut size),
            )
        };
        if r.is_err() {
            return None;
        }
        let len = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        let s = String::from_utf16_lossy(&buf[..len]);
        (!s.trim().is_empty()).then(|| PathBuf::from(s.trim()))
    }

    /// The folders only this user or administrators write to, from the shell (never from
    /// the environment, which anything running as the user can change).
    pub fn safe_roots() -> Vec<String> {
        use windows::Win32::UI::Shell::{
            FOLDERID_LocalAppData, FOLDERID_ProgramFiles, FOLDERID_ProgramFilesX86,
            SHGetKnownFolderPath, KF_FLAG_DEFAULT,
        };
        [
            FOLDERID_LocalAppData,
            FOLDERID_ProgramFiles,
            FOLDERID_ProgramFilesX86,
        ]
        .iter()
        .filter_map(|id| {
            // SAFETY: the returned string is CoTaskMemAlloc'd and freed here.
            unsafe {
                let p = SHGetKnownFolderPath(id, KF_FLAG_DEFAULT, None).ok()?;
                let s = p.to_string().ok();
                CoTaskMemFree(Some(p.0 as *const _));
                s
            }
        })
        .collect()
    }

    /// The version of the runtime in `folder`, through the DLL's own loader.
    pub fn version_in(folder: &std::path::Path) -> Result<String, String> {
        use webview2_com::Microsoft::Web::WebView2::Win32::GetAvailableCoreWebView2BrowserVersionString;
        let folder = HSTRING::from(folder.as_os_str());
        let mut out = PWSTR::null();
        // SAFETY: the folder string lives across the call; the loader hands back a
        // CoTaskMemAlloc'd string (or NULL), freed here.
        unsafe {
            let r = GetAvailableCoreWebView2BrowserVersionString(PCWSTR(folder.as_ptr()), &mut out);
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
}

/// The architecture in the name of the Evergreen WebView2 Runtime's standalone installer
/// for a machine whose native architecture is `machine` (IMAGE_FILE_MACHINE_*): one runtime
/// serves every process of the machine, whatever the DLL's bitness, so it follows Windows'
/// architecture. ARM64 has its own installer (x64 and x86 processes run emulated there).
pub fn installer_arch(machine: u16) -> &'static str {
    match machine {
        0xAA64 => "ARM64",
        0x8664 => "X64",
        0x014C => "X86",
        // Unknown: the process's own bitness.
        _ if cfg!(target_pointer_width = "64") => "X64",
        _ => "X86",
    }
}

/// The native architecture of this Windows as IMAGE_FILE_MACHINE_*: IsWow64Process2 (since
/// Windows 10 1709, looked up at run time) tells ARM64 even to an emulated x64 process, to
/// which GetNativeSystemInfo answers AMD64; the latter otherwise.
#[cfg(windows)]
pub fn native_machine() -> u16 {
    use windows::core::BOOL;
    use windows::Win32::Foundation::HANDLE;
    use windows::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    use windows::Win32::System::SystemInformation::{GetNativeSystemInfo, SYSTEM_INFO};
    use windows::Win32::System::Threading::GetCurrentProcess;
    type IsWow64Process2 = unsafe extern "system" fn(HANDLE, *mut u16, *mut u16) -> BOOL;
    // SAFETY: kernel32 is always loaded; the function has its documented signature; the
    // out pointers are valid.
    unsafe {
        if let Ok(k32) = GetModuleHandleW(windows::core::w!("kernel32.dll")) {
            if let Some(f) = GetProcAddress(k32, windows::core::s!("IsWow64Process2")) {
                let f: IsWow64Process2 = std::mem::transmute(f);
                let (mut process, mut native) = (0u16, 0u16);
                if f(GetCurrentProcess(), &mut process, &mut native).as_bool() && native != 0 {
                    return native;
                }
            }
        }
        let mut info = SYSTEM_INFO::default();
        GetNativeSystemInfo(&mut info);
        match info.Anonymous.Anonymous.wProcessorArchitecture.0 {
            9 => 0x8664,
            12 => 0xAA64,
            0 => 0x014C,
            _ => 0,
        }
    }
}

#[cfg(not(windows))]
pub fn native_machine() -> u16 {
    0
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

    fn roots() -> Vec<String> {
        [
            r"C:\Users\ana\AppData\Local",
            r"C:\Program Files",
            r"C:\Program Files (x86)",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn runtime_folders_of_the_user_or_the_environment_must_be_in_safe_places() {
        use RuntimeSource::*;
        let check = |source, folder: &str| runtime_folder_check(source, folder, &roots());
        for source in [Environment, UserRegistry] {
            // Where the Evergreen runtime installs, per user and per machine.
            for ok in [
                r"C:\Users\ana\AppData\Local\Microsoft\EdgeWebView\Application\120.0.2210.91",
                r"c:\program files (x86)\Microsoft\EdgeWebView\Application\120.0.2210.91\",
                r"C:/Program Files/ERP/WebView2",
                r"\\?\C:\Program Files\ERP\WebView2",
            ] {
                assert_eq!(check(source, ok), Ok(()), "{source:?} {ok}");
            }
            for (bad, why) in [
                (r"C:\Temp\webview", Refusal::Outside),
                (r"C:\Users\ana\AppData\LocalLow\x", Refusal::Outside),
                (
                    r"C:\Users\bob\AppData\Local\Microsoft\EdgeWebView",
                    Refusal::Outside,
                ),
                (r"C:\Program Files\..\Temp\x", Refusal::Outside),
                (r"C:\Program Files Evil\x", Refusal::Outside),
                (r"D:\Program Files\x", Refusal::Outside),
                (r"C:\Program Files", Refusal::Outside),
                (r"\\server\share\WebView2", Refusal::Network),
                (r"//server/share/WebView2", Refusal::Network),
                (r"\\?\UNC\server\share\WebView2", Refusal::Network),
                (r"WebView2", Refusal::Relative),
                (r"\Program Files\x", Refusal::Relative),
                (r"C:Program Files\x", Refusal::Relative),
                ("", Refusal::Relative),
            ] {
                assert_eq!(check(source, bad), Err(why), "{source:?} {bad}");
            }
        }
        // The ERP's own choice and the administrators' registry: as given, if absolute
        // and local.
        for source in [Config, MachineRegistry] {
            assert_eq!(check(source, r"C:\ERP\WebView2"), Ok(()));
            assert_eq!(check(source, r"Z:\home\erp\runtime\120.0.0.1"), Ok(()));
            assert_eq!(check(source, r"\\srv\erp\WebView2"), Err(Refusal::Network));
            assert_eq!(check(source, r"WebView2"), Err(Refusal::Relative));
        }
    }

    #[test]
    fn refusals_are_explained_in_both_languages() {
        for r in [Refusal::Relative, Refusal::Network, Refusal::Outside] {
            let (ro, en) = r.texts();
            assert!(!ro.is_empty() && !en.is_empty() && ro != en);
        }
    }

    #[test]
    fn the_webview2_installer_follows_windows_architecture() {
        assert_eq!(installer_arch(0xAA64), "ARM64");
        assert_eq!(installer_arch(0x8664), "X64");
        assert_eq!(installer_arch(0x014C), "X86");
        let own = if cfg!(target_pointer_width = "64") {
            "X64"
        } else {
            "X86"
        };
        assert_eq!(installer_arch(0), own);
    }

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
