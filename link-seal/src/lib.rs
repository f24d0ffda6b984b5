//! The browser link's sealed answer: the tokens anaf-relay hands the DLL, sealed to the
//! X25519 public key the DLL made for the link (ephemeral-static ECDH, HKDF-SHA256,
//! ChaCha20-Poly1305, the link id as associated data). The relay seals and drops the
//! ephemeral secret at once, so it cannot read what it stored; only the holder of the
//! link's private key opens it. One definition for both sides: a change here is a
//! change of the wire format (keep [`KDF_INFO`] and the derivation as they are).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// HKDF `info` of the token sealing; changing it is a protocol version change.
pub const KDF_INFO: &[u8] = b"anaf-relay/link-tokens/v1";

/// Tokens sealed to the DLL's public key (the relay's JSON carries each part base64url).
pub struct Sealed {
    pub ephemeral_public_key: [u8; 32],
    pub nonce: [u8; 12],
    pub ciphertext: Vec<u8>,
}

/// The symmetric key both sides derive: HKDF-SHA256 over the X25519 shared secret,
/// salted with the ephemeral and the recipient public keys.
pub fn derive_key(
    shared: &[u8; 32],
    ephemeral_public: &[u8; 32],
    recipient: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_public);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32.
    hk.expand(KDF_INFO, okm.as_mut()).expect("hkdf length");
    okm
}

/// Seals `plaintext` to `recipient` for the link `link_id`; `None` when the public key
/// is a low-order point (a shared secret of zeros: refused rather than encrypting with a
/// known key).
pub fn seal(recipient: &[u8; 32], link_id: &str, plaintext: &[u8]) -> Option<Sealed> {
    let eph = EphemeralSecret::random_from_rng(OsRng);
    let eph_pub = PublicKey::from(&eph);
    let shared = eph.diffie_hellman(&PublicKey::from(*recipient));
    if !shared.was_contributory() {
        return None;
    }
    let key = derive_key(shared.as_bytes(), eph_pub.as_bytes(), recipient);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: link_id.as_bytes(),
            },
        )
        .ok()?;
    Some(Sealed {
        ephemeral_public_key: *eph_pub.as_bytes(),
        nonce,
        ciphertext,
    })
}

/// Opens what [`seal`] sealed for the link `link_id` with the link's private key; `None`
/// for another key, another link id, altered bytes or a low-order ephemeral key.
pub fn open(secret: &[u8; 32], link_id: &str, sealed: &Sealed) -> Option<Zeroizing<Vec<u8>>> {
    let sk = StaticSecret::from(*secret);
    let own_public = PublicKey::from(&sk);
    let shared = sk.diffie_hellman(&PublicKey::from(sealed.ephemeral_public_key));
    if !shared.was_contributory() {
        return None;
    }
    let key = derive_key(
        shared.as_bytes(),
        &sealed.ephemeral_public_key,
        own_public.as_bytes(),
    );
    ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
        .decrypt(
            Nonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: link_id.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_recipient_key_and_link_id() {
        let dll = StaticSecret::random_from_rng(OsRng);
        let dll_pub = *PublicKey::from(&dll).as_bytes();
        let s = seal(&dll_pub, "link1", b"{\"access_token\":\"x\"}").unwrap();
        let pt = open(dll.as_bytes(), "link1", &s).unwrap();
        assert_eq!(&**pt, b"{\"access_token\":\"x\"}");
        assert!(open(dll.as_bytes(), "link2", &s).is_none());
        let other = StaticSecret::random_from_rng(OsRng);
        assert!(open(other.as_bytes(), "link1", &s).is_none());
        let mut bent = s;
        bent.ciphertext[0] ^= 1;
        assert!(open(dll.as_bytes(), "link1", &bent).is_none());
    }

    #[test]
    fn low_order_public_key_is_refused() {
        assert!(seal(&[0u8; 32], "l", b"x").is_none());
    }
}
