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
