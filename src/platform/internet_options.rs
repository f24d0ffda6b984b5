//! The proxy of the current user's Windows Internet Options, as Windows keeps it: what
//! reqwest does not read in this build (it reads only the environment variables).

/// `ProxyServer` and `ProxyOverride` of the current user's Internet Settings, when
/// `ProxyEnable` is on; `None` when it is off, unset, or off Windows. Parsed by
/// `client::proxy`.
#[cfg(windows)]
pub fn internet_options_proxy() -> Option<(String, Option<String>)> {
    let enable = internet_setting("ProxyEnable", true)?;
    if enable.len() < 4 || u32::from_le_bytes([enable[0], enable[1], enable[2], enable[3]]) == 0 {
        return None;
    }
    let server = internet_setting_string("ProxyServer")?;
    Some((server, internet_setting_string("ProxyOverride")))
}

#[cfg(not(windows))]
pub fn internet_options_proxy() -> Option<(String, Option<String>)> {
    None
}

/// A value of HKCU\…\Internet Settings: a DWORD or a string, as its bytes.
#[cfg(windows)]
fn internet_setting(name: &str, want_dword: bool) -> Option<Vec<u8>> {
    use windows::core::HSTRING;
    use windows::Win32::System::Registry::{
        RegGetValueW, HKEY_CURRENT_USER, RRF_RT_REG_DWORD, RRF_RT_REG_SZ,
    };
    let key = HSTRING::from("Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings");
    let value = HSTRING::from(name);
    let flags = if want_dword {
        RRF_RT_REG_DWORD
    } else {
        RRF_RT_REG_SZ
    };
    let mut size: u32 = 0;
    // SAFETY: the strings are NUL-terminated and alive; the first call asks the size.
    let r = unsafe {
        RegGetValueW(
            HKEY_CURRENT_USER,
            &key,
            &value,
            flags,
            None,
            None,
            Some(&mut size),
        )
    };
    if r.is_err() || size == 0 || size > 65536 {
        return None;
    }
    let mut buf = vec![0u8; size as usize];
    // SAFETY: buf is writable for `size` bytes.
    let r = unsafe {
        RegGetValueW(
            HKEY_CURRENT_USER,
            &key,
            &value,
            flags,
            None,
            Some(buf.as_mut_ptr() as *mut _),
            Some(&mut size),
        )
    };
    if r.is_err() {
        return None;
    }
    buf.truncate(size as usize);
    Some(buf)
}

#[cfg(windows)]
fn internet_setting_string(name: &str) -> Option<String> {
    let b = internet_setting(name, false)?;
    let w: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&c| c != 0)
        .collect();
    Some(String::from_utf16_lossy(&w))
}
