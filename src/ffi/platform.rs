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
