//! The Windows login shell's mechanics under wine64: the runtime check (a runtime folder
//! named by the environment outside the safe places refused), then — with a
//! stand-in runtime folder whose EmbeddedBrowserWebView.dll has no entry point — the
//! STA UI thread, the window owned by (and modal to) a host window, the host thread
//! pumping while the owner is disabled and enabled again, the teardown, five calls in one
//! process: the ERP's window passed, none, a control inside it (its top-level window is
//! disabled and enabled again, the control untouched), the same with the ERP's window
//! disabled beforehand (left disabled), the desktop window (refused as owner), and the
//! ERP's window from a worker thread while the ERP's UI thread waits without pumping (not
//! made the owner: EnableWindow would wait on that thread for ever). WebView2 itself cannot run under Wine: the environment creation is where it
//! stops (ANAF_ERR_WINDOW, with the HRESULT), which is the point of this test's stand-in.
//!
//! Needs the Windows DLL built first, so it is opt-in:
//! `scripts/dist.sh --no-demo && xvfb-run -a cargo test -p anaf-bridge --test login_wine -- --ignored`
//! (or ANAF_WIN64_DLL=path/to/anaf_bridge.dll).

use std::path::{Path, PathBuf};
use std::process::Command;

const HOST_C: &str = r#"
#include <stdio.h>
#include <windows.h>
#include "anaf_bridge.h"
static HWND erp;
/* WM_ENABLE received by the ERP's top-level window: how often disabled, how often enabled. */
static int offs, ons;
static LRESULT CALLBACK proc(HWND h, UINT m, WPARAM w, LPARAM l) {
    if (m == WM_ENABLE && h == erp) { if (w) ons++; else offs++; }
    return DefWindowProcW(h, m, w, l);
}
/* One login call with `parent`; prints what the ERP's window went through. */
static void call(AnafClient *c, const char *name, void *parent, HWND child) {
    DWORD t = GetTickCount();
    int rc;
    offs = ons = 0;
    rc = anaf_generate_token(c, parent);
    printf("window %s %d %lu %d %d %d %d %s\n", name, rc, (unsigned long)(GetTickCount() - t),
           IsWindowEnabled(erp), offs, ons, IsWindowEnabled(child), anaf_last_error());
}
static AnafClient *worker_client;
static HWND worker_panel;
/* The ERP calling from a worker thread while its UI thread waits for it without pumping. */
static DWORD WINAPI worker(void *unused) {
    (void)unused;
    call(worker_client, "worker", erp, worker_panel);
    return 0;
}
static AnafClient *open_client(const char *folder) {
    char cfg[1024];
    AnafClient *c = NULL;
    snprintf(cfg, sizeof cfg,
             "{\"database\":\"login.db\",\"cif\":\"14399840\",\"language\":\"en\",\"client_id\":\"i\","
             "\"client_secret\":\"s\",\"redirect_uri\":\"https://localhost:9443/cb\",\"webview2_folder\":\"%s\"}",
             folder);
    if (anaf_open(cfg, &c) != 0) { printf("open failed: %s\n", anaf_last_error()); return NULL; }
    return c;
}
int main(int argc, char **argv) {
    WNDCLASSW wc = {0};
    HWND panel;
    AnafClient *c;
    int rc;
    wc.lpfnWndProc = proc; wc.hInstance = GetModuleHandleW(NULL); wc.lpszClassName = L"ErpMain";
    RegisterClassW(&wc);
    erp = CreateWindowW(L"ErpMain", L"ERP", WS_OVERLAPPEDWINDOW, 100, 100, 800, 600, NULL, NULL, wc.hInstance, NULL);
    /* A control inside the ERP's window: what an ERP passing a panel's handle gives. */
    panel = CreateWindowW(L"STATIC", L"panel", WS_CHILD | WS_VISIBLE, 10, 10, 200, 100, erp, NULL, wc.hInstance, NULL);
    ShowWindow(erp, SW_SHOW);

    c = open_client("");
    if (!c) return 1;
    rc = anaf_generate_token(c, erp);
    printf("missing %d %s\n", rc, anaf_last_error());
    anaf_close(c);

    c = open_client(argc > 1 ? argv[1] : "");
    if (!c) return 1;
    call(c, "top", erp, panel);
    call(c, "none", NULL, panel);
    call(c, "child", panel, panel);
    /* The ERP had disabled its window itself (its own modal state): left as it was. */
    EnableWindow(erp, FALSE);
    call(c, "child-of-disabled", panel, panel);
    EnableWindow(erp, TRUE);
    call(c, "desktop", GetDesktopWindow(), panel);
    {
        HANDLE th;
        DWORD waited;
        worker_client = c;
        worker_panel = panel;
        th = CreateThread(NULL, 0, worker, NULL, 0, NULL);
        waited = WaitForSingleObject(th, 60000);
        printf("worker-joined %lu\n", (unsigned long)waited);
        if (waited != WAIT_OBJECT_0) return 2;
        CloseHandle(th);
    }
    anaf_close(c);
    DestroyWindow(erp);
    printf("end\n");
    return 0;
}
"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dll() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ANAF_WIN64_DLL") {
        return Some(PathBuf::from(p));
    }
    let p = root().join("dist/win-x64/anaf_bridge.dll");
    p.exists().then_some(p)
}

fn gcc(args: &[&str], cwd: &Path) {
    let out = Command::new("x86_64-w64-mingw32-gcc")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("x86_64-w64-mingw32-gcc");
    assert!(
        out.status.success(),
        "gcc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wine64() -> String {
    if Path::new("/usr/lib/wine/wine64").exists() {
        "/usr/lib/wine/wine64".into()
    } else {
        "wine64".into()
    }
}

#[test]
#[ignore = "needs dist/win-x64/anaf_bridge.dll (scripts/dist.sh) and wine64; run with --ignored"]
fn windows_shell_under_wine() {
    let dll =
        dll().expect("dist/win-x64/anaf_bridge.dll missing: run scripts/dist.sh --no-demo first");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(&dll, d.join("anaf_bridge.dll")).unwrap();
    let shim = root().join("tests/wine/bcryptprimitives.c");
    gcc(
        &[
            "-O2",
            "-shared",
            "-Wl,--kill-at",
            "-o",
            "bcryptprimitives.dll",
            shim.to_str().unwrap(),
            "-ladvapi32",
        ],
        d,
    );
    // A runtime folder that the loader accepts but whose client DLL has no entry point.
    let rt = d.join("runtime/120.0.0.1/EBWebView/x64");
    std::fs::create_dir_all(&rt).unwrap();
    std::fs::write(d.join("fake.c"), "int fake_export(void) { return 0; }\n").unwrap();
    gcc(
        &[
            "-shared",
            "-o",
            rt.join("EmbeddedBrowserWebView.dll").to_str().unwrap(),
            "fake.c",
        ],
        d,
    );
    std::fs::write(d.join("host.c"), HOST_C).unwrap();
    let include = root().join("include");
    gcc(
        &[
            "-std=c99",
            "-I",
            include.to_str().unwrap(),
            "-o",
            "host.exe",
            "host.c",
            "anaf_bridge.dll",
        ],
        d,
    );

    // The prefix the suites share (tests/run/login_wine.sh exports it, prepared).
    let prefix = std::env::var_os("WINEPREFIX")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target/wine-prefix"));
    std::fs::create_dir_all(&prefix).expect("wine prefix folder");
    let folder = format!("Z:{}", d.join("runtime/120.0.0.1").display()).replace('/', "\\\\");
    let out = Command::new("timeout")
        .arg("120")
        .arg(wine64())
        .arg("./host.exe")
        .arg(&folder)
        .current_dir(d)
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        // The same stand-in named by the environment: outside the user's AppData\Local and
        // Program Files, so the first client (no webview2_folder) must not load it.
        .env(
            "WEBVIEW2_BROWSER_EXECUTABLE_FOLDER",
            folder.replace("\\\\", "\\"),
        )
        .output()
        .expect("wine64");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "host under wine: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let missing = text
        .lines()
        .find(|l| l.starts_with("missing "))
        .expect("runtime check ran");
    assert!(
        missing.starts_with("missing -29 "),
        "ANAF_ERR_WEBVIEW2_MISSING: {missing}"
    );
    assert!(missing.contains("Evergreen"), "{missing}");
    assert!(
        missing.contains("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER")
            && missing.contains("was not used: not in the user's own local folder"),
        "the folder from the environment is refused and named: {missing}"
    );
    let windows: Vec<&str> = text.lines().filter(|l| l.starts_with("window ")).collect();
    assert_eq!(windows.len(), 6, "six calls in one process: {text}");
    for l in &windows {
        // window <name> <rc> <ms> <erp enabled> <disabled n> <enabled n> <panel enabled> <message>
        let f: Vec<&str> = l.splitn(9, ' ').collect();
        let name = f[1];
        assert_eq!(f[2], "-33", "ANAF_ERR_WINDOW at the environment: {l}");
        assert!(f[8].contains("0x8007007F"), "the HRESULT is named: {l}");
        // The fixed-version runtime's own user data folder (per runtime kind).
        assert!(
            f[8].contains(r"\anaf-bridge\WebView2\fixed-120.0.0.1-"),
            "the user data folder of this runtime: {l}"
        );
        let ms: u64 = f[3].parse().unwrap();
        assert!(ms < 15_000, "returned without hanging: {l}");
        assert_eq!(
            f[7], "1",
            "the control passed is never disabled itself: {l}"
        );
        let (enabled, offs, ons) = (f[4], f[5], f[6]);
        match name {
            // The top-level window (passed, or the one the control is in) disabled while the
            // window was open and enabled again: exactly once each.
            "top" | "child" => {
                assert_eq!((enabled, offs, ons), ("1", "1", "1"), "{l}");
            }
            // No owner: the ERP's window untouched.
            "none" | "desktop" => assert_eq!((enabled, offs, ons), ("1", "0", "0"), "{l}"),
            // Called from a worker while the ERP's UI thread does not pump: that thread
            // would never answer EnableWindow's WM_ENABLE; the window opens unowned.
            "worker" => assert_eq!((enabled, offs, ons), ("1", "0", "0"), "{l}"),
            // Already disabled by the ERP: not touched, and not enabled behind its back.
            "child-of-disabled" => assert_eq!((enabled, offs, ons), ("0", "0", "0"), "{l}"),
            other => panic!("{other}: {l}"),
        }
    }
    assert!(
        text.lines().any(|l| l == "worker-joined 0"),
        "the worker's call returned while the UI thread did not pump: {text}"
    );
    assert!(text.lines().any(|l| l == "end"), "the host went on: {text}");
}
