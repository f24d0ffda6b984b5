//! The secrets the store keeps (the token pair, the browser link's retrieval secret and
//! private key, the rescue file) are sealed with XChaCha20-Poly1305 under a key the
//! database does not hold: derived from the configuration's `token_key` when the ERP gives
//! one, otherwise from its `client_secret` (every workstation's configuration has it).
//! A reader of the table, of the share or of a backup gets nothing usable; whoever holds
//! both a configuration and the database can still open them (the residual risk the
//! README states).
//!
//! A sealed value is text, so it fits the same columns on every backend:
//! `anafseal1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The associated data names
//! the column and the row's profile, so a value copied into another row or column does not
//! open. The key id (8 hex digits of a hash of the key) lets a wrong key be told apart
//! from a damaged value.

use super::Profile;
use crate::error::{Error, Result};
use crate::status::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The start of every sealed value (no `%` or `_`: the report view matches it with LIKE).
pub const PREFIX: &str = "anafseal1:";

/// The shortest `token_key` accepted.
pub(crate) const MIN_TOKEN_KEY_CHARS: usize = 16;

/// Whether a stored value is sealed (rows written before sealing, or by the ERP itself,
/// hold their tokens as they are).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The SHA-256 of a token, in hex: what the table keeps of the refresh token a pair
/// replaced and of the one being spent, so that the rows can be compared and a support
/// technician can match a token without the table holding a second live copy of it.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a stored value is such a hash (columns written before hashing hold the token).
pub fn is_hash(stored: &str) -> bool {
    stored.len() == 64 && stored.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where a sealed value lives: its column (and the row's profile, for a row's columns).
pub fn place(column: &str, p: &Profile) -> String {
    place_of(column, &p.cif, &p.client_id, &p.environment)
}

/// [`place`] from the parts of a profile (the fast path has no `Profile` to hand).
pub fn place_of(column: &str, cif: &str, client_id: &str, environment: &str) -> String {
    format!("{column}\u{0}{cif}\u{0}{client_id}\u{0}{environment}")
}

/// The sealing key of one configuration.
pub struct Sealer {
    key: Zeroizing<[u8; 32]>,
    /// 8 hex digits naming the key in each sealed value.
    id: String,
    /// Which configuration field the key comes from, for the wrong-key message.
    source: &'static str,
    /// The ERP opted in to an access token it can read in the table (`share_access_token`).
    pub share_access_token: bool,
    /// Keys of the secret the values were sealed under before it changed
    /// (`token_key_previous`): they open old values, which are sealed again under this one.
    previous: Vec<Sealer>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({} from {})", self.id, self.source)
    }
}

impl Sealer {
    /// The key of a configuration: from `token_key` if set, else from `client_secret`;
    /// `None` when it has neither (such a handle can read rows written before sealing
    /// but writes no token).
    pub fn from_config(cfg: &crate::config::Config) -> Option<Sealer> {
        let (secret, source) = match (&cfg.token_key, &cfg.client_secret) {
            (Some(k), _) => (k.as_str(), "token_key"),
            (None, Some(s)) => (s.as_str(), "client_secret"),
            (None, None) => return None,
        };
        let mut s = Sealer::derive(secret, source);
        s.share_access_token = cfg.share_access_token;
        if let Some(old) = &cfg.token_key_previous {
            // Whichever field it was in before.
            s.previous = vec![
                Sealer::derive(old, "client_secret"),
                Sealer::derive(old, "token_key"),
            ];
        }
        Some(s)
    }

    /// HKDF-SHA256 of the secret. The source is part of the derivation, so a `token_key`
    /// equal to the client secret still gives another key.
    pub fn derive(secret: &str, source: &'static str) -> Sealer {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"anaf-bridge seal v1"), secret.as_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(source.as_bytes(), key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        let mut h = Sha256::new();
        h.update(b"anaf-bridge key id\0");
        h.update(key.as_ref());
        let id = hex::encode(&h.finalize()[..4]);
        Sealer {
            key,
            id,
            source,
            share_access_token: false,
            previous: Vec::new(),
        }
    }

    /// Whether a stored value is sealed under this key (not a previous one, nor readable).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.id)
    }

    /// What tells two configurations' keys apart (the ids, current and previous, and the
    /// access-token choice): handles whose keys differ do not share a store.
    pub fn fingerprint(&self) -> String {
        let previous: Vec<&str> = self.previous.iter().map(|p| p.id.as_str()).collect();
        format!(
            "{}/{}/{}",
            self.id,
            previous.join(","),
            self.share_access_token
        )
    }

    /// The key's id, as sealed values carry it.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }

    /// Seals `value` for `place` (see [`place`]).
    pub fn seal(&self, value: &str, place: &str) -> String {
        let nonce: [u8; 24] = rand::random();
        let ct = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: place.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory text");
        let mut body = Vec::with_capacity(24 + ct.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ct);
        format!("{PREFIX}{}:{}", self.id, URL_SAFE_NO_PAD.encode(body))
    }

    /// Opens a value sealed for `place`; a value that is not sealed is answered as it is.
    pub fn open(&self, stored: &str, place: &str) -> Result<Zeroizing<String>> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(Zeroizing::new(stored.to_string()));
        };
        let column = place.split('\u{0}').next().unwrap_or_default();
        let (id, body) = rest.split_once(':').unwrap_or(("", rest));
        if let Some(old) = self.previous.iter().find(|k| k.id == id) {
            return old.open(stored, place);
        }
        if id != self.id {
            let ours = &self.id;
            let source = &self.source;
            return Err(Error::with(
                ANAF_ERR_INVALID_CONFIG,
                format!(
                    "Valoarea {column} din baza de date este sigilată cu altă cheie ({id}) decât cea a acestei configurații ({ours}, din \"{source}\"): \"token_key\" sau \"client_secret\" diferă de cele ale programului care a salvat tokenul. Puneți valoarea folosită atunci în \"token_key_previous\" (tokenul rămâne neatins în tabelă și va fi sigilat din nou cu cheia nouă), sau faceți o autentificare nouă."
                ),
                format!(
                    "The value of {column} in the database is sealed with another key ({id}) than this configuration's ({ours}, from \"{source}\"): \"token_key\" or \"client_secret\" differs from those of the program that stored the token. Set the value used then as \"token_key_previous\" (the token stays untouched in the table and is sealed again under the new key), or log in again."
                ),
            ));
        }
        let damaged = || {
            Error::with(
                ANAF_ERR_DATABASE_CORRUPT,
                format!("Valoarea sigilată din {column} este deteriorată sau a fost mutată din alt rând; nu poate fi deschisă."),
                format!("The sealed value of {column} is damaged or was moved from another row; it cannot be opened."),
            )
        };
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| damaged())?;
        if body.len() < 24 + 16 {
            return Err(damaged());
        }
        let (nonce, ct) = body.split_at(24);
        let plain = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| damaged())
    }
}

/// The error of a handle that must write a secret but has no key.
pub fn no_key() -> Error {
    Error::with(
        ANAF_ERR_INVALID_CONFIG,
        "Configurația nu are \"client_secret\" sau \"token_key\": tokenul se păstrează în baza de date sigilat cu o cheie derivată din una dintre ele.",
        "The configuration has no \"client_secret\" or \"token_key\": the token is kept in the database sealed with a key derived from one of them.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(cif: &str) -> Profile {
        Profile {
            cif: cif.into(),
            client_id: "cid".into(),
            environment: "test".into(),
        }
    }

    #[test]
    fn seals_opens_and_binds_to_the_place() {
        let s = Sealer::derive("secret", "client_secret");
        let at = place("refresh_token", &p("1"));
        let sealed = s.seal("r1", &at);
        // (A short plain text could appear in the base64 by chance: a long one cannot.)
        let long = s.seal("refresh-token-in-plain", &at);
        assert!(
            is_sealed(&sealed) && !long.contains("refresh-token"),
            "{long}"
        );
        assert_ne!(sealed, s.seal("r1", &at), "a fresh nonce each time");
        assert_eq!(s.open(&sealed, &at).unwrap().as_str(), "r1");
        assert_eq!(s.open("plain", &at).unwrap().as_str(), "plain");
        let e = s
            .open(&sealed, &place("refresh_token", &p("2")))
            .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "another row");
        let e = s
            .open(&sealed, &place("access_token", &p("1")))
            .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_DATABASE_CORRUPT, "another column");
        let mut cut = sealed.clone();
        cut.truncate(sealed.len() - 3);
        assert_eq!(
            s.open(&cut, &at).unwrap_err().status,
            ANAF_ERR_DATABASE_CORRUPT
        );
    }

    #[test]
    fn another_key_is_named_not_called_damage() {
        let at = place("refresh_token", &p("1"));
        let sealed = Sealer::derive("old secret", "client_secret").seal("r1", &at);
        let e = Sealer::derive("new secret", "client_secret")
            .open(&sealed, &at)
            .unwrap_err();
        assert_eq!(e.status, ANAF_ERR_INVALID_CONFIG);
        assert!(e.to_string().contains("client_secret"), "{e}");
        // The previous secret opens it, whichever field it was in.
        let mut rotated = Sealer::derive("new secret", "client_secret");
        rotated.previous = vec![
            Sealer::derive("old secret", "client_secret"),
            Sealer::derive("old secret", "token_key"),
        ];
        assert_eq!(rotated.open(&sealed, &at).unwrap().as_str(), "r1");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal("r1", &at)));
        // The source is part of the key.
        assert_ne!(
            Sealer::derive("x", "token_key").id(),
            Sealer::derive("x", "client_secret").id()
        );
    }

    #[test]
    fn hashes_are_recognised() {
        let h = hash("r1");
        assert!(is_hash(&h));
        assert!(!is_hash("r1"));
        assert!(!is_hash(&format!("{h}0")));
    }
}
