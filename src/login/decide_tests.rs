use super::*;

fn idp() -> Url {
    Url::parse("https://logincert.anaf.ro").unwrap()
}

fn serials(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn req<'a>(
    host: &'a str,
    is_proxy: bool,
    offered: &'a [String],
    configured: Option<&'a str>,
) -> CertRequest<'a> {
    CertRequest {
        host,
        is_proxy,
        offered,
        configured,
        already_sent: false,
    }
}

#[test]
fn the_certificate_goes_to_the_identity_provider_only() {
    let two = serials(&["00AB", "CD"]);
    // WebView2's Host is lower case ASCII, without port.
    for host in [
        "logincert.anaf.ro",
        "LOGINCERT.anaf.ro",
        "logincert.anaf.ro.",
    ] {
        assert!(matches!(
            certificate(&req(host, false, &two, Some("cd")), &idp()),
            CertAnswer::Use(1)
        ));
    }
    // Another host (a subresource elsewhere): never the qualified certificate, and
    // never a failure of the login.
    for host in [
        "www.anaf.ro",
        "logincert.anaf.ro.example.com",
        "",
        "anaf.ro",
    ] {
        assert!(
            matches!(
                certificate(&req(host, false, &two, Some("cd")), &idp()),
                CertAnswer::WithoutCertificate
            ),
            "{host}"
        );
    }
    // A proxy asking (IsProxy TRUE), even with the identity provider's name and no
    // matching certificate: WebView2's default, not ANAF_ERR_CERT_NOT_FOUND.
    assert!(matches!(
        certificate(&req("logincert.anaf.ro", true, &[], Some("EF")), &idp()),
        CertAnswer::PlatformDefault
    ));
    assert!(matches!(
        certificate(&req("proxy.firma.local", true, &two, None), &idp()),
        CertAnswer::PlatformDefault
    ));
}

#[test]
fn ipv6_identity_provider_host_compares_without_brackets() {
    let idp = Url::parse("https://[::1]:9443").unwrap();
    let one = serials(&["AB"]);
    assert!(matches!(
        certificate(&req("::1", false, &one, None), &idp),
        CertAnswer::Use(0)
    ));
    let local = Url::parse("https://127.0.0.1:9443").unwrap();
    assert!(is_idp_host("127.0.0.1", &local));
    assert!(!is_idp_host("127.0.0.2", &local));
}

#[test]
fn the_certificate_rule_on_the_identity_provider() {
    let two = serials(&["00AB", "CD"]);
    let one = serials(&["00AB"]);
    let host = "logincert.anaf.ro";
    assert!(matches!(
        certificate(&req(host, false, &two, Some("ab")), &idp()),
        CertAnswer::Use(0)
    ));
    assert!(matches!(
        certificate(&req(host, false, &one, None), &idp()),
        CertAnswer::Use(0)
    ));
    assert!(matches!(
        certificate(&req(host, false, &two, None), &idp()),
        CertAnswer::Picker
    ));
    match certificate(&req(host, false, &two, Some("EF")), &idp()) {
        CertAnswer::Fail(e) => {
            assert_eq!(e.status, ANAF_ERR_CERT_NOT_FOUND);
            assert!(e.message(Lang::En).contains("00AB, CD"));
        }
        other => panic!("{other:?}"),
    }
    // A serial configured, nothing offered: CERT_NOT_FOUND saying none was offered.
    match certificate(&req(host, false, &[], Some("EF")), &idp()) {
        CertAnswer::Fail(e) => {
            assert_eq!(e.status, ANAF_ERR_CERT_NOT_FOUND);
            assert!(e.message(Lang::En).contains("No certificate was offered"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nothing_offered_and_no_serial_is_access_denied_at_once() {
    match certificate(&req("logincert.anaf.ro", false, &[], None), &idp()) {
        CertAnswer::Fail(e) => {
            assert_eq!(e.status, ANAF_ERR_ACCESS_DENIED);
            let en = e.message(Lang::En);
            assert!(
                en.contains("offers none") && en.contains("USB token"),
                "{en}"
            );
            assert!(en.contains("Remote Desktop") && en.contains("cert_serial"));
            let ro = e.message(Lang::Ro);
            assert!(
                ro.contains("nu oferă niciunul") && ro.contains("stick"),
                "{ro}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_later_request_offering_nothing_does_not_end_the_login() {
    for configured in [None, Some("EF")] {
        let later = CertRequest {
            already_sent: true,
            ..req("logincert.anaf.ro", false, &[], configured)
        };
        assert!(
            matches!(certificate(&later, &idp()), CertAnswer::WithoutCertificate),
            "{configured:?}"
        );
    }
    // With certificates offered, the rule is the same as the first time.
    let two = serials(&["00AB", "CD"]);
    let later = CertRequest {
        already_sent: true,
        ..req("logincert.anaf.ro", false, &two, Some("EF"))
    };
    assert!(matches!(certificate(&later, &idp()), CertAnswer::Fail(_)));
}

#[test]
fn web_error_status_values_are_webview2s() {
    // COREWEBVIEW2_WEB_ERROR_STATUS in WebView2.h / webview2-com-sys 0.39.
    for (code, w) in [
        (0, WebError::Unknown),
        (1, WebError::CertificateCommonNameIsIncorrect),
        (2, WebError::CertificateExpired),
        (3, WebError::ClientCertificateContainsErrors),
        (4, WebError::CertificateRevoked),
        (5, WebError::CertificateIsInvalid),
        (6, WebError::ServerUnreachable),
        (7, WebError::Timeout),
        (8, WebError::ErrorHttpInvalidServerResponse),
        (9, WebError::ConnectionAborted),
        (10, WebError::ConnectionReset),
        (11, WebError::Disconnected),
        (12, WebError::CannotConnect),
        (13, WebError::HostNameNotResolved),
        (14, WebError::OperationCanceled),
        (15, WebError::RedirectFailed),
        (16, WebError::UnexpectedError),
        (17, WebError::ValidAuthenticationCredentialsRequired),
        (18, WebError::ValidProxyAuthenticationRequired),
    ] {
        assert_eq!(WebError::from_code(code), w);
        assert_eq!(w.code(), code);
    }
    assert_eq!(WebError::from_code(19), WebError::Other(19));
    assert_eq!(WebError::from_code(-1), WebError::Other(-1));
    assert_eq!(WebError::Other(42).code(), 42);
}

fn done(
    uri: &str,
    is_success: bool,
    web_error: i32,
    http_status: i32,
    certificate_sent: bool,
) -> AfterLoad {
    navigation_completed(
        &Completed {
            uri,
            is_success,
            web_error: WebError::from_code(web_error),
            http_status,
            certificate_sent,
            detail: None,
        },
        &idp(),
    )
}

const AUTHORIZE: &str = "https://logincert.anaf.ro/anaf-oauth2/v1/authorize?client_id=x";

#[test]
fn anaf_error_pages_are_read_before_anything_is_called_a_network_failure() {
    // WebView2: IsSuccess FALSE for HTTP 4xx; the status code says what it was.
    for (ok, status, http) in [
        (false, 0, 400),
        (false, 8, 403),
        (true, 0, 400),
        (false, 16, 500),
    ] {
        assert!(
            matches!(done(AUTHORIZE, ok, status, http, true), AfterLoad::ReadErrorPage(h) if h == http as u32),
            "{ok} {status} {http}"
        );
    }
    // The page text then decides: redirect mismatch, access denied.
    assert_eq!(
        flow::error_page(400, "Redirect-URI https://x does not match").status,
        ANAF_ERR_REDIRECT_MISMATCH
    );
    assert_eq!(
        flow::error_page(403, "Access denied").status,
        ANAF_ERR_ACCESS_DENIED
    );
    // A 4xx elsewhere is not ANAF's page (and is not read).
    match done("https://cdn.example.com/x", false, 0, 404, false) {
        AfterLoad::Fail(e) => {
            assert_eq!(e.status, ANAF_ERR_NETWORK);
            assert!(e.message(Lang::En).contains("HTTP 404"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_fatal_statuses_are_ignored() {
    // OPERATION_CANCELED (ours, or superseded), credentials asked by the server or the
    // proxy (WebView2 prompts), CONNECTION_ABORTED (a download: HttpStatusCode 0;
    // window.stop(): HttpStatusCode 200; a transient abort WebView2 retries).
    for (status, http) in [(14, 0), (17, 401), (18, 407), (0, 407), (9, 0), (9, 200)] {
        let uri = if http == 401 {
            "https://other.example.com/"
        } else {
            AUTHORIZE
        };
        assert!(
            matches!(done(uri, false, status, http, false), AfterLoad::Ignore(_)),
            "{status} {http}"
        );
    }
    assert!(matches!(
        done(AUTHORIZE, true, 0, 200, false),
        AfterLoad::Nothing
    ));
    assert!(matches!(
        done("about:blank", true, 0, 0, false),
        AfterLoad::Nothing
    ));
}

#[test]
fn failures_map_to_statuses() {
    for status in [1, 2, 4, 5] {
        match done(AUTHORIZE, false, status, 0, true) {
            AfterLoad::Fail(e) => {
                assert_eq!(e.status, ANAF_ERR_TLS, "{status}");
                let en = e.message(Lang::En);
                assert!(en.contains("https://logincert.anaf.ro/anaf-oauth2/v1/authorize"));
                assert!(!en.contains("client_id"), "no query: {en}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    for status in [0, 6, 7, 8, 10, 11, 12, 13, 15, 16, 99] {
        match done(AUTHORIZE, false, status, 0, false) {
            AfterLoad::Fail(e) => assert_eq!(e.status, ANAF_ERR_NETWORK, "{status}"),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn a_client_certificate_error_after_sending_one_is_the_pin_not_tls() {
    match done(AUTHORIZE, false, 3, 0, true) {
        AfterLoad::Fail(e) => {
            assert_eq!(e.status, ANAF_ERR_CANCELLED);
            let en = e.message(Lang::En);
            assert!(en.contains("PIN") && en.contains("https://logincert.anaf.ro"));
            assert!(e.message(Lang::Ro).contains("PIN-ul"));
        }
        other => panic!("{other:?}"),
    }
    // No certificate sent in this window: the platform's TLS failure.
    match done(AUTHORIZE, false, 3, 0, false) {
        AfterLoad::Fail(e) => assert_eq!(e.status, ANAF_ERR_TLS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_redirect_is_recognised_whether_redirected_or_not() {
    let redirect = Url::parse("https://localhost:9443/anaf/callback").unwrap();
    for redirected in [true, false] {
        assert!(matches!(
            navigation_starting(
                "https://localhost:9443/anaf/callback?code=c&state=s",
                redirected,
                &idp(),
                &redirect
            ),
            Nav::Redirect
        ));
        assert!(matches!(
            navigation_starting(AUTHORIZE, redirected, &idp(), &redirect),
            Nav::Allow
        ));
        assert!(matches!(
            navigation_starting("https://evil.example/", redirected, &idp(), &redirect),
            Nav::Refuse(_)
        ));
    }
}

#[test]
fn only_a_user_data_folder_still_held_is_retried_once() {
    let held = Some(0x8007_139F);
    assert_eq!(
        retry_environment(held, 0),
        Some(std::time::Duration::from_millis(1500))
    );
    assert_eq!(retry_environment(held, 1), None);
    for other in [
        Some(0x8007_007F),
        Some(0x8007_0005),
        Some(0x8007_0002),
        None,
    ] {
        assert_eq!(retry_environment(other, 0), None, "{other:?}");
    }
}

#[test]
fn the_owner_is_the_top_level_window() {
    let (desktop, shell) = (0x10010, 0x10020);
    let refused = [desktop, shell];
    // The ERP's main window itself.
    assert_eq!(owner(0x500, true, 0x500, &refused, true), Some(0x500));
    // A panel / MDI child / control: its top-level window.
    assert_eq!(owner(0x7a2, true, 0x500, &refused, true), Some(0x500));
    // No root reported: the handle as given.
    assert_eq!(owner(0x7a2, true, 0, &refused, true), Some(0x7a2));
    // None, stale, the desktop or the shell: no owner.
    assert_eq!(owner(0, true, 0, &refused, true), None);
    assert_eq!(owner(0x7a2, false, 0, &refused, true), None);
    assert_eq!(owner(desktop, true, desktop, &refused, true), None);
    assert_eq!(owner(0x7a2, true, desktop, &refused, true), None);
    assert_eq!(owner(shell, true, shell, &refused, true), None);
    // Its thread does not answer (a worker called; the UI thread waits for it).
    assert_eq!(owner(0x500, true, 0x500, &refused, false), None);
}

#[test]
fn the_owner_gets_back_exactly_its_enabled_state_once() {
    let mut enabled = OwnerState::new(0x500, true);
    assert!(enabled.disable());
    assert!(enabled.restore(), "enabled again at teardown");
    assert!(!enabled.restore(), "and not again at WM_DESTROY");
    // The ERP had disabled it (its own modal state): left disabled, never enabled.
    let mut disabled = OwnerState::new(0x500, false);
    assert!(!disabled.disable());
    assert!(!disabled.restore());
    assert!(!disabled.restore());
}

fn r(left: i32, top: i32, right: i32, bottom: i32) -> Rect {
    Rect {
        left,
        top,
        right,
        bottom,
    }
}

#[test]
fn the_window_is_dpi_scaled_centred_and_on_the_owners_monitor() {
    let primary = r(0, 0, 1920, 1040);
    // 96 DPI, no owner: 900×720 centred on the work area.
    assert_eq!(placement(None, primary, 96), r(510, 160, 1410, 880));
    // 144 DPI (150 %): 1350×1080 → capped to the work area's height.
    let p = placement(None, primary, 144);
    assert_eq!((p.width(), p.height()), (1350, 1040));
    assert_eq!((p.top, p.bottom), (0, 1040));
    // Centred on the owner.
    let erp = r(100, 100, 1300, 900);
    assert_eq!(placement(Some(erp), primary, 96), r(250, 140, 1150, 860));
    // An owner on a monitor left of the primary one: negative coordinates kept.
    let left = r(-1920, 0, 0, 1040);
    let erp = r(-1800, 50, -1000, 650);
    let p = placement(Some(erp), left, 96);
    assert!(p.left >= -1920 && p.right <= 0, "{p:?}");
    assert_eq!(p.width(), 900);
    // An owner half off its monitor: the window stays inside the work area.
    let erp = r(1700, 900, 2500, 1500);
    let p = placement(Some(erp), primary, 96);
    assert_eq!((p.right, p.bottom), (1920, 1040));
    // A monitor above, and a zero DPI (unknown): 96.
    let above = r(0, -1080, 1920, -40);
    let p = placement(None, above, 0);
    assert_eq!((p.width(), p.height(), p.top), (900, 720, -1080 + 160));
}

#[test]
fn a_user_data_folder_per_runtime_kind_and_elevation() {
    let refused = [
        r"C:\Program Files".to_string(),
        r"C:\Program Files (x86)".to_string(),
        r"C:\Windows".to_string(),
    ];
    let places = FolderPlaces {
        local_app_data: Some(r"C:\Users\ana\AppData\Local"),
        temp: Some(r"C:\Users\ana\AppData\Local\Temp"),
        dll_dir: Some(r"C:\Windows\System32"),
        refused: &refused,
    };
    let evergreen = RuntimeKind {
        fixed: false,
        folder: r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.86",
        version: "131.0.2903.86",
        dpi_awareness: None,
    };
    let fixed = RuntimeKind {
        fixed: true,
        folder: r"C:\ERP\WebView2",
        version: "120.0.2210.91",
        dpi_awareness: Some(0),
    };
    let fixed_elsewhere = RuntimeKind {
        folder: r"D:\Alt ERP\WebView2",
        ..fixed
    };
    let base = r"C:\Users\ana\AppData\Local\anaf-bridge\WebView2\";
    let e = user_data_folder(&places, &evergreen, false).unwrap();
    assert_eq!(e, format!("{base}evergreen"));
    let ea = user_data_folder(&places, &evergreen, true).unwrap();
    assert_eq!(ea, format!("{base}evergreen-admin"));
    let f = user_data_folder(&places, &fixed, false).unwrap();
    assert!(f.starts_with(&format!("{base}fixed-120.0.2210.91-")), "{f}");
    assert_eq!(f.len(), base.len() + "fixed-120.0.2210.91-".len() + 8);
    let fa = user_data_folder(&places, &fixed, true).unwrap();
    assert!(fa.ends_with("-admin"));
    let f2 = user_data_folder(&places, &fixed_elsewhere, false).unwrap();
    // Another DPI awareness (a per-monitor-aware ERP beside an unaware one).
    let pm = RuntimeKind {
        dpi_awareness: Some(2),
        ..evergreen
    };
    let ep = user_data_folder(&places, &pm, true).unwrap();
    assert_eq!(ep, format!("{base}evergreen-admin-dpi2"));
    let all = [&e, &ea, &f, &fa, &f2, &ep];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b, "one folder per runtime and elevation");
        }
    }
    // The same fixed runtime, written another way: the same folder.
    let same = RuntimeKind {
        folder: r"c:\erp\webview2",
        ..fixed
    };
    assert_eq!(user_data_folder(&places, &same, false).unwrap(), f);
}

#[test]
fn the_user_data_folder_is_never_in_program_files_nor_relative_to_the_working_directory() {
    let refused = [
        r"C:\Program Files".to_string(),
        r"C:\Program Files (x86)".to_string(),
        r"C:\Windows".to_string(),
    ];
    let rt = RuntimeKind {
        fixed: false,
        folder: "",
        version: "",
        dpi_awareness: None,
    };
    let at = |local: Option<&str>, temp: Option<&str>, dll: Option<&str>| {
        user_data_folder(
            &FolderPlaces {
                local_app_data: local,
                temp,
                dll_dir: dll,
                refused: &refused,
            },
            &rt,
            false,
        )
    };
    // Local app data unusable (inside Program Files, a share, missing): the temp folder.
    for local in [
        Some(r"C:\Program Files\ERP\data"),
        Some(r"c:\PROGRAM FILES (X86)\x"),
        Some(r"C:\Windows\System32\config\systemprofile\..\..\..\Program Files\x"),
        Some(r"\\server\profiles\ana"),
        Some(""),
        None,
    ] {
        assert_eq!(
            at(local, Some(r"D:\Temp"), None).as_deref(),
            Some(r"D:\Temp\anaf-bridge\WebView2\evergreen"),
            "{local:?}"
        );
    }
    // A relative folder: against the DLL's folder, never the working directory.
    assert_eq!(
        at(Some(r"data"), None, Some(r"D:\ERP\bin")).as_deref(),
        Some(r"D:\ERP\bin\data\anaf-bridge\WebView2\evergreen")
    );
    // … and refused where that lands in the Windows folder (a DLL in System32).
    assert_eq!(at(Some("data"), None, Some(r"C:\Windows\System32")), None);
    // No DLL folder, or a rooted-but-driveless path: refused.
    assert_eq!(at(Some("data"), None, None), None);
    assert_eq!(at(Some(r"\data"), None, Some(r"D:\ERP")), None);
    assert_eq!(at(Some(r"C:data"), None, Some(r"D:\ERP")), None);
    // Program Files itself and the next folder whose name starts alike.
    assert_eq!(at(Some(r"C:\Program Files"), None, None), None);
    assert_eq!(
        at(Some(r"C:\Program Files Data"), None, None).as_deref(),
        Some(r"C:\Program Files Data\anaf-bridge\WebView2\evergreen")
    );
}
