//! The system proxy: the one the HTTP client goes through, and which diagnose reports.
//! reqwest reads the proxy environment variables itself; the Windows Internet Options
//! proxy, which corporate networks often rely on, is added here.

/// The proxy the HTTP client uses and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemProxy {
    /// "environment" (HTTPS_PROXY and friends) or "windows" (Internet Options).
    pub source: &'static str,
    /// For https:// URLs, e.g. `http://proxy.firma.local:3128`.
    pub https: Option<String>,
    /// For http:// URLs.
    pub http: Option<String>,
    /// Hosts that go direct, comma separated.
    pub bypass: Option<String>,
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

/// The proxy in effect: the environment variables first (as reqwest reads them), then
/// the Windows Internet Options of the current user (which reqwest does not read in this
/// build, so [`apply_system_proxy`] adds them).
pub fn system_proxy() -> Option<SystemProxy> {
    let all = env_first(&["ALL_PROXY", "all_proxy"]);
    let https = env_first(&["HTTPS_PROXY", "https_proxy"]).or(all.clone());
    let http = env_first(&["HTTP_PROXY", "http_proxy"]).or(all);
    if https.is_some() || http.is_some() {
        return Some(SystemProxy {
            source: "environment",
            https,
            http,
            bypass: env_first(&["NO_PROXY", "no_proxy"]),
        });
    }
    let (server, overrides) = crate::platform::internet_options_proxy()?;
    parse_windows_proxy(&server, overrides.as_deref())
}

/// Parses Internet Options' `ProxyServer` ("host:port" or "http=h:p;https=h:p;...") and
/// `ProxyOverride` ("*.local;10.*;<local>") into a [`SystemProxy`].
pub fn parse_windows_proxy(server: &str, overrides: Option<&str>) -> Option<SystemProxy> {
    let with_scheme = |s: &str| -> String {
        let s = s.trim();
        if s.contains("://") {
            s.to_string()
        } else {
            format!("http://{s}")
        }
    };
    let server = server.trim();
    if server.is_empty() {
        return None;
    }
    let (mut http, mut https) = (None, None);
    if server.contains('=') {
        for part in server.split(';') {
            if let Some((k, v)) = part.split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "http" => http = Some(with_scheme(v)),
                    "https" => https = Some(with_scheme(v)),
                    _ => {}
                }
            }
        }
    } else {
        http = Some(with_scheme(server));
        https = http.clone();
    }
    if http.is_none() && https.is_none() {
        return None;
    }
    let bypass = overrides
        .map(|o| {
            o.split(';')
                .map(|e| e.trim().trim_start_matches("*."))
                .filter(|e| !e.is_empty() && *e != "<local>")
                .map(|e| {
                    // "10.*" / "192.168.*" are wildcards in Internet Options; NO_PROXY wants CIDR.
                    let parts: Vec<&str> = e.split('.').collect();
                    match parts.iter().position(|p| *p == "*") {
                        Some(i) if i > 0 && parts[..i].iter().all(|p| p.parse::<u8>().is_ok()) => {
                            let mut oct = [0u8; 4];
                            for (j, p) in parts[..i].iter().enumerate() {
                                oct[j] = p.parse().unwrap_or(0);
                            }
                            format!("{}.{}.{}.{}/{}", oct[0], oct[1], oct[2], oct[3], i * 8)
                        }
                        _ => e.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty());
    Some(SystemProxy {
        source: "windows",
        https,
        http,
        bypass,
    })
}

/// Adds the Windows Internet Options proxy to a client builder when no proxy environment
/// variable is set (reqwest reads the variables itself). Corporate networks where the
/// ERP works only through the proxy configured in Windows need this.
pub fn apply_system_proxy(b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let Some(p) = system_proxy() else { return b };
    if p.source != "windows" {
        return b;
    }
    let no = p.bypass.as_deref().and_then(reqwest::NoProxy::from_string);
    let mut b = b;
    if let Some(u) = &p.https {
        if let Ok(px) = reqwest::Proxy::https(u.as_str()) {
            b = b.proxy(px.no_proxy(no.clone()));
        }
    }
    if let Some(u) = &p.http {
        if let Ok(px) = reqwest::Proxy::http(u.as_str()) {
            b = b.proxy(px.no_proxy(no));
        }
    }
    ::log::info!(target: "anaf::http", "using the Windows proxy: https={:?} http={:?} bypass={:?}", p.https, p.http, p.bypass);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_proxy_strings() {
        let p = parse_windows_proxy("proxy.firma.local:3128", Some("*.firma.local;10.*;<local>"))
            .unwrap();
        assert_eq!(p.https.as_deref(), Some("http://proxy.firma.local:3128"));
        assert_eq!(p.http.as_deref(), Some("http://proxy.firma.local:3128"));
        assert_eq!(p.bypass.as_deref(), Some("firma.local,10.0.0.0/8"));
        let p = parse_windows_proxy("http=a:80;https=b:8443;ftp=c:21", None).unwrap();
        assert_eq!(p.http.as_deref(), Some("http://a:80"));
        assert_eq!(p.https.as_deref(), Some("http://b:8443"));
        assert!(parse_windows_proxy("  ", None).is_none());
        assert!(parse_windows_proxy("ftp=c:21", None).is_none());
    }
}
