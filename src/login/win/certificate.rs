//! The client certificate ANAF's login asks for, chosen by serial (`decide::certificate`)
//! among those WebView2 offers.

use super::placement::allow_browser_foreground;
use super::{finish, Shared};
use crate::login::cert;
use crate::login::decide;
use crate::login::flow::End;
use base64::Engine;
use webview2_com::Microsoft::Web::WebView2::Win32::{
    ICoreWebView2ClientCertificate, ICoreWebView2ClientCertificateRequestedEventArgs,
};
use windows::core::PWSTR;
use windows::Win32::System::Com::CoTaskMemFree;

/// The serial of a WebView2 client certificate: from its PEM, else its DER serial field.
fn serial_of(c: &ICoreWebView2ClientCertificate) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    // SAFETY: COM getters with valid out pointers; the strings are CoTaskMemAlloc'd and freed.
    unsafe {
        let mut pem = PWSTR::null();
        if c.ToPemEncoding(&mut pem).is_ok() && !pem.is_null() {
            let text = pem.to_string().unwrap_or_default();
            CoTaskMemFree(Some(pem.0 as *const _));
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<Vec<_>>()
                .concat();
            if let Some(s) = b64
                .decode(body.trim())
                .ok()
                .and_then(|der| cert::serial_of_der(&der))
            {
                return s;
            }
        }
        let mut ser = PWSTR::null();
        if c.DerEncodedSerialNumber(&mut ser).is_ok() && !ser.is_null() {
            let text = ser.to_string().unwrap_or_default();
            CoTaskMemFree(Some(ser.0 as *const _));
            if let Ok(bytes) = b64.decode(text.trim()) {
                // Either the INTEGER's content or the whole TLV.
                if bytes.len() > 2 && bytes[0] == 0x02 && bytes[1] as usize == bytes.len() - 2 {
                    return hex::encode_upper(&bytes[2..]);
                }
                return hex::encode_upper(bytes);
            }
            return text;
        }
    }
    String::new()
}

/// A PWSTR WebView2 allocated, as text, freed.
///
/// # Safety
/// `p` is NULL or a CoTaskMemAlloc'd NUL-terminated string nobody else frees.
pub(super) unsafe fn take_string(p: PWSTR) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: as the caller vouches.
    unsafe {
        let s = p.to_string().unwrap_or_default();
        CoTaskMemFree(Some(p.0 as *const _));
        s
    }
}

pub(super) fn on_certificate_requested(
    win: &Shared,
    args: &ICoreWebView2ClientCertificateRequestedEventArgs,
) -> windows::core::Result<()> {
    let (configured, idp) = {
        let w = win.borrow();
        (w.req.cert_serial.clone(), w.req.idp.clone())
    };
    // SAFETY: COM calls on live objects WebView2 passed to this handler.
    unsafe {
        let mut host = PWSTR::null();
        args.Host(&mut host)?;
        let host = take_string(host);
        let mut is_proxy = windows::core::BOOL(0);
        args.IsProxy(&mut is_proxy)?;
        let list = args.MutuallyTrustedCertificates()?;
        let mut count = 0u32;
        list.Count(&mut count)?;
        let mut certs = Vec::new();
        let mut offered = Vec::new();
        for i in 0..count {
            let c = list.GetValueAtIndex(i)?;
            offered.push(serial_of(&c));
            certs.push(c);
        }
        let is_proxy = is_proxy.as_bool();
        ::log::info!(target: "anaf::login", "client certificate asked by {host} (proxy: {is_proxy}); offered: {}", offered.join(", "));
        let asked = decide::CertRequest {
            host: &host,
            is_proxy,
            offered: &offered,
            configured: configured.as_deref(),
            already_sent: win.borrow().certificate_sent,
        };
        match decide::certificate(&asked, &idp) {
            decide::CertAnswer::Use(i) => {
                args.SetSelectedCertificate(&certs[i])?;
                args.SetHandled(true)?;
                win.borrow_mut().certificate_sent = true;
                allow_browser_foreground(win);
            }
            decide::CertAnswer::Picker => {
                // WebView2 shows its own picker.
                args.SetHandled(false)?;
                win.borrow_mut().certificate_sent = true;
                allow_browser_foreground(win);
            }
            decide::CertAnswer::WithoutCertificate => {
                // Handled without a SelectedCertificate: answered without a certificate.
                args.SetHandled(true)?;
            }
            decide::CertAnswer::PlatformDefault => {
                args.SetHandled(false)?;
            }
            decide::CertAnswer::Fail(e) => {
                args.SetCancel(true)?;
                finish(win, End::Failed(e));
            }
        }
    }
    Ok(())
}
