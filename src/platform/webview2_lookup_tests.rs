use super::*;
use std::collections::HashMap;

/// A machine answered from tables.
#[derive(Default)]
struct Table {
    env: HashMap<&'static str, &'static str>,
    policy: HashMap<(Hive, &'static str, &'static str), PolicyValue>,
    installed: HashMap<(Hive, Channel), &'static str>,
    app_ids: Vec<&'static str>,
    app_folder: Option<&'static str>,
    /// Folders holding a runtime, with its version.
    runtimes: HashMap<&'static str, &'static str>,
}

impl Machine for Table {
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).map(|v| v.to_string())
    }
    fn policy(&self, hive: Hive, setting: &str, name: &str) -> Option<PolicyValue> {
        self.policy
            .iter()
            .find(|((h, s, n), _)| *h == hive && *s == setting && *n == name)
            .map(|(_, v)| v.clone())
    }
    fn installed(&self, hive: Hive, channel: Channel) -> Option<String> {
        self.installed.get(&(hive, channel)).map(|v| v.to_string())
    }
    fn app_ids(&self) -> Vec<String> {
        self.app_ids.iter().map(|s| s.to_string()).collect()
    }
    fn app_folder(&self) -> Option<String> {
        self.app_folder.map(str::to_string)
    }
    fn safe_roots(&self) -> Vec<String> {
        [
            r"C:\Users\ana\AppData\Local",
            r"C:\Program Files",
            r"C:\Program Files (x86)",
        ]
        .map(String::from)
        .to_vec()
    }
    fn version_in(&self, folder: &str) -> Result<String, String> {
        self.runtimes
            .get(folder)
            .map(|v| v.to_string())
            .ok_or_else(|| "0x80070002 File not found.".to_string())
    }
}

const STABLE_HKLM: &str = r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\120.0.2210.91";
const STABLE_HKCU: &str =
    r"C:\Users\ana\AppData\Local\Microsoft\EdgeWebView\Application\120.0.2210.91";
const BETA: &str = r"C:\Program Files (x86)\Microsoft\Edge Beta\Application\121.0.2277.4";
const DEV: &str = r"C:\Users\ana\AppData\Local\Microsoft\Edge Dev\Application\122.0.2300.0";
const CANARY: &str = r"C:\Users\ana\AppData\Local\Microsoft\Edge SxS\Application\123.0.2310.0";
const FIXED_PF: &str = r"C:\Program Files\ERP\WebView2";
const FIXED_ERP: &str = r"C:\ERP\WebView2";

fn all_channels() -> Table {
    let mut t = Table {
        app_ids: vec!["ERP.exe"],
        app_folder: Some(r"C:\ERP"),
        ..Default::default()
    };
    t.installed
        .insert((Hive::Machine, Channel::Stable), STABLE_HKLM);
    t.installed
        .insert((Hive::User, Channel::Stable), STABLE_HKCU);
    t.installed.insert((Hive::Machine, Channel::Beta), BETA);
    t.installed.insert((Hive::User, Channel::Dev), DEV);
    t.installed.insert((Hive::User, Channel::Canary), CANARY);
    for (f, v) in [
        (STABLE_HKLM, "120.0.2210.91"),
        (STABLE_HKCU, "120.0.2210.91"),
        (BETA, "121.0.2277.4"),
        (DEV, "122.0.2300.0"),
        (CANARY, "123.0.2310.0"),
        (FIXED_PF, "119.0.0.1"),
        (FIXED_ERP, "118.0.0.1"),
    ] {
        t.runtimes.insert(f, v);
    }
    t
}

fn folders(t: &Table, config: Option<&str>) -> Vec<(RuntimeSource, Option<Channel>, String)> {
    candidates(t, config)
        .into_iter()
        .map(|c| (c.source, c.channel, c.folder))
        .collect()
}

#[test]
fn the_installed_channels_are_searched_stable_first_each_machine_then_user() {
    use RuntimeSource::*;
    let t = all_channels();
    assert_eq!(
        folders(&t, None),
        vec![
            (
                MachineRegistry,
                Some(Channel::Stable),
                STABLE_HKLM.to_string()
            ),
            (UserRegistry, Some(Channel::Stable), STABLE_HKCU.to_string()),
            (MachineRegistry, Some(Channel::Beta), BETA.to_string()),
            (UserRegistry, Some(Channel::Dev), DEV.to_string()),
            (UserRegistry, Some(Channel::Canary), CANARY.to_string()),
        ]
    );
    let rt = find(&t, None).unwrap();
    assert_eq!(rt.folder, std::path::PathBuf::from(STABLE_HKLM));
    assert!(!rt.fixed);
    assert_eq!(rt.channel, Some(Channel::Stable));
    // Without the stable runtime, the most stable preview channel.
    let mut t = all_channels();
    t.installed.remove(&(Hive::Machine, Channel::Stable));
    t.installed.remove(&(Hive::User, Channel::Stable));
    let rt = find(&t, None).unwrap();
    assert_eq!(rt.channel, Some(Channel::Beta));
    assert_eq!(rt.version, "121.0.2277.4");
    assert!(
        !rt.fixed,
        "a preview channel is an installed runtime, not a fixed one"
    );
}

#[test]
fn the_channel_order_is_reversed_by_the_environment_or_the_policy() {
    let canary_first = vec![
        Channel::Canary,
        Channel::Dev,
        Channel::Beta,
        Channel::Stable,
    ];
    for var in [
        "WEBVIEW2_RELEASE_CHANNEL_PREFERENCE",
        "WEBVIEW2_CHANNEL_SEARCH_KIND",
    ] {
        let mut t = all_channels();
        t.env.insert(var, "1");
        let (order, why) = channel_order(&t);
        assert_eq!(order, canary_first, "{var}");
        assert_eq!(why.as_deref(), Some(format!("{var}=1").as_str()));
        assert_eq!(find(&t, None).unwrap().channel, Some(Channel::Canary));
        t.env.insert(var, "0");
        assert_eq!(channel_order(&t).0, Channel::MOST_STABLE_FIRST.to_vec());
    }
    // The policy (REG_SZ "1" as the policy reference shows it, or a REG_DWORD 1), by
    // the exe's name or `*`.
    for (setting, name, value) in [
        (
            "ReleaseChannelPreference",
            "*",
            PolicyValue::Text("1".into()),
        ),
        (
            "ReleaseChannelPreference",
            "ERP.exe",
            PolicyValue::Number(1),
        ),
        ("ChannelSearchKind", "ERP.exe", PolicyValue::Number(1)),
        ("ChannelSearchKind", "*", PolicyValue::Text(" 1 ".into())),
    ] {
        let mut t = all_channels();
        t.policy.insert((Hive::User, setting, name), value.clone());
        assert_eq!(
            channel_order(&t).0,
            canary_first,
            "{setting} {name} {value:?}"
        );
        // Another program's name does not apply.
        let mut t = all_channels();
        t.policy
            .insert((Hive::User, setting, "Other.exe"), value.clone());
        assert_eq!(channel_order(&t).0, Channel::MOST_STABLE_FIRST.to_vec());
    }
    // The environment overrides the policy, both ways.
    let mut t = all_channels();
    t.policy.insert(
        (Hive::Machine, "ReleaseChannelPreference", "*"),
        PolicyValue::Text("1".into()),
    );
    t.env.insert("WEBVIEW2_RELEASE_CHANNEL_PREFERENCE", "0");
    assert_eq!(channel_order(&t).0, Channel::MOST_STABLE_FIRST.to_vec());
    let mut t = all_channels();
    t.policy.insert(
        (Hive::Machine, "ChannelSearchKind", "*"),
        PolicyValue::Number(0),
    );
    t.env.insert("WEBVIEW2_CHANNEL_SEARCH_KIND", "1");
    assert_eq!(channel_order(&t).0, canary_first);
    // HKLM before HKCU, the program's own name before `*`.
    let mut t = all_channels();
    t.policy.insert(
        (Hive::Machine, "ReleaseChannelPreference", "*"),
        PolicyValue::Number(0),
    );
    t.policy.insert(
        (Hive::User, "ReleaseChannelPreference", "ERP.exe"),
        PolicyValue::Number(1),
    );
    assert_eq!(channel_order(&t).0, Channel::MOST_STABLE_FIRST.to_vec());
    let mut t = all_channels();
    t.policy.insert(
        (Hive::Machine, "ReleaseChannelPreference", "*"),
        PolicyValue::Number(0),
    );
    t.policy.insert(
        (Hive::Machine, "ReleaseChannelPreference", "ERP.exe"),
        PolicyValue::Number(1),
    );
    assert_eq!(channel_order(&t).0, canary_first);
}

#[test]
fn release_channels_limit_the_search() {
    let mut t = all_channels();
    t.env.insert("WEBVIEW2_RELEASE_CHANNELS", "0,2");
    assert_eq!(channel_order(&t).0, vec![Channel::Stable, Channel::Dev]);
    t.env.insert("WEBVIEW2_CHANNEL_SEARCH_KIND", "1");
    assert_eq!(channel_order(&t).0, vec![Channel::Dev, Channel::Stable]);
    assert_eq!(find(&t, None).unwrap().channel, Some(Channel::Dev));
    // An entry that is not a channel counts as Stable.
    let mut t = all_channels();
    t.env.insert("WEBVIEW2_RELEASE_CHANNELS", "3,x");
    assert_eq!(channel_order(&t).0, vec![Channel::Stable, Channel::Canary]);
    // From the policy; a number there is not interpreted.
    let mut t = all_channels();
    t.policy.insert(
        (Hive::Machine, "ReleaseChannels", "*"),
        PolicyValue::Text("1".into()),
    );
    assert_eq!(channel_order(&t).0, vec![Channel::Beta]);
    t.policy.insert(
        (Hive::Machine, "ReleaseChannels", "*"),
        PolicyValue::Number(2),
    );
    assert_eq!(channel_order(&t).0, Channel::MOST_STABLE_FIRST.to_vec());
    // Nothing of the allowed channels installed: said, with what limited it.
    let mut t = all_channels();
    t.installed.clear();
    t.installed
        .insert((Hive::Machine, Channel::Stable), STABLE_HKLM);
    t.env.insert("WEBVIEW2_RELEASE_CHANNELS", "1,3");
    let e = find(&t, None).unwrap_err();
    assert!(
        e.en.contains(
            "no runtime found of the channels Beta, Canary (WEBVIEW2_RELEASE_CHANNELS=1,3)"
        ),
        "{}",
        e.en
    );
    assert!(e.ro.contains("canalele Beta, Canary"), "{}", e.ro);
}

#[test]
fn the_environment_overrides_the_policy_and_both_override_the_configuration() {
    use RuntimeSource::*;
    let mut t = all_channels();
    t.env
        .insert("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER", STABLE_HKCU);
    t.policy.insert(
        (Hive::Machine, "BrowserExecutableFolder", "ERP.exe"),
        PolicyValue::Text(FIXED_PF.into()),
    );
    let order = folders(&t, Some(FIXED_ERP));
    assert_eq!(
        order[..3],
        [
            (Environment, None, STABLE_HKCU.to_string()),
            (MachinePolicy, None, FIXED_PF.to_string()),
            (Config, None, FIXED_ERP.to_string()),
        ]
    );
    assert_eq!(order[3].0, MachineRegistry, "then the installed runtimes");
    let rt = find(&t, Some(FIXED_ERP)).unwrap();
    assert_eq!((rt.source, rt.fixed), (Environment, true));
    assert_eq!(rt.folder, std::path::PathBuf::from(STABLE_HKCU));
    // Without the environment, the policy; without both, the configuration.
    t.env.clear();
    let rt = find(&t, Some(FIXED_ERP)).unwrap();
    assert_eq!(
        (rt.source, rt.version.as_str()),
        (MachinePolicy, "119.0.0.1")
    );
    t.policy.clear();
    let rt = find(&t, Some(FIXED_ERP)).unwrap();
    assert_eq!((rt.source, rt.version.as_str()), (Config, "118.0.0.1"));
    // HKCU's policy when HKLM has none, by `*`.
    let mut t = all_channels();
    t.policy.insert(
        (Hive::User, "BrowserExecutableFolder", "*"),
        PolicyValue::Text(FIXED_PF.into()),
    );
    assert_eq!(find(&t, None).unwrap().source, UserPolicy);
}

#[test]
fn a_folder_refused_is_skipped_and_named_one_that_passes_is_the_only_one_tried() {
    use RuntimeSource::*;
    // The environment pointing where other users write: refused, the configuration used.
    let mut t = all_channels();
    t.env
        .insert("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER", r"C:\Temp\wv2");
    let rt = find(&t, Some(FIXED_ERP)).unwrap();
    assert_eq!(rt.source, Config);
    // A policy folder is held to the same rule as the environment's.
    let mut t = all_channels();
    t.policy.insert(
        (Hive::Machine, "BrowserExecutableFolder", "*"),
        PolicyValue::Text(r"D:\Shared\wv2".into()),
    );
    let rt = find(&t, None).unwrap();
    assert_eq!(rt.channel, Some(Channel::Stable), "refused: Evergreen");
    // A fixed folder that passes but holds no runtime ends the search.
    let mut t = all_channels();
    t.env.insert(
        "WEBVIEW2_BROWSER_EXECUTABLE_FOLDER",
        r"C:\Program Files\Nothing\Here",
    );
    let e = find(&t, Some(FIXED_ERP)).unwrap_err();
    assert!(e.fixed);
    assert!(
        e.en.contains(
            r#"WEBVIEW2_BROWSER_EXECUTABLE_FOLDER "C:\Program Files\Nothing\Here": 0x80070002"#
        ),
        "{}",
        e.en
    );
    assert!(
            e.en.ends_with(r#"webview2_folder "C:\ERP\WebView2" not looked at: WEBVIEW2_BROWSER_EXECUTABLE_FOLDER takes precedence"#),
            "not tried after, and said: {}",
            e.en
        );
    assert!(e.ro.contains("are întâietate"), "{}", e.ro);
    // A refused webview2_folder ends it too: never silently another runtime.
    let t = all_channels();
    let e = find(&t, Some(r"\\srv\erp\WebView2")).unwrap_err();
    assert!(e.fixed);
    assert!(
        e.en.contains(
            r#"the folder of webview2_folder "\\srv\erp\WebView2" was not used: a network path"#
        ),
        "{}",
        e.en
    );
    // The refusal of the environment and the missing configured runtime both said.
    let mut t = all_channels();
    t.env
        .insert("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER", r"C:\Temp\wv2");
    let e = find(&t, Some(r"C:\ERP\Missing")).unwrap_err();
    assert!(
        e.en.contains(
            r#"the folder of WEBVIEW2_BROWSER_EXECUTABLE_FOLDER "C:\Temp\wv2" was not used"#
        ),
        "{}",
        e.en
    );
    assert!(
        e.en.contains(r#"webview2_folder "C:\ERP\Missing": 0x80070002"#),
        "{}",
        e.en
    );
    assert!(e.ro.contains("nu a fost folosit"), "{}", e.ro);
    // Policy value names are shown with the key and the name that matched.
    let mut t = all_channels();
    t.policy.insert(
        (Hive::User, "BrowserExecutableFolder", "ERP.exe"),
        PolicyValue::Text(r"C:\Temp\wv2".into()),
    );
    let c = &candidates(&t, None)[0];
    assert_eq!(
        c.origin,
        r#"HKCU Software\Policies\Microsoft\Edge\WebView2\BrowserExecutableFolder "ERP.exe""#
    );
}

#[test]
fn a_relative_webview2_folder_is_looked_for_next_to_the_erp_program() {
    let t = all_channels();
    let c = candidates(&t, Some("WebView2"))
        .into_iter()
        .find(|c| c.source == RuntimeSource::Config)
        .unwrap();
    assert_eq!(c.folder, FIXED_ERP);
    let rt = find(&t, Some("WebView2")).unwrap();
    assert_eq!((rt.folder.to_str().unwrap(), rt.fixed), (FIXED_ERP, true));
    assert_eq!(find(&t, Some(r".\WebView2")).unwrap().version, "118.0.0.1");
    // Not found there: the message says where it was looked for.
    let e = find(&t, Some(r"rt\x64")).unwrap_err();
    assert!(
            e.en.contains(r#"webview2_folder "C:\ERP\rt\x64" ("rt\x64" is relative: looked for next to the ERP's program, in "C:\ERP")"#),
            "{}",
            e.en
        );
    assert!(
        e.ro.contains(r"căutat lângă programul ERP, în „C:\ERP”"),
        "{}",
        e.ro
    );
    // The ERP run from a share: the resolved folder is on the share, refused as such.
    let mut t = all_channels();
    t.app_folder = Some(r"\\srv\erp");
    let e = find(&t, Some("WebView2")).unwrap_err();
    assert!(
        e.en.contains(r"\\srv\erp\WebView2") && e.en.contains("a network path"),
        "{}",
        e.en
    );
    // No folder of the program known: relative stays relative, and is refused.
    let mut t = all_channels();
    t.app_folder = None;
    let e = find(&t, Some("WebView2")).unwrap_err();
    assert!(e.en.contains("not a full path"), "{}", e.en);
    // Rooted or drive-relative paths are relative to no folder.
    assert_eq!(resolve_against(Some(r"C:\ERP"), r"\WebView2"), r"\WebView2");
    assert_eq!(
        resolve_against(Some(r"C:\ERP"), r"D:WebView2"),
        r"D:WebView2"
    );
    assert_eq!(resolve_against(Some(r"C:\ERP\"), r"..\rt"), r"C:\ERP\..\rt");
    assert_eq!(resolve_against(Some(r"C:\ERP"), r"D:\rt"), r"D:\rt");
    assert_eq!(resolve_against(Some(r"C:\ERP"), "C:/ERP/rt"), r"C:\ERP\rt");
}

#[test]
fn policies_by_aumid_then_exe_name_then_star_machine_before_user() {
    let mut t = all_channels();
    t.app_ids = vec!["Contoso.ERP", "ERP.exe"];
    for (hive, name, v) in [
        (Hive::User, "Contoso.ERP", "user-aumid"),
        (Hive::Machine, "*", "machine-star"),
        (Hive::Machine, "ERP.exe", "machine-exe"),
    ] {
        t.policy.insert(
            (hive, "AdditionalBrowserArguments", name),
            PolicyValue::Text(v.into()),
        );
    }
    let pick = |t: &Table| match policy_value(t, "AdditionalBrowserArguments") {
        Some((_, _, PolicyValue::Text(v))) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(pick(&t), "machine-exe");
    t.policy.insert(
        (Hive::Machine, "AdditionalBrowserArguments", "Contoso.ERP"),
        PolicyValue::Text("machine-aumid".into()),
    );
    assert_eq!(pick(&t), "machine-aumid");
    // An empty text is not a value.
    t.policy.insert(
        (Hive::Machine, "AdditionalBrowserArguments", "Contoso.ERP"),
        PolicyValue::Text("  ".into()),
    );
    assert_eq!(pick(&t), "machine-exe");
}

#[test]
fn nothing_installed_nothing_named() {
    let t = Table::default();
    let e = find(&t, None).unwrap_err();
    assert_eq!(
        (e.en.as_str(), e.ro.as_str(), e.fixed),
        ("no runtime found", "niciun runtime găsit", false)
    );
}
