//! The vendor's configuration file (TOML): the applications the relay serves with their
//! client secrets, the customer installations allowed to make links, and the storage key
//! that seals pending links in the database.
//!
//! ```toml
//! storage_key = "…"                  # anaf-relay storage-key
//!
//! [[client]]
//! client_id = "…"                    # the application registered in SPV
//! client_secret = "…"
//!
//! [[installation]]                   # anaf-relay keygen --customer "SC Firma SRL" …
//! id = "firma-srl-3f2a"
//! customer = "SC Firma SRL"          # shown on the landing page
//! client_ids = ["…"]
//! key_sha256 = "…"                   # the installation's key itself stays with the customer
//! cifs = ["14399840"]                # optional: the only CIFs its links may name
//! ```

use crate::crypto::{self, StorageKey};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use zeroize::Zeroizing;

/// Installation keys start with this, so that a key pasted in the wrong field is recognised.
pub const KEY_PREFIX: &str = "ark_";

#[derive(Debug, Clone)]
pub struct Installation {
    pub id: String,
    pub customer: String,
    pub client_ids: Vec<String>,
    /// Empty: any CIF.
    pub cifs: Vec<String>,
}

pub struct Vendor {
    pub storage_key: StorageKey,
    /// A PostgreSQL URL or a SQLite path, when the file names the database.
    pub database: Option<String>,
    secrets: HashMap<String, Zeroizing<String>>,
    installations: Vec<Installation>,
    by_key_hash: HashMap<[u8; 32], usize>,
}

/// Names and counts only: never a secret.
impl std::fmt::Debug for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vendor")
            .field("clients", &self.secrets.keys().collect::<Vec<_>>())
            .field("installations", &self.installations)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    storage_key: Zeroizing<String>,
    #[serde(default)]
    database: Option<String>,
    #[serde(default)]
    client: Vec<ClientEntry>,
    #[serde(default)]
    installation: Vec<InstallationEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    client_id: String,
    client_secret: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallationEntry {
    id: String,
    customer: String,
    client_ids: Vec<String>,
    key_sha256: String,
    #[serde(default)]
    cifs: Vec<String>,
}

/// A new installation key (for the customer) and its hash (for the configuration).
pub fn new_key() -> (Zeroizing<String>, String) {
    let key = Zeroizing::new(format!("{KEY_PREFIX}{}", crypto::random_token(32)));
    let hash = hex(&crypto::sha256(key.as_bytes()));
    (key, hash)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Vendor {
    pub fn load(path: &Path) -> Result<Vendor, String> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| format!("config {}: {e}", path.display()))?,
        );
        Vendor::parse(&text).map_err(|e| format!("config {}: {e}", path.display()))
    }

    /// Parses and checks the file; refuses one that would let nobody (or anybody) in.
    pub fn parse(text: &str) -> Result<Vendor, String> {
        // toml's messages quote the offending line, which may hold a secret: not shown.
        let f: File = toml::from_str(text).map_err(|e| {
            let span = e.span().map(|s| format!(" near byte {}", s.start));
            format!(
                "not valid TOML of the expected shape{}",
                span.unwrap_or_default()
            )
        })?;
        let storage_key = StorageKey::from_text(&f.storage_key).ok_or(
            "storage_key must be 32 bytes, base64url (make one with `anaf-relay storage-key`)",
        )?;
        let mut secrets = HashMap::new();
        for c in f.client {
            let id = c.client_id.trim().to_string();
            if id.is_empty() || c.client_secret.is_empty() {
                return Err("each [[client]] needs client_id and client_secret".into());
            }
            if secrets.insert(id.clone(), c.client_secret).is_some() {
                return Err(format!("client_id {id} is listed twice"));
            }
        }
        if secrets.is_empty() {
            return Err(
                "no [[client]]: list the client_id and client_secret of each application the relay serves"
                    .into(),
            );
        }
        let mut installations = Vec::new();
        let mut by_key_hash = HashMap::new();
        for i in f.installation {
            let id = i.id.trim().to_string();
            if id.is_empty() || i.customer.trim().is_empty() {
                return Err("each [[installation]] needs id and customer".into());
            }
            if installations.iter().any(|x: &Installation| x.id == id) {
                return Err(format!("installation {id} is listed twice"));
            }
            if i.client_ids.is_empty() {
                return Err(format!("installation {id}: client_ids is empty"));
            }
            for c in &i.client_ids {
                if !secrets.contains_key(c) {
                    return Err(format!(
                        "installation {id}: client_id {c} has no [[client]] with its secret"
                    ));
                }
            }
            let hash = unhex32(&i.key_sha256).ok_or(format!(
                "installation {id}: key_sha256 must be 64 hex digits (from `anaf-relay keygen`)"
            ))?;
            if by_key_hash.insert(hash, installations.len()).is_some() {
                return Err(format!("installation {id}: its key is another's too"));
            }
            installations.push(Installation {
                id,
                customer: i.customer.trim().to_string(),
                client_ids: i.client_ids,
                cifs: i.cifs,
            });
        }
        if installations.is_empty() {
            return Err(
                "no [[installation]]: no customer could make a link (add one with `anaf-relay keygen`)"
                    .into(),
            );
        }
        Ok(Vendor {
            storage_key,
            database: f.database,
            secrets,
            installations,
            by_key_hash,
        })
    }

    /// The installation whose key this is. Keys are 256-bit random, so a hash lookup
    /// tells an attacker nothing a guess could use.
    pub fn authenticate(&self, key: &str) -> Option<&Installation> {
        let h = crypto::sha256(key.trim().as_bytes());
        self.by_key_hash
            .get(&h)
            .and_then(|&i| self.installations.get(i))
    }

    pub fn installation(&self, id: &str) -> Option<&Installation> {
        self.installations.iter().find(|i| i.id == id)
    }

    pub fn client_secret(&self, client_id: &str) -> Option<&str> {
        self.secrets.get(client_id).map(|s| s.as_str())
    }

    pub fn installations(&self) -> usize {
        self.installations.len()
    }

    pub fn clients(&self) -> usize {
        self.secrets.len()
    }
}

/// The configuration lines `anaf-relay keygen` prints for a new installation.
pub fn installation_entry(
    id: &str,
    customer: &str,
    client_ids: &[String],
    cifs: &[String],
    key_sha256: &str,
) -> String {
    // A JSON string is a valid TOML basic string.
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let list = |v: &[String]| {
        let items: Vec<String> = v.iter().map(|s| q(s)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut out = format!(
        "[[installation]]\nid = {}\ncustomer = {}\nclient_ids = {}\nkey_sha256 = {}\n",
        q(id),
        q(customer),
        list(client_ids),
        q(key_sha256)
    );
    if !cifs.is_empty() {
        out.push_str(&format!("cifs = {}\n", list(cifs)));
    }
    out
}

/// An installation id made from the customer's name: lower-case ASCII words and a
/// random tail, so two customers with one name still differ.
pub fn installation_id(customer: &str) -> String {
    let mut slug = String::new();
    for c in customer.chars() {
        let c = match c {
            'ă' | 'â' | 'Ă' | 'Â' => 'a',
            'î' | 'Î' => 'i',
            'ș' | 'ş' | 'Ș' | 'Ş' => 's',
            'ț' | 'ţ' | 'Ț' | 'Ţ' => 't',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(40).collect();
    let tail = hex(&crypto::sha256(crypto::random_token(8).as_bytes())[..2]);
    if slug.is_empty() {
        tail
    } else {
        format!("{slug}-{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> String {
        let (_, hash) = new_key();
        format!(
            "storage_key = \"{}\"\n[[client]]\nclient_id = \"c1\"\nclient_secret = \"s1\"\n{extra}\n{}",
            StorageKey::generate().to_text().as_str(),
            installation_entry("i1", "SC Firma SRL", &["c1".into()], &[], &hash)
        )
    }

    #[test]
    fn keys_authenticate_their_installation_only() {
        let (key, hash) = new_key();
        assert!(key.starts_with(KEY_PREFIX));
        let text = format!(
            "{}\n{}",
            config(""),
            installation_entry("i2", "Alta SRL", &["c1".into()], &["123".into()], &hash)
        );
        let v = Vendor::parse(&text).unwrap();
        let i = v.authenticate(&key).unwrap();
        assert_eq!((i.id.as_str(), i.customer.as_str()), ("i2", "Alta SRL"));
        assert_eq!(i.cifs, vec!["123".to_string()]);
        assert!(v.authenticate("ark_wrong").is_none());
        assert!(v.authenticate("").is_none());
        assert_eq!(v.client_secret("c1"), Some("s1"));
        assert_eq!(v.client_secret("c2"), None);
    }

    #[test]
    fn a_file_that_lets_nobody_or_anybody_in_is_refused() {
        let key = StorageKey::generate().to_text();
        let only_key = format!("storage_key = \"{}\"\n", key.as_str());
        assert!(Vendor::parse(&only_key).unwrap_err().contains("[[client]]"));
        let no_install =
            format!("{only_key}[[client]]\nclient_id = \"c1\"\nclient_secret = \"s1\"\n");
        assert!(Vendor::parse(&no_install)
            .unwrap_err()
            .contains("[[installation]]"));
        let (_, hash) = new_key();
        let unknown_client = format!(
            "{no_install}{}",
            installation_entry("i1", "X", &["other".into()], &[], &hash)
        );
        assert!(Vendor::parse(&unknown_client)
            .unwrap_err()
            .contains("no [[client]]"));
        let good = config("");
        let bad_hash = good.replace(&hash_of(&good), "abc");
        assert!(Vendor::parse(&bad_hash).is_err());
        assert!(Vendor::parse(&config("").replace("storage_key", "storage_keyx")).is_err());
        // The parser's message never quotes the file (it holds secrets).
        let broken = config("").replace("client_secret = \"s1\"", "client_secret = s1-secret");
        let e = Vendor::parse(&broken).unwrap_err();
        assert!(!e.contains("s1-secret"), "{e}");
    }

    fn hash_of(text: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix("key_sha256 = \""))
            .unwrap()
            .trim_end_matches('"')
            .to_string()
    }

    #[test]
    fn installation_ids_are_readable_and_distinct() {
        let a = installation_id("SC Ţară & Fiică SRL");
        assert!(a.starts_with("sc-tara-fiica-srl-"), "{a}");
        assert_ne!(a, installation_id("SC Ţară & Fiică SRL"));
        assert_eq!(installation_id("???").len(), 4);
    }
}
