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
    for code in anaf_bridge::status::all() {
        let name = anaf_bridge::status::name(code);
        let line = format!("#define {name} {code}");
        assert!(header.contains(&line), "header lacks `{line}`");
    }
}

#[test]
fn the_header_names_nothing_without_the_prefix() {
    // An ERP includes this header into its own code: a bare name (CURRENT, ATTEMPTS) is a
    // collision waiting to happen.
    let header = include_str!(concat!(env!("OUT_DIR"), "/anaf_bridge.h"));
    for line in header.lines() {
        let l = line.trim_start();
        if let Some(rest) = l.strip_prefix("#define ") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            assert!(name.starts_with("ANAF_"), "unprefixed macro: {line}");
        } else if let Some(rest) = l.strip_prefix("typedef struct ") {
            assert!(rest.starts_with("Anaf"), "unprefixed type: {line}");
        } else if l.contains('(') && l.ends_with(");") && !l.starts_with("//") {
            let name = l
                .split('(')
                .next()
                .unwrap()
                .split_whitespace()
                .last()
                .unwrap_or_default();
            let name = name.trim_start_matches('*');
            assert!(name.starts_with("anaf_"), "unprefixed function: {line}");
        }
    }
}
