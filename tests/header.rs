//! The committed header is exactly what cbindgen generates from src/ffi (build.rs writes
//! the fresh one to OUT_DIR). When this fails: scripts/update-header.sh, then commit.

#[test]
fn committed_header_matches_cbindgen() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/anaf_bridge.h"));
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/anaf_bridge.h"
    ))
    .expect("include/anaf_bridge.h");
    assert!(
        generated == committed,
        "include/anaf_bridge.h is stale: run scripts/update-header.sh and commit it"
    );
}

#[test]
fn header_declares_every_status_code() {
    let header = include_str!(concat!(env!("OUT_DIR"), "/anaf_bridge.h"));
    for &code in anaf_bridge::status::ALL {
        let name = anaf_bridge::status::name(code);
        let line = format!("#define {name} {code}");
        assert!(header.contains(&line), "header lacks `{line}`");
    }
}
