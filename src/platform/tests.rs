use super::*;

fn roots() -> Vec<String> {
    [
        r"C:\Users\ana\AppData\Local",
        r"C:\Program Files",
        r"C:\Program Files (x86)",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn runtime_folders_of_the_user_or_the_environment_must_be_in_safe_places() {
    use RuntimeSource::*;
    let check = |source, folder: &str| runtime_folder_check(source, folder, &roots());
    for source in [Environment, MachinePolicy, UserPolicy, UserRegistry] {
        // Where the Evergreen runtime installs, per user and per machine.
        for ok in [
            r"C:\Users\ana\AppData\Local\Microsoft\EdgeWebView\Application\120.0.2210.91",
            r"c:\program files (x86)\Microsoft\EdgeWebView\Application\120.0.2210.91\",
            r"C:/Program Files/ERP/WebView2",
            r"\\?\C:\Program Files\ERP\WebView2",
        ] {
            assert_eq!(check(source, ok), Ok(()), "{source:?} {ok}");
        }
        for (bad, why) in [
            (r"C:\Temp\webview", Refusal::Outside),
            (r"C:\Users\ana\AppData\LocalLow\x", Refusal::Outside),
            (
                r"C:\Users\bob\AppData\Local\Microsoft\EdgeWebView",
                Refusal::Outside,
            ),
            (r"C:\Program Files\..\Temp\x", Refusal::Outside),
            (r"C:\Program Files Evil\x", Refusal::Outside),
            (r"D:\Program Files\x", Refusal::Outside),
            (r"C:\Program Files", Refusal::Outside),
            (r"\\server\share\WebView2", Refusal::Network),
            (r"//server/share/WebView2", Refusal::Network),
            (r"\\?\UNC\server\share\WebView2", Refusal::Network),
            (r"WebView2", Refusal::Relative),
            (r"\Program Files\x", Refusal::Relative),
            (r"C:Program Files\x", Refusal::Relative),
            ("", Refusal::Relative),
        ] {
            assert_eq!(check(source, bad), Err(why), "{source:?} {bad}");
        }
    }
    // The ERP's own choice and the administrators' registry: as given, if absolute
    // and local.
    for source in [Config, MachineRegistry] {
        assert_eq!(check(source, r"C:\ERP\WebView2"), Ok(()));
        assert_eq!(check(source, r"Z:\home\erp\runtime\120.0.0.1"), Ok(()));
        assert_eq!(check(source, r"\\srv\erp\WebView2"), Err(Refusal::Network));
        assert_eq!(check(source, r"WebView2"), Err(Refusal::Relative));
    }
}

#[test]
fn the_edge_browser_folder_is_no_fixed_version_runtime() {
    use RuntimeSource::*;
    let edge = r"C:\Program Files (x86)\Microsoft\Edge\Application\120.0.2210.91";
    for source in [Config, Environment, MachinePolicy, UserPolicy] {
        assert_eq!(
            runtime_folder_check(source, edge, &roots()),
            Err(Refusal::EdgeBrowser),
            "{source:?}"
        );
        // The preview channels' folders are accepted (Edge Beta, Edge SxS = Canary).
        let beta = r"C:\Program Files (x86)\Microsoft\Edge Beta\Application\121.0.0.0";
        assert_eq!(runtime_folder_check(source, beta, &roots()), Ok(()));
    }
    // An installed runtime found by EdgeUpdate is not a fixed-version one.
    assert_eq!(
        runtime_folder_check(MachineRegistry, edge, &roots()),
        Ok(())
    );
    assert!(!MachineRegistry.is_fixed() && !UserRegistry.is_fixed());
    assert!(Config.is_fixed() && Environment.is_fixed() && MachinePolicy.is_fixed());
}

#[test]
fn refusals_are_explained_in_both_languages() {
    for r in [
        Refusal::Relative,
        Refusal::Network,
        Refusal::Outside,
        Refusal::EdgeBrowser,
    ] {
        let (ro, en) = r.texts();
        assert!(!ro.is_empty() && !en.is_empty() && ro != en);
    }
}

#[test]
fn the_webview2_installer_follows_windows_architecture() {
    assert_eq!(installer_arch(0xAA64), "ARM64");
    assert_eq!(installer_arch(0x8664), "X64");
    assert_eq!(installer_arch(0x014C), "X86");
    let own = if cfg!(target_pointer_width = "64") {
        "X64"
    } else {
        "X86"
    };
    assert_eq!(installer_arch(0), own);
}

#[test]
fn the_missing_runtime_advice_names_the_right_download() {
    // Evergreen: the machine's architecture, whatever the process's.
    for (machine, process_64, arch) in [
        (0xAA64, true, "ARM64"),
        (0xAA64, false, "ARM64"),
        (0x8664, false, "X64"),
        (0x8664, true, "X64"),
        (0x014C, false, "X86"),
    ] {
        let (ro, en) = missing_runtime_advice(machine, process_64, false);
        let file = format!("MicrosoftEdgeWebView2RuntimeInstaller{arch}.exe");
        assert!(en.contains(&file) && ro.contains(&file), "{en}");
        assert!(en.starts_with(&format!(
            "Install the Evergreen Standalone Installer {arch} "
        )));
    }
    // A fixed-version runtime: the process's own bitness, also emulated on ARM64.
    let (ro, en) = missing_runtime_advice(0xAA64, true, true);
    assert!(
        en.contains("Fixed Version runtime for x64") && en.contains(".x64.cab"),
        "{en}"
    );
    assert!(
        en.contains("64-bit program, emulated on ARM64 Windows"),
        "{en}"
    );
    assert!(
        en.contains(r"EBWebView\x64\EmbeddedBrowserWebView.dll"),
        "{en}"
    );
    assert!(
        en.contains("MicrosoftEdgeWebView2RuntimeInstallerARM64.exe"),
        "{en}"
    );
    assert!(
        ro.contains("pentru x64") && ro.contains("emulat pe Windows ARM64"),
        "{ro}"
    );
    let (_, en) = missing_runtime_advice(0x8664, false, true);
    assert!(
        en.contains("for x86") && en.contains("32-bit program and"),
        "{en}"
    );
    assert!(!en.contains("ARM64"), "{en}");
}

#[test]
fn network_filesystems_by_magic_number() {
    assert_eq!(linux_network_fs_name(0x6969), Some("nfs"));
    assert_eq!(linux_network_fs_name(0xFF53_4D42), Some("cifs"));
    assert_eq!(linux_network_fs_name(0xFE53_4D42), Some("smb2"));
    assert_eq!(linux_network_fs_name(0xEF53), None, "ext4");
    assert_eq!(linux_network_fs_name(0x0102_1994), None, "tmpfs");
}

#[test]
fn a_local_folder_is_not_a_network_one() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(network_filesystem(&d.path().join("not/yet/there.db")), None);
    assert_eq!(
        network_filesystem(std::path::Path::new("relative.db")),
        None
    );
}
