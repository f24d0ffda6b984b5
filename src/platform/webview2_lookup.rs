//! Where the WebView2 runtime is looked for, decided the way Microsoft's WebView2Loader
//! documents it, as plain functions of what the machine answers (the environment, the
//! group policy keys, EdgeUpdate's keys, the program's folder). The Windows shell in
//! `platform.rs` answers [`Machine`] from the registry and the process; the tests answer
//! it from tables. What each rule rests on is in docs/login.md ("Where the runtime is
//! looked for").
//!
//! The order, first that applies:
//! 1. `WEBVIEW2_BROWSER_EXECUTABLE_FOLDER` — the environment overrides the app's choice;
//! 2. the `BrowserExecutableFolder` policy (HKLM, then HKCU; the value named by the
//!    program's AppUserModelID, its exe name, then `*`) — it overrides the app's choice
//!    too, and the environment overrides it;
//! 3. `webview2_folder` from the configuration (a relative one next to the ERP's exe);
//! 4. the installed runtimes, channel by channel — Stable (the WebView2 Runtime), Beta,
//!    Dev, Canary, each HKLM then HKCU — in reverse when asked
//!    (`WEBVIEW2_CHANNEL_SEARCH_KIND` / `WEBVIEW2_RELEASE_CHANNEL_PREFERENCE` = 1, or the
//!    `ChannelSearchKind` / `ReleaseChannelPreference` policy), limited to the channels of
//!    `WEBVIEW2_RELEASE_CHANNELS` / the `ReleaseChannels` policy when set.
//!
//! A folder from 1–3 is a fixed-version runtime: every one passes [`runtime_folder_check`]
//! (one refused is skipped and named); the first that passes is the only one tried, as
//! with Microsoft's loader. A `webview2_folder` refused ends the search too: the ERP asked
//! for that runtime, never silently another.

// Only the Windows shell calls the lookup; elsewhere it runs in the tests alone.
#![cfg_attr(not(windows), allow(dead_code))]

use super::{resolve_against, runtime_folder_check, NoRuntime, Runtime, RuntimeSource};

/// A release channel of the WebView2 runtime, with EdgeUpdate's client GUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The WebView2 Runtime itself (Evergreen).
    Stable,
    Beta,
    Dev,
    Canary,
}

impl Channel {
    /// Most stable first: the loader's default search order.
    pub const MOST_STABLE_FIRST: [Channel; 4] = [
        Channel::Stable,
        Channel::Beta,
        Channel::Dev,
        Channel::Canary,
    ];

    /// The EdgeUpdate client under whose `ClientState` key the channel's `EBWebView`
    /// folder is written.
    pub fn client_guid(self) -> &'static str {
        match self {
            Channel::Stable => "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}",
            Channel::Beta => "{2CD8A007-E189-409D-A2C8-9AF4EF3C72AA}",
            Channel::Dev => "{0D50BFEC-CD6A-4F9A-964C-C7416E3ACB10}",
            Channel::Canary => "{65C35B14-6C1D-4122-AC46-7148CC9D6497}",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Channel::Stable => "Stable",
            Channel::Beta => "Beta",
            Channel::Dev => "Dev",
            Channel::Canary => "Canary",
        }
    }

    /// The number of the channel in a `ReleaseChannels` list ("0,2": Stable and Dev).
    fn from_list_number(n: &str) -> Option<Channel> {
        match n.trim() {
            "0" => Some(Channel::Stable),
            "1" => Some(Channel::Beta),
            "2" => Some(Channel::Dev),
            "3" => Some(Channel::Canary),
            _ => None,
        }
    }
}

/// A registry hive the loader reads, in its order: the machine's, then the user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hive {
    Machine,
    User,
}

impl Hive {
    pub const ORDER: [Hive; 2] = [Hive::Machine, Hive::User];

    fn short(self) -> &'static str {
        match self {
            Hive::Machine => "HKLM",
            Hive::User => "HKCU",
        }
    }
}

/// A policy value as the registry holds it (REG_SZ / REG_EXPAND_SZ, or REG_DWORD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyValue {
    Text(String),
    Number(u32),
}

/// Where the policies live, one key per setting, under HKLM and HKCU.
pub const POLICY_KEY: &str = "Software\\Policies\\Microsoft\\Edge\\WebView2";

/// What the lookup asks of the machine.
pub trait Machine {
    /// An environment variable of the process.
    fn env(&self, name: &str) -> Option<String>;
    /// The value `name` of `<hive>\Software\Policies\Microsoft\Edge\WebView2\<setting>`.
    fn policy(&self, hive: Hive, setting: &str, name: &str) -> Option<PolicyValue>;
    /// The `EBWebView` folder EdgeUpdate wrote for `channel` under `hive`.
    fn installed(&self, hive: Hive, channel: Channel) -> Option<String>;
    /// The names the policies are looked up by, most specific first: the process's
    /// AppUserModelID when it set one, then its exe's file name (`ERP.exe`).
    fn app_ids(&self) -> Vec<String>;
    /// The folder of the ERP's exe (the DLL's when that is unknown).
    fn app_folder(&self) -> Option<String>;
    /// The folders only this user or administrators write to (see `runtime_folder_check`).
    fn safe_roots(&self) -> Vec<String>;
    /// The version of the runtime in `folder`, or why there is none.
    fn version_in(&self, folder: &str) -> Result<String, String>;
}

/// A folder to look for the runtime in, and where it was named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub source: RuntimeSource,
    /// The installed runtime's channel; `None` for a fixed-version folder.
    pub channel: Option<Channel>,
    pub folder: String,
    /// How messages name where it came from (the policy's value name, the channel).
    pub origin: String,
    /// A note on how `folder` was found (a relative `webview2_folder` resolved).
    pub note: Option<(String, String)>,
}

impl Candidate {
    fn fixed(&self) -> bool {
        self.channel.is_none()
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The first value of the policy `setting`: HKLM then HKCU, each by the program's names
/// then `*`. An empty text counts as not set.
pub fn policy_value(m: &dyn Machine, setting: &str) -> Option<(Hive, String, PolicyValue)> {
    let mut names = m.app_ids();
    names.retain(|n| !n.trim().is_empty());
    names.push("*".to_string());
    for hive in Hive::ORDER {
        for name in &names {
            match m.policy(hive, setting, name) {
                Some(PolicyValue::Text(t)) if t.trim().is_empty() => {}
                Some(v) => return Some((hive, name.clone(), v)),
                None => {}
            }
        }
    }
    None
}

fn policy_origin(hive: Hive, setting: &str, name: &str) -> String {
    format!("{} {POLICY_KEY}\\{setting} \"{name}\"", hive.short())
}

/// Whether a search-order value asks for the reverse order (least stable first): `1`.
fn asks_reverse(v: &PolicyValue) -> bool {
    match v {
        PolicyValue::Number(n) => *n == 1,
        PolicyValue::Text(t) => t.trim() == "1",
    }
}

/// The order the installed channels are searched in, and what decided it. The
/// environment overrides the policies; of two names for the same setting the newer
/// (`ChannelSearchKind`) is asked first.
pub fn channel_order(m: &dyn Machine) -> (Vec<Channel>, Option<String>) {
    let mut decided: Option<(bool, String)> = None;
    for var in [
        "WEBVIEW2_CHANNEL_SEARCH_KIND",
        "WEBVIEW2_RELEASE_CHANNEL_PREFERENCE",
    ] {
        if let Some(v) = non_empty(m.env(var)) {
            decided = Some((
                asks_reverse(&PolicyValue::Text(v.clone())),
                format!("{var}={v}"),
            ));
            break;
        }
    }
    if decided.is_none() {
        for setting in ["ChannelSearchKind", "ReleaseChannelPreference"] {
            if let Some((hive, name, v)) = policy_value(m, setting) {
                decided = Some((asks_reverse(&v), policy_origin(hive, setting, &name)));
                break;
            }
        }
    }
    let mut order = Channel::MOST_STABLE_FIRST.to_vec();
    if let Some((true, _)) = decided {
        order.reverse();
    }
    let allowed = release_channels(m);
    if let Some((ref set, _)) = allowed {
        order.retain(|c| set.contains(c));
    }
    let why = [decided.map(|d| d.1), allowed.map(|a| a.1)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    (order, (!why.is_empty()).then(|| why.join(", ")))
}

/// The channels a `ReleaseChannels` list allows ("0,2": Stable and Dev; an entry that is
/// not 0–3 counts as Stable, as the WebView2 API review describes), from the environment
/// or else the policy, and where it was set. A policy that is not a text list is not
/// interpreted (its layout is not documented): all channels.
fn release_channels(m: &dyn Machine) -> Option<(Vec<Channel>, String)> {
    let (list, origin) = match non_empty(m.env("WEBVIEW2_RELEASE_CHANNELS")) {
        Some(v) => (v.clone(), format!("WEBVIEW2_RELEASE_CHANNELS={v}")),
        None => match policy_value(m, "ReleaseChannels")? {
            (hive, name, PolicyValue::Text(t)) => {
                (t, policy_origin(hive, "ReleaseChannels", &name))
            }
            (_, _, PolicyValue::Number(_)) => return None,
        },
    };
    let set: Vec<Channel> = list
        .split(',')
        .filter(|e| !e.trim().is_empty())
        .map(|e| Channel::from_list_number(e).unwrap_or(Channel::Stable))
        .collect();
    (!set.is_empty()).then_some((set, origin))
}

/// Every folder to look in, in the loader's order (see the module's comment).
pub fn candidates(m: &dyn Machine, config_folder: Option<&str>) -> Vec<Candidate> {
    let mut out = Vec::new();
    let fixed = |source, folder: String, origin: String, note| Candidate {
        source,
        channel: None,
        folder,
        origin,
        note,
    };
    if let Some(f) = non_empty(m.env("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER")) {
        out.push(fixed(
            RuntimeSource::Environment,
            f,
            RuntimeSource::Environment.name().to_string(),
            None,
        ));
    }
    if let Some((hive, name, PolicyValue::Text(f))) = policy_value(m, "BrowserExecutableFolder") {
        let source = match hive {
            Hive::Machine => RuntimeSource::MachinePolicy,
            Hive::User => RuntimeSource::UserPolicy,
        };
        out.push(fixed(
            source,
            f.trim().to_string(),
            policy_origin(hive, "BrowserExecutableFolder", &name),
            None,
        ));
    }
    if let Some(f) = config_folder.map(str::trim).filter(|f| !f.is_empty()) {
        let dir = m.app_folder();
        let resolved = resolve_against(dir.as_deref(), f);
        let note = (resolved != f.replace('/', "\\")).then(|| {
            let d = dir.clone().unwrap_or_default();
            (
                format!("„{f}” este relativ: căutat lângă programul ERP, în „{d}”"),
                format!("\"{f}\" is relative: looked for next to the ERP's program, in \"{d}\""),
            )
        });
        out.push(fixed(
            RuntimeSource::Config,
            resolved,
            RuntimeSource::Config.name().to_string(),
            note,
        ));
    }
    let (order, _) = channel_order(m);
    for channel in order {
        for hive in Hive::ORDER {
            if let Some(f) = non_empty(m.installed(hive, channel)) {
                let source = match hive {
                    Hive::Machine => RuntimeSource::MachineRegistry,
                    Hive::User => RuntimeSource::UserRegistry,
                };
                let origin = match channel {
                    Channel::Stable => source.name().to_string(),
                    c => format!("{} ({})", source.name(), c.name()),
                };
                out.push(Candidate {
                    source,
                    channel: Some(channel),
                    folder: f,
                    origin,
                    note: None,
                });
            }
        }
    }
    out
}

/// Finds the runtime (see the module's comment), or says in both languages what was
/// looked at and why none of it is usable.
pub fn find(m: &dyn Machine, config_folder: Option<&str>) -> Result<Runtime, NoRuntime> {
    let roots = m.safe_roots();
    let (mut ro, mut en) = (Vec::new(), Vec::new());
    let mut fixed_tried = false;
    for c in candidates(m, config_folder) {
        let shown = &c.folder;
        let (note_ro, note_en) = match &c.note {
            Some((r, e)) => (format!(" ({r})"), format!(" ({e})")),
            None => (String::new(), String::new()),
        };
        if let Err(r) = runtime_folder_check(c.source, shown, &roots) {
            let (why_ro, why_en) = r.texts();
            ::log::warn!(target: "anaf::login", "WebView2 runtime folder {} = \"{shown}\"{note_en} not used: {why_en}", c.origin);
            ro.push(format!(
                "dosarul din {} „{shown}”{note_ro} nu a fost folosit: {why_ro}",
                c.origin
            ));
            en.push(format!(
                "the folder of {} \"{shown}\"{note_en} was not used: {why_en}",
                c.origin
            ));
            if c.source == RuntimeSource::Config {
                fixed_tried = true;
                break;
            }
            continue;
        }
        match m.version_in(shown) {
            Ok(version) => {
                return Ok(Runtime {
                    folder: std::path::PathBuf::from(shown),
                    fixed: c.fixed(),
                    version,
                    source: c.source,
                    channel: c.channel,
                })
            }
            Err(e) => {
                ro.push(format!("{} „{shown}”{note_ro}: {e}", c.origin));
                en.push(format!("{} \"{shown}\"{note_en}: {e}", c.origin));
                if c.fixed() {
                    fixed_tried = true;
                    // The environment or a policy overrides the ERP's own choice: say
                    // so, or the message would read as if webview2_folder were ignored.
                    if let (true, Some(f)) = (c.source != RuntimeSource::Config, config_folder) {
                        ro.push(format!(
                            "webview2_folder „{f}” nu a fost căutat: {} are întâietate",
                            c.origin
                        ));
                        en.push(format!(
                            "webview2_folder \"{f}\" not looked at: {} takes precedence",
                            c.origin
                        ));
                    }
                    break;
                }
            }
        }
    }
    if en.is_empty() {
        let (order, why) = channel_order(m);
        match why {
            Some(w) if order.len() < Channel::MOST_STABLE_FIRST.len() => {
                let names: Vec<&str> = order.iter().map(|c| c.name()).collect();
                ro.push(format!(
                    "niciun runtime găsit din canalele {} ({w})",
                    names.join(", ")
                ));
                en.push(format!(
                    "no runtime found of the channels {} ({w})",
                    names.join(", ")
                ));
            }
            _ => {
                ro.push("niciun runtime găsit".into());
                en.push("no runtime found".into());
            }
        }
    }
    Err(NoRuntime {
        ro: ro.join("; "),
        en: en.join("; "),
        fixed: fixed_tried,
    })
}

#[cfg(test)]
mod tests {
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

    const STABLE_HKLM: &str =
        r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\120.0.2210.91";
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
}
