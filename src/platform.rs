//! What the DLL must do about its own module on Windows.

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

/// The version of the installed WebView2 runtime, or None when it is missing. Goes through
/// the DLL's own loader (build/webview2_loader.c), like the login window will.
#[cfg(windows)]
pub fn webview2_version(browser_folder: Option<&std::path::Path>) -> Option<String> {
    use windows::core::{HSTRING, PCWSTR, PWSTR};
    use windows::Win32::System::Com::CoTaskMemFree;
    let folder = browser_folder.map(|p| HSTRING::from(p.as_os_str()));
    let folder_ptr = folder.as_ref().map(|h| PCWSTR(h.as_ptr())).unwrap_or(PCWSTR::null());
    let mut out = PWSTR::null();
    // SAFETY: both pointers are valid for the call; the returned string is ours to free.
    unsafe {
        webview2_com::Microsoft::Web::WebView2::Win32::GetAvailableCoreWebView2BrowserVersionString(
            folder_ptr, &mut out,
        )
        .ok()?;
        if out.is_null() {
            return None;
        }
        let v = out.to_string().ok();
        CoTaskMemFree(Some(out.0 as *const _));
        v
    }
}

/// WebView2 exists only on Windows.
#[cfg(not(windows))]
pub fn webview2_version(_browser_folder: Option<&std::path::Path>) -> Option<String> {
    None
}
