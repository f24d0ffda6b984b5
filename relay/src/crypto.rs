//! The relay's two uses of cryptography.
//!
//! 1. Tokens for the DLL: sealed to the X25519 public key the DLL sent with the link
//!    (ephemeral-static ECDH, HKDF-SHA256, ChaCha20-Poly1305, the link id as associated
//!    data). The relay drops the ephemeral secret at once, so after sealing it can no
//!    longer read what it stored; only the holder of the DLL's private key can.
//! 2. The link records in the database: sealed with the storage key of the relay's
//!    configuration file ([`StorageKey`]), which the database never holds.
//!
//! The sealing of 1. is the `anaf-link-seal` crate of the workspace, which the DLL opens
//! with (src/login/link.rs); `tests/link_flow.rs` proves the two agree end to end.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

// The sealing format is shared with the DLL (link-seal/): one definition for both sides.
pub use anaf_link_seal::{derive_key, seal, Sealed, KDF_INFO};

/// HKDF `info` prefix of a link record's key (the link id follows).
const RECORD_INFO: &[u8] = b"anaf-relay/link-record/v1:";
/// HKDF `info` of the key's fingerprint, kept in the database to catch a wrong key.
const CHECK_INFO: &[u8] = b"anaf-relay/storage-key-check/v1";

/// The key that seals the link records in the database. It lives in the relay's
/// configuration file, never in the database, so a dump of the database alone opens
/// nothing. Each record is sealed under a key derived from it and the link id, and the
/// database holds only the id's hash: opening a record needs the id as well.
pub struct StorageKey(Zeroizing<[u8; 32]>);

impl StorageKey {
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        StorageKey(k)
    }

    /// From the configuration's base64url text.
    pub fn from_text(text: &str) -> Option<Self> {
        let v = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.trim().trim_end_matches('='))
                .ok()?,
        );
        let k: [u8; 32] = v.as_slice().try_into().ok()?;
        Some(StorageKey(Zeroizing::new(k)))
    }

    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0.as_ref()))
    }

    fn derive(&self, info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(None, self.0.as_ref());
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand_multi_info(info, okm.as_mut())
            .expect("hkdf length");
        okm
    }

    /// A non-secret fingerprint: the database keeps it so that a relay started with
    /// another key refuses to start instead of failing every link.
    pub fn fingerprint(&self) -> String {
        b64(&sha256(self.derive(&[CHECK_INFO]).as_ref()))
    }

    /// `nonce || ciphertext` of a link's record.
    pub fn seal(&self, link_id: &str, plaintext: &[u8]) -> Vec<u8> {
        let key = self.derive(&[RECORD_INFO, link_id.as_bytes()]);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("chacha20poly1305 encrypt");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, link_id: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 12 + 16 {
            return None;
        }
        let key = self.derive(&[RECORD_INFO, link_id.as_bytes()]);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        cipher
            .decrypt(Nonce::from_slice(&sealed[..12]), &sealed[12..])
            .ok()
            .map(Zeroizing::new)
    }
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut b = Zeroizing::new(vec![0u8; n]);
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(&*b)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url (padding tolerated) into exactly 32 bytes.
pub fn b64_32(text: &str) -> Option<[u8; 32]> {
    let v = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::Payload;
    use x25519_dalek::{PublicKey, StaticSecret};

    #[test]
    fn sealed_tokens_open_only_with_the_recipient_key_and_link_id() {
        let dll = StaticSecret::random_from_rng(OsRng);
        let dll_pub = *PublicKey::from(&dll).as_bytes();
        let s = seal(&dll_pub, "link1", b"{\"access_token\":\"x\"}").unwrap();
        let shared = dll.diffie_hellman(&PublicKey::from(s.ephemeral_public_key));
        let key = derive_key(shared.as_bytes(), &s.ephemeral_public_key, &dll_pub);
        let c = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let pt = c
            .decrypt(
                Nonce::from_slice(&s.nonce),
                Payload {
                    msg: &s.ciphertext,
                    aad: b"link1",
                },
            )
            .unwrap();
        assert_eq!(pt, b"{\"access_token\":\"x\"}");
        assert!(c
            .decrypt(
                Nonce::from_slice(&s.nonce),
                Payload {
                    msg: &s.ciphertext,
                    aad: b"link2"
                }
            )
            .is_err());
        let other = StaticSecret::random_from_rng(OsRng);
        let shared = other.diffie_hellman(&PublicKey::from(s.ephemeral_public_key));
        let key = derive_key(shared.as_bytes(), &s.ephemeral_public_key, &dll_pub);
        let c = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        assert!(c
            .decrypt(
                Nonce::from_slice(&s.nonce),
                Payload {
                    msg: &s.ciphertext,
                    aad: b"link1"
                }
            )
            .is_err());
    }

    #[test]
    fn low_order_public_key_is_refused() {
        assert!(seal(&[0u8; 32], "l", b"x").is_none());
    }

    #[test]
    fn storage_key_round_trip_and_binding() {
        let k = StorageKey::generate();
        let s = k.seal("a", b"secret");
        assert_eq!(&**k.open("a", &s).unwrap(), b"secret");
        assert!(k.open("b", &s).is_none(), "bound to the link id");
        assert!(StorageKey::generate().open("a", &s).is_none());
        let again = StorageKey::from_text(&k.to_text()).unwrap();
        assert_eq!(&**again.open("a", &s).unwrap(), b"secret");
        assert_eq!(again.fingerprint(), k.fingerprint());
        assert_ne!(StorageKey::generate().fingerprint(), k.fingerprint());
        assert!(StorageKey::from_text("short").is_none());
    }
}
