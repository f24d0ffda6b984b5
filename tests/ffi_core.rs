//! The C API core through its real exports: opening, config errors naming their field,
//! NULL / invalid UTF-8 arguments, handle misuse, languages, the panic boundary.

use anaf_bridge::ffi::core::*;
use anaf_bridge::ffi::token::*;
use anaf_bridge::status::*;
use std::ffi::{c_char, CStr, CString};
use std::ptr;

fn last_error() -> String {
    unsafe { CStr::from_ptr(anaf_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn open(json: &str) -> (i32, *mut anaf_bridge::ffi::AnafClient) {
    let c = CString::new(json).unwrap();
    let mut client = ptr::null_mut();
    let rc = unsafe { anaf_open(c.as_ptr(), &mut client) };
    (rc, client)
}

fn db(dir: &tempfile::TempDir) -> String {
    dir.path().join("t.db").to_string_lossy().replace('\\', "/")
}

#[test]
fn open_and_close_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, client) = open(&format!(
        r#"{{"database":"{}","cif":"14399840"}}"#,
        db(&dir)
    ));
    assert_eq!(rc, ANAF_OK, "{}", last_error());
    assert!(!client.is_null());
    assert_eq!(last_error(), "");
    assert!(
        dir.path().join("t.db").exists(),
        "the database is created at open"
    );
    assert_eq!(unsafe { anaf_close(client) }, ANAF_OK);
    assert_eq!(
        unsafe { anaf_close(client) },
        ANAF_ERR_INVALID_ARGUMENT,
        "double close is refused"
    );
    assert_eq!(unsafe { anaf_close(ptr::null_mut()) }, ANAF_OK);
}

#[test]
fn every_config_error_names_its_field() {
    let cases: &[(&str, i32, &str)] = &[
        ("{", ANAF_ERR_INVALID_JSON, "Configura"),
        ("[1]", ANAF_ERR_INVALID_CONFIG, "obiect JSON"),
        (
            r#"{"cif":"14399840"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"database\"",
        ),
        (r#"{"database":"d.db"}"#, ANAF_ERR_INVALID_CONFIG, "\"cif\""),
        (
            r#"{"database":"d.db","cif":"RO14399840"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "RO",
        ),
        (
            r#"{"database":"d.db","cif":"14399841"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "cifra de control",
        ),
        (
            r#"{"database":"d.db","cif":"1439984O"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"cif\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","cert_serial":"ăâ"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"cert_serial\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","environment":"dev"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"environment\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","language":"fr"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"language\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","timeout_seconds":0}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"timeout_seconds\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","timeout_seconds":"9"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"timeout_seconds\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","api_url":"ftp://x"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"api_url\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","redirect_uri":"not a url"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"redirect_uri\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","client_id":5}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"client_id\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","cif_":"1"}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"cif_\"",
        ),
        (
            r#"{"database":"d.db","cif":"14399840","rate_limit_per_minute":5000}"#,
            ANAF_ERR_INVALID_CONFIG,
            "\"rate_limit_per_minute\"",
        ),
    ];
    for (json, status, needle) in cases {
        let (rc, client) = open(json);
        assert_eq!(rc, *status, "{json}: {}", last_error());
        assert!(client.is_null());
        let msg = last_error();
        assert!(
            msg.contains(needle),
            "{json}: message {msg:?} lacks {needle:?}"
        );
    }
}

#[test]
fn english_messages_on_request() {
    let (rc, _) = open(r#"{"database":"d.db","cif":"RO14399840","language":"en"}"#);
    assert_eq!(rc, ANAF_ERR_INVALID_CONFIG);
    assert!(
        last_error().contains("without the prefix"),
        "{}",
        last_error()
    );
}

#[test]
fn null_and_invalid_utf8_arguments() {
    let mut client = ptr::null_mut();
    assert_eq!(
        unsafe { anaf_open(ptr::null(), &mut client) },
        ANAF_ERR_NULL_POINTER
    );
    assert!(last_error().contains("config_json"));
    let json = CString::new(r#"{"database":"d.db","cif":"14399840"}"#).unwrap();
    assert_eq!(
        unsafe { anaf_open(json.as_ptr(), ptr::null_mut()) },
        ANAF_ERR_NULL_POINTER
    );
    assert!(last_error().contains("out_client"));
    let bad = b"{\"database\":\"d\xff.db\",\"cif\":\"14399840\"}\0";
    assert_eq!(
        unsafe { anaf_open(bad.as_ptr() as *const c_char, &mut client) },
        ANAF_ERR_INVALID_UTF8
    );
    // A non-NULL garbage value, as an uninitialised host variable would hold.
    let mut out: *mut c_char = std::ptr::NonNull::dangling().as_ptr();
    assert_eq!(
        unsafe { anaf_get_token(ptr::null_mut(), &mut out) },
        ANAF_ERR_NULL_POINTER
    );
    assert!(out.is_null(), "output cleared before any work");
}

#[test]
fn a_foreign_handle_is_refused_not_dereferenced() {
    let fake = 0x1000 as *mut anaf_bridge::ffi::AnafClient;
    assert_eq!(unsafe { anaf_refresh(fake) }, ANAF_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("client"));
}

#[test]
fn unreachable_database_folder_is_a_database_error() {
    let (rc, _) = open(r#"{"database":"/nonexistent-dir/x/t.db","cif":"14399840"}"#);
    assert_eq!(rc, ANAF_ERR_DATABASE, "{}", last_error());
    assert!(last_error().contains("/nonexistent-dir/x/t.db"));
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let (rc, _) = open(&format!(
        r#"{{"database":"{}","cif":"14399840"}}"#,
        db(&dir)
    ));
    assert_eq!(rc, ANAF_ERR_DATABASE_CORRUPT, "{}", last_error());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        vec![b'x'; 4096],
        "the file is left untouched"
    );
}

#[test]
fn names_and_version() {
    let v = unsafe { CStr::from_ptr(anaf_version()) }.to_str().unwrap();
    assert_eq!(v, anaf_bridge::VERSION);
    for code in all() {
        let n = unsafe { CStr::from_ptr(anaf_status_name(code)) }
            .to_str()
            .unwrap();
        assert_eq!(n, name(code));
    }
    let n = unsafe { CStr::from_ptr(anaf_status_name(424242)) }
        .to_str()
        .unwrap();
    assert_eq!(n, "ANAF_UNKNOWN");
}

#[test]
fn strings_handed_out_are_freed_by_anaf_free() {
    unsafe { anaf_free(ptr::null_mut()) };
    let mut slot: *mut c_char = ptr::null_mut();
    anaf_bridge::ffi::give_for_tests(&mut slot, "abc");
    assert_eq!(unsafe { CStr::from_ptr(slot) }.to_str().unwrap(), "abc");
    unsafe { anaf_free(slot) };
    // A string large enough to live in a mapping of its own (no other test's string takes
    // its address once it is freed): handed out, then freed, then no longer the DLL's.
    let big = "a".repeat(200_000);
    let mut slot: *mut c_char = ptr::null_mut();
    anaf_bridge::ffi::give_for_tests(&mut slot, &big);
    assert!(anaf_bridge::ffi::handed_out_for_tests(slot));
    unsafe { anaf_free(slot) };
    assert!(
        !anaf_bridge::ffi::handed_out_for_tests(slot),
        "freed: a second anaf_free would be refused"
    );
}

#[test]
fn a_panic_inside_an_entry_becomes_internal_error() {
    let rc = anaf_bridge::ffi::entry_for_tests(|| panic!("boom in test"));
    assert_eq!(rc, ANAF_ERR_INTERNAL);
    assert!(last_error().contains("boom in test"), "{}", last_error());
}

#[test]
fn an_error_quoting_a_huge_value_is_cut() {
    let huge = "7".repeat(5_000_000);
    let config = serde_json::json!({"database": "x.db", "cif": huge}).to_string();
    let (rc, _) = open(&config);
    let msg = last_error();
    assert_eq!(rc, ANAF_ERR_INVALID_CONFIG);
    assert!(
        msg.len() <= anaf_bridge::ffi::ANAF_MAX_ERROR_BYTES,
        "{} bytes",
        msg.len()
    );
    assert!(
        msg.ends_with("[…]") && msg.contains("cif"),
        "{}",
        &msg[..200]
    );
    // Cut at a character boundary, whatever the text.
    let ro = "ș".repeat(3_000);
    let config =
        serde_json::json!({"database": "x.db", "cif": "14399840", "cert_serial": ro}).to_string();
    let (rc, _) = open(&config);
    assert_eq!(rc, ANAF_ERR_INVALID_CONFIG);
    assert!(last_error().len() <= anaf_bridge::ffi::ANAF_MAX_ERROR_BYTES);
}

#[test]
fn anaf_free_refuses_what_it_did_not_hand_out() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, client) = open(&format!(
        r#"{{"database": "{}", "cif": "14399840"}}"#,
        db(&dir)
    ));
    assert_eq!(rc, ANAF_OK);
    unsafe {
        // Static texts of the library, a string freed twice, a pointer into the host's stack.
        anaf_free(anaf_version() as *mut c_char);
        anaf_free(anaf_last_error() as *mut c_char);
        anaf_free(anaf_status_name(ANAF_OK) as *mut c_char);
        let mut out = ptr::null_mut();
        anaf_bridge::ffi::token::anaf_token_info(client, &mut out);
        let mut json = ptr::null_mut();
        assert_eq!(
            anaf_bridge::ffi::diag::anaf_diagnose_config(
                CString::new(format!(
                    r#"{{"database": "{}", "cif": "14399840"}}"#,
                    db(&dir)
                ))
                .unwrap()
                .as_ptr(),
                &mut json
            ),
            ANAF_OK
        );
        assert!(!json.is_null());
        anaf_free(json);
        anaf_free(json);
        let mut local = [0 as c_char; 16];
        anaf_free(local.as_mut_ptr());
        // The library still works and its strings still free.
        assert!(CStr::from_ptr(anaf_version())
            .to_str()
            .unwrap()
            .starts_with(env!("CARGO_PKG_VERSION")));
        anaf_close(client);
    }
}

#[test]
fn a_length_beyond_any_document_is_refused_before_memory_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, client) = open(&format!(
        r#"{{"database": "{}", "cif": "14399840", "language": "en"}}"#,
        db(&dir)
    ));
    assert_eq!(rc, ANAF_OK);
    let xml = b"<a/>";
    let mut out = ptr::null_mut();
    let rc = unsafe {
        anaf_bridge::ffi::efactura::anaf_upload(
            client,
            xml.as_ptr(),
            usize::MAX,
            ptr::null(),
            &mut out,
        )
    };
    assert_eq!(rc, ANAF_ERR_INVALID_ARGUMENT, "{}", last_error());
    assert!(last_error().contains("length"), "{}", last_error());
    unsafe { anaf_close(client) };
}
