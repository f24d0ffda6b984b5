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
        let origin = &c.origin;
        let (note_ro, note_en) = match &c.note {
            Some((r, e)) => (format!(" ({r})"), format!(" ({e})")),
            None => (String::new(), String::new()),
        };
        if let Err(r) = runtime_folder_check(c.source, shown, &roots) {
            let (why_ro, why_en) = r.texts();
            ::log::warn!(target: "anaf::login", "WebView2 runtime folder {origin} = \"{shown}\"{note_en} not used: {why_en}");
            ro.push(format!(
                "dosarul din {origin} „{shown}”{note_ro} nu a fost folosit: {why_ro}"
            ));
            en.push(format!(
                "the folder of {origin} \"{shown}\"{note_en} was not used: {why_en}"
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
                ro.push(format!("{origin} „{shown}”{note_ro}: {e}"));
                en.push(format!("{origin} \"{shown}\"{note_en}: {e}"));
                if c.fixed() {
                    fixed_tried = true;
                    // The environment or a policy overrides the ERP's own choice: say
                    // so, or the message would read as if webview2_folder were ignored.
                    if let (true, Some(f)) = (c.source != RuntimeSource::Config, config_folder) {
                        ro.push(format!(
                            "webview2_folder „{f}” nu a fost căutat: {origin} are întâietate"
                        ));
                        en.push(format!(
                            "webview2_folder \"{f}\" not looked at: {origin} takes precedence"
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
                let names = order
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ");
                ro.push(format!("niciun runtime găsit din canalele {names} ({w})"));
                en.push(format!("no runtime found of the channels {names} ({w})"));
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
#[path = "webview2_lookup_tests.rs"]
mod tests;
