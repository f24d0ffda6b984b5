//! Build steps of the DLL crate:
//! 1. the C header, generated with cbindgen into OUT_DIR (a test compares it with the
//!    committed `include/anaf_bridge.h`; `scripts/update-header.sh` refreshes that copy);
//! 2. on `*-windows-gnu`: a VERSIONINFO resource, and the WebView2 loader compiled from
//!    `build/webview2_loader.c` and archived as `libWebView2Loader.dll.a`, found before
//!    the import library of webview2-com-sys, so the DLL does not import WebView2Loader.dll.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-env-changed=ANAF_BRIDGE_WRITE_HEADER");

    header(&root, &out);

    let target = env::var("TARGET").unwrap();
    if target.ends_with("-windows-gnu") {
        let arch = if target.starts_with("x86_64") {
            "x86_64"
        } else {
            "i686"
        };
        version_resource(&root, &out, arch);
        webview2_loader(&root, &out, arch);
    }
}

fn header(root: &Path, out: &Path) {
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let generated = out.join("anaf_bridge.h");
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(&generated);
    if env::var_os("ANAF_BRIDGE_WRITE_HEADER").is_some() {
        std::fs::create_dir_all(root.join("include")).unwrap();
        std::fs::copy(&generated, root.join("include/anaf_bridge.h")).unwrap();
    }
}

fn tool(arch: &str, name: &str) -> String {
    format!("{arch}-w64-mingw32-{name}")
}

fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed with {status}");
}

fn version_resource(root: &Path, out: &Path, arch: &str) {
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let mut parts: Vec<String> = version
        .split(['.', '-'])
        .take(3)
        .map(|p| p.parse::<u16>().unwrap_or(0).to_string())
        .collect();
    parts.push("0".into());
    let bitness = if arch == "x86_64" {
        "win-x64"
    } else {
        "win-x86"
    };
    let template = std::fs::read_to_string(root.join("build/version.rc.in")).unwrap();
    let rc = template
        .replace("@VERSION_COMMAS@", &parts.join(","))
        .replace("@VERSION@", &version)
        .replace("@BITNESS@", bitness);
    let rc_path = out.join("version.rc");
    std::fs::write(&rc_path, rc).unwrap();
    let obj = out.join("version_res.o");
    run(Command::new(tool(arch, "windres"))
        .arg("-O")
        .arg("coff")
        .arg("-i")
        .arg(&rc_path)
        .arg("-o")
        .arg(&obj));
    println!("cargo:rustc-link-arg-cdylib={}", obj.display());
}

fn webview2_loader(root: &Path, out: &Path, arch: &str) {
    let src = root.join("build/webview2_loader.c");
    let obj = out.join("webview2_loader.o");
    run(Command::new(tool(arch, "gcc"))
        .args(["-O2", "-Wall", "-Werror", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    let lib_dir = out.join("webview2-loader");
    std::fs::create_dir_all(&lib_dir).unwrap();
    let archive = lib_dir.join("libWebView2Loader.dll.a");
    let _ = std::fs::remove_file(&archive);
    run(Command::new(tool(arch, "ar"))
        .arg("crs")
        .arg(&archive)
        .arg(&obj));
    // Cargo passes this package's own search paths before those of its dependencies,
    // so `-lWebView2Loader` resolves to this archive instead of the import library.
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
}
