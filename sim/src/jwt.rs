//! RS512 JWTs shaped like logincert.anaf.ro's: header {"alg":"RS512","typ":"JWT"},
//! claims iss, sub, serial, clientappid, role, scope, iat, exp, jti, plus `token_use`
//! (access / refresh) so that one kind cannot be used as the other.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use once_cell::sync::OnceCell;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "https://logincert.anaf.ro";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub serial: String,
    pub clientappid: String,
    pub role: Vec<String>,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub token_use: String,
}

pub struct Signer {
    key: RsaKeyPair,
}

/// RSA generation is slow (seconds even optimised): once per process, shared by every
/// simulator the process starts.
static PROCESS_KEY: OnceCell<Vec<u8>> = OnceCell::new();

fn generate_pkcs8() -> Result<Vec<u8>> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    Ok(key.to_pkcs8_der()?.as_bytes().to_vec())
}

impl Signer {
    /// With a state dir the key is kept there, so tokens stay valid across restarts.
    pub fn open(state_dir: Option<&Path>) -> Result<Arc<Signer>> {
        let der = match state_dir {
            Some(dir) => {
                let p = dir.join("jwt-signing-key.der");
                if let Ok(d) = std::fs::read(&p) {
                    d
                } else {
                    let d = PROCESS_KEY.get_or_try_init(generate_pkcs8)?.clone();
                    std::fs::write(&p, &d)?;
                    d
                }
            }
            None => PROCESS_KEY.get_or_try_init(generate_pkcs8)?.clone(),
        };
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| anyhow!("jwt key: {e}"))?;
        Ok(Arc::new(Signer { key }))
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = B64.encode(br#"{"alg":"RS512","typ":"JWT"}"#);
        let body = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let input = format!("{header}.{body}");
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA512,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .expect("rsa sign");
        format!("{input}.{}", B64.encode(sig))
    }

    /// RSA-SHA512 over arbitrary bytes (the download signatures).
    pub fn sign_bytes(&self, data: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA512,
                &ring::rand::SystemRandom::new(),
                data,
                &mut sig,
            )
            .expect("rsa sign");
        sig
    }

    pub fn verify_bytes(&self, data: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA512,
            self.key.public().as_ref(),
        )
        .verify(data, sig)
        .is_ok()
    }

    /// Checks the signature and the header; expiry is the caller's business (it uses
    /// the simulator clock).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut parts = token.split('.');
        let (h, b, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(h).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "RS512" {
            return None;
        }
        let sig = B64.decode(s).ok()?;
        let pk = UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA512,
            self.key.public().as_ref(),
        );
        pk.verify(format!("{h}.{b}").as_bytes(), &sig).ok()?;
        serde_json::from_slice(&B64.decode(b).ok()?).ok()
    }
}
