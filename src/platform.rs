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

mod webview2_lookup;
pub use webview2_lookup::{Channel, Hive, Machine, PolicyValue};

/// Where a WebView2 runtime folder was named (the loader's order: `webview2_lookup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeSource {
    /// The configuration's `webview2_folder`: a fixed-version runtime the ERP ships.
    Config,
    /// The `WEBVIEW2_BROWSER_EXECUTABLE_FOLDER` environment variable.
    Environment,
    /// The `BrowserExecutableFolder` group policy in HKEY_LOCAL_MACHINE.
    MachinePolicy,
    /// The same policy in HKEY_CURRENT_USER.
    UserPolicy,
    /// EdgeUpdate's key of an installed runtime (a channel) in HKEY_LOCAL_MACHINE.
    MachineRegistry,
    /// The same key in HKEY_CURRENT_USER (a per-user install).
    UserRegistry,
}

impl RuntimeSource {
    /// How messages and the log name it.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeSource::Config => "webview2_folder",
            RuntimeSource::Environment => "WEBVIEW2_BROWSER_EXECUTABLE_FOLDER",
            RuntimeSource::MachinePolicy => "HKLM policy BrowserExecutableFolder",
            RuntimeSource::UserPolicy => "HKCU policy BrowserExecutableFolder",
            RuntimeSource::MachineRegistry => "HKLM EdgeUpdate EBWebView",
            RuntimeSource::UserRegistry => "HKCU EdgeUpdate EBWebView",
        }
    }

    /// A folder named here is a fixed-version runtime (not an installed channel).
    pub fn is_fixed(self) -> bool {
        !matches!(
            self,
            RuntimeSource::MachineRegistry | RuntimeSource::UserRegistry
        )
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
    /// The Microsoft Edge browser's own folder (`…\Edge\Application\…`), which WebView2
    /// refuses as a fixed-version runtime (ERROR_NOT_SUPPORTED).
    EdgeBrowser,
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
            Refusal::EdgeBrowser => (
                "este dosarul browserului Microsoft Edge (…\\Edge\\Application\\…), pe care WebView2 nu îl acceptă ca runtime fix",
                "the Microsoft Edge browser's own folder (…\\Edge\\Application\\…), which WebView2 does not accept as a fixed-version runtime",
            ),
        }
    }
}

/// The one rule for the folders the WebView2 runtime's DLL is loaded from (it then runs
/// inside the ERP). Never a relative path (it would depend on the current folder) nor a
/// network one (code from a share runs whatever anyone who can write there put in it).
/// `webview2_folder` is the ERP's explicit choice, as trusted as the ERP's own folder,
/// and HKLM's EdgeUpdate key is written only by administrators (the Evergreen installer):
/// both are taken as they are. A folder named by the environment or by HKCU can be set by
/// anything running as the user, and on a terminal server may point where other users
/// write (C:\Temp, a shared folder): it is used only inside `safe_roots` — the user's own
/// local app data (where the per-user Evergreen runtime installs) and Program Files (where
/// only administrators write). A folder from a group policy is held to the same rule (what
/// writes those keys on a given machine is not known here). A fixed-version folder inside
/// the Edge browser's own `…\Edge\Application\` is refused, as WebView2 refuses it.
/// Windows paths, compared lexically, case-insensitively, `..` refused.
pub fn runtime_folder_check(
    source: RuntimeSource,
    folder: &str,
    safe_roots: &[String],
) -> Result<(), Refusal> {
    let Some(parts) = local_components(folder)? else {
        return Err(Refusal::Relative);
    };
    if source.is_fixed()
        && parts
            .windows(2)
            .any(|w| w[0] == "edge" && w[1] == "application")
    {
        return Err(Refusal::EdgeBrowser);
    }
    match source {
        RuntimeSource::Config | RuntimeSource::MachineRegistry => Ok(()),
        RuntimeSource::Environment
        | RuntimeSource::MachinePolicy
        | RuntimeSource::UserPolicy
        | RuntimeSource::UserRegistry => {
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

/// `path` resolved against the folder `dir` when it is plainly relative (`WebView2`,
/// `.\rt`, `..\rt`); as it is otherwise. A path with a drive or a root of its own but not
/// both (`C:rt`, `\rt`) is relative to no folder: left as it is (and refused).
pub(crate) fn resolve_against(dir: Option<&str>, path: &str) -> String {
    let p = path.trim().replace('/', "\\");
    let plain_relative = matches!(local_components(&p), Ok(None))
        && !p.starts_with('\\')
        && p.as_bytes().get(1) != Some(&b':');
    match dir {
        Some(d) if plain_relative && !d.trim().is_empty() => format!(
            "{}\\{}",
            d.trim().replace('/', "\\").trim_end_matches('\\'),
            p.trim_start_matches(".\\")
        ),
        _ => p,
    }
}

/// The WebView2 runtime the login window will use: its folder, whether it is a
/// fixed-version one, and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    pub folder: std::path::PathBuf,
    pub fixed: bool,
    pub version: String,
    /// Where the folder was named.
    pub source: RuntimeSource,
    /// The channel of an installed runtime; `None` for a fixed-version one.
    pub channel: Option<Channel>,
}

/// Why there is no usable runtime, in both languages (Romanian, English).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoRuntime {
    pub ro: String,
    pub en: String,
    /// The search ended at a fixed-version folder (named, but refused or empty): what is
    /// missing is that runtime, not an installed one.
    pub fixed: bool,
}

/// Finds the runtime as Microsoft's loader would (the order and the rules are in
/// `webview2_lookup`), with every folder passed through [`runtime_folder_check`].
#[cfg(windows)]
pub fn webview2_runtime(config_folder: Option<&std::path::Path>) -> Result<Runtime, NoRuntime> {
    let config = config_folder.map(|f| f.display().to_string());
    webview2_lookup::find(&win::ThisMachine, config.as_deref())
}

/// WebView2 exists only on Windows.
#[cfg(not(windows))]
pub fn webview2_runtime(_config_folder: Option<&std::path::Path>) -> Result<Runtime, NoRuntime> {
    Err(NoRuntime {
        ro: "WebView2 există doar pe Windows".into(),
        en: "WebView2 exists only on Windows".into(),
        fixed: false,
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
    use windows::core::{HRESULT, HSTRING, PCWSTR, PWSTR};
    use windows::Win32::Foundation::HMODULE;
    use windows::Win32::System::Com::CoTaskMemFree;
    use windows::Win32::System::LibraryLoader::{
        GetModuleFileNameW, GetModuleHandleExW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
        GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
    };
    use windows::Win32::System::Registry::{
        RegGetValueW, HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, REG_DWORD, REG_ROUTINE_FLAGS,
        REG_VALUE_TYPE, RRF_RT_REG_DWORD, RRF_RT_REG_SZ, RRF_SUBKEY_WOW6432KEY,
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

    /// A registry value as text or number: `flags` choose the view and the types taken.
    fn reg_value(
        hive: HKEY,
        key: &str,
        name: &str,
        flags: REG_ROUTINE_FLAGS,
    ) -> Option<super::PolicyValue> {
        let (key, name) = (HSTRING::from(key), HSTRING::from(name));
        let mut buf = vec![0u16; 2048];
        let mut size = (buf.len() * 2) as u32;
        let mut ty = REG_VALUE_TYPE::default();
        // SAFETY: the strings are alive and NUL-terminated; buf is writable for `size`
        // bytes; RegGetValueW NUL-terminates the strings it returns.
        let r = unsafe {
            RegGetValueW(
                hive,
                &key,
                &name,
                flags,
                Some(&mut ty),
                Some(buf.as_mut_ptr().cast()),
                Some(&mut size),
            )
        };
        if r.is_err() {
            return None;
        }
        if ty == REG_DWORD {
            return Some(super::PolicyValue::Number(
                u32::from(buf[0]) | u32::from(buf[1]) << 16,
            ));
        }
        let len = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        Some(super::PolicyValue::Text(String::from_utf16_lossy(
            &buf[..len],
        )))
    }

    fn hkey(hive: super::Hive) -> HKEY {
        match hive {
            super::Hive::Machine => HKEY_LOCAL_MACHINE,
            super::Hive::User => HKEY_CURRENT_USER,
        }
    }

    /// The full path of a module of this process (`None`: the exe).
    fn module_path(module: Option<HMODULE>) -> Option<String> {
        let mut buf = vec![0u16; 32768];
        // SAFETY: the buffer is writable for its length.
        let n = unsafe { GetModuleFileNameW(module, &mut buf) } as usize;
        (n > 0 && n < buf.len()).then(|| String::from_utf16_lossy(&buf[..n]))
    }

    /// This DLL's module handle.
    fn this_module() -> Option<HMODULE> {
        static ANCHOR: u8 = 0;
        let mut m = HMODULE::default();
        // SAFETY: FROM_ADDRESS reads the address of a static of this module;
        // UNCHANGED_REFCOUNT takes no reference to release.
        unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS
                    | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                PCWSTR(&ANCHOR as *const u8 as *const u16),
                &mut m,
            )
        }
        .ok()?;
        Some(m)
    }

    /// The process's explicit AppUserModelID, if it set one (most desktop ERPs do not).
    fn app_user_model_id() -> Option<String> {
        use windows::Win32::UI::Shell::GetCurrentProcessExplicitAppUserModelID;
        // SAFETY: the string is CoTaskMemAlloc'd and freed here.
        unsafe {
            let p = GetCurrentProcessExplicitAppUserModelID().ok()?;
            let s = p.to_string().ok();
            CoTaskMemFree(Some(p.0 as *const _));
            s
        }
    }

    /// The machine as the lookup (`webview2_lookup`) asks it: this process's environment,
    /// the registry, the exe's name and folder.
    pub struct ThisMachine;

    impl super::Machine for ThisMachine {
        fn env(&self, name: &str) -> Option<String> {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        }

        // Software\Policies is shared between the 32- and 64-bit views.
        fn policy(
            &self,
            hive: super::Hive,
            setting: &str,
            name: &str,
        ) -> Option<super::PolicyValue> {
            let key = format!("{}\\{setting}", super::webview2_lookup::POLICY_KEY);
            reg_value(hkey(hive), &key, name, RRF_RT_REG_SZ | RRF_RT_REG_DWORD)
        }

        // EdgeUpdate writes its keys in the 32-bit view.
        fn installed(&self, hive: super::Hive, channel: super::Channel) -> Option<String> {
            let key = format!(
                "SOFTWARE\\Microsoft\\EdgeUpdate\\ClientState\\{}",
                channel.client_guid()
            );
            match reg_value(
                hkey(hive),
                &key,
                "EBWebView",
                RRF_RT_REG_SZ | RRF_SUBKEY_WOW6432KEY,
            )? {
                super::PolicyValue::Text(t) => Some(t),
                super::PolicyValue::Number(_) => None,
            }
        }

        fn app_ids(&self) -> Vec<String> {
            let exe = module_path(None).and_then(|p| p.rsplit('\\').next().map(str::to_string));
            app_user_model_id().into_iter().chain(exe).collect()
        }

        fn app_folder(&self) -> Option<String> {
            let path = module_path(None).or_else(|| module_path(Some(this_module()?)))?;
            path.rfind('\\').map(|i| path[..i].to_string())
        }

        fn safe_roots(&self) -> Vec<String> {
            safe_roots()
        }

        fn version_in(&self, folder: &str) -> Result<String, String> {
            version_in(std::path::Path::new(folder))
        }
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

/// What to install when no runtime is usable, in both languages (Romanian, English), for
/// a machine whose native architecture is `machine` (IMAGE_FILE_MACHINE_*) and a process
/// of `process_64` bits. The Evergreen runtime is one per machine and follows Windows'
/// architecture (ARM64 on ARM64 Windows, even for an emulated x64 or x86 process: the
/// bootstrapper installs the one matching the device). A fixed-version runtime (`fixed`:
/// the search ended at a folder named by the configuration, the environment or a policy)
/// is loaded into this process — its `EBWebView\<x64|x86>` — so it must be the package
/// of this process's own bitness, also under emulation on ARM64.
pub fn missing_runtime_advice(machine: u16, process_64: bool, fixed: bool) -> (String, String) {
    let arch = installer_arch(machine);
    let installer = format!("MicrosoftEdgeWebView2RuntimeInstaller{arch}.exe");
    let boot = "https://go.microsoft.com/fwlink/p/?LinkId=2124703";
    if !fixed {
        return (
            format!("Instalați „Evergreen Standalone Installer” {arch} ({installer}) sau „Evergreen Bootstrapper” ({boot}), apoi reluați."),
            format!("Install the Evergreen Standalone Installer {arch} ({installer}) or the Evergreen Bootstrapper ({boot}), then try again."),
        );
    }
    let (own, bits) = if process_64 { ("x64", 64) } else { ("x86", 32) };
    let (arm_ro, arm_en) = if machine == 0xAA64 {
        (", emulat pe Windows ARM64", ", emulated on ARM64 Windows")
    } else {
        ("", "")
    };
    (
        format!("Acolo trebuie runtime-ul „Fixed Version” pentru {own} (Microsoft.WebView2.FixedVersionRuntime.<versiune>.{own}.cab, dezarhivat): programul este pe {bits} de biți{arm_ro} și încarcă EBWebView\\{own}\\EmbeddedBrowserWebView.dll din el. Sau renunțați la acea setare și instalați runtime-ul Evergreen ({installer} sau {boot})."),
        format!("That folder needs the Fixed Version runtime for {own} (Microsoft.WebView2.FixedVersionRuntime.<version>.{own}.cab, expanded): this is a {bits}-bit program{arm_en} and loads EBWebView\\{own}\\EmbeddedBrowserWebView.dll from it. Or drop that setting and install the Evergreen runtime ({installer} or {boot})."),
    )
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
mod tests;
