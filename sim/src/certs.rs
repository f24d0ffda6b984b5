//! The test PKI: a CA, the server certificate (127.0.0.1, localhost) and client
//! certificates with chosen serials, written as PEM and PKCS#12.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};

/// A client certificate issued by the test CA, as files.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClientCert {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub p12: PathBuf,
    pub p12_password: String,
    /// Upper-case hex, no separators: the form ANAF puts in the token's `serial` claim.
    pub serial: String,
}

pub const P12_PASSWORD: &str = "anaf-sim";

pub struct Pki {
    dir: PathBuf,
    ca_cert_pem: String,
    ca: Issuer<'static, KeyPair>,
    pub ca_der: Vec<u8>,
    pub server_cert_der: Vec<u8>,
    pub server_key_der: Vec<u8>,
}

fn ca_params() -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "RO");
    dn.push(DnType::OrganizationName, "anaf-sim");
    dn.push(DnType::CommonName, "anaf-sim test CA");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    Ok(p)
}

impl Pki {
    /// Loads the CA from `dir` when a previous run left one there (so a `ca_file` that an
    /// ERP was configured with stays valid), otherwise makes a new one.
    pub fn open(dir: &Path) -> Result<Pki> {
        fs::create_dir_all(dir.join("clients"))?;
        let ca_pem_path = dir.join("ca.pem");
        let ca_key_path = dir.join("ca-key.pem");
        let (ca_cert_pem, ca_key) = if ca_pem_path.exists() && ca_key_path.exists() {
            let key = KeyPair::from_pem(&fs::read_to_string(&ca_key_path)?)
                .context("reading ca-key.pem")?;
            (fs::read_to_string(&ca_pem_path)?, key)
        } else {
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            fs::write(&ca_pem_path, cert.pem())?;
            fs::write(&ca_key_path, key.serialize_pem())?;
            (cert.pem(), key)
        };
        let ca_der = pem_to_der(&ca_cert_pem).context("ca.pem")?;
        let ca = Issuer::new(ca_params()?, ca_key);

        // The server certificate is made anew at every start: nobody pins it.
        let mut sp =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
        sp.distinguished_name = DistinguishedName::new();
        sp.distinguished_name.push(DnType::CommonName, "localhost");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        sp.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        sp.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(825);
        let skey = KeyPair::generate()?;
        let scert = sp.signed_by(&skey, &ca)?;
        fs::write(dir.join("server.pem"), scert.pem())?;
        fs::write(dir.join("server-key.pem"), skey.serialize_pem())?;

        Ok(Pki {
            dir: dir.to_path_buf(),
            ca_cert_pem,
            ca,
            ca_der,
            server_cert_der: scert.der().to_vec(),
            server_key_der: skey.serialize_der(),
        })
    }

    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Issues (or re-issues) a client certificate with this serial, like a qualified
    /// certificate on a USB token: digitalSignature + clientAuth.
    pub fn issue_client(&self, serial_hex: &str, cn: &str) -> Result<ClientCert> {
        let serial = normalize_serial(serial_hex)?;
        let mut bytes = hex::decode(if serial.len() % 2 == 1 {
            format!("0{serial}")
        } else {
            serial.clone()
        })?;
        // A DER INTEGER serial must be positive: a leading 0x00 keeps the high bit clear
        // without changing the value.
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "RO");
        dn.push(DnType::CommonName, cn);
        dn.push(DnType::OrganizationName, "anaf-sim");
        p.distinguished_name = dn;
        p.serial_number = Some(SerialNumber::from_slice(&bytes));
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(730);
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.ca)?;

        let base = self.dir.join("clients");
        let cert_pem = base.join(format!("{serial}.pem"));
        let key_pem = base.join(format!("{serial}-key.pem"));
        let p12 = base.join(format!("{serial}.p12"));
        fs::write(&cert_pem, cert.pem())?;
        fs::write(&key_pem, key.serialize_pem())?;
        fs::write(
            &p12,
            make_p12(&key.serialize_der(), cert.der(), &self.ca_der, cn)?,
        )?;
        Ok(ClientCert {
            cert_pem,
            key_pem,
            p12,
            p12_password: P12_PASSWORD.to_string(),
            serial,
        })
    }

    #[allow(dead_code)]
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }
}

/// PKCS#12 with 3DES and SHA-1 MAC: the combination every Windows version and .NET
/// Framework imports (AES-256 PFX needs Windows 10 1709 or later).
fn make_p12(key_der: &[u8], cert_der: &[u8], ca_der: &[u8], alias: &str) -> Result<Vec<u8>> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
        PrivateKeyChain,
    };
    let key = PrivateKey::from_der(key_der).map_err(|e| anyhow::anyhow!("p12 key: {e}"))?;
    let chain = PrivateKeyChain::new(
        alias.as_bytes().to_vec(),
        key,
        [
            Certificate::from_der(cert_der).map_err(|e| anyhow::anyhow!("p12 cert: {e}"))?,
            Certificate::from_der(ca_der).map_err(|e| anyhow::anyhow!("p12 ca: {e}"))?,
        ],
    );
    let mut ks = KeyStore::new();
    ks.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    ks.writer(P12_PASSWORD)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
        .mac_algorithm(MacAlgorithm::HmacSha1)
        .write()
        .map_err(|e| anyhow::anyhow!("p12 write: {e}"))
}

fn pem_to_der(pem: &str) -> Result<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    Ok(base64::engine::general_purpose::STANDARD.decode(body.trim())?)
}

/// "1a 2b:3C" → "1A2B3C"; leading zero bytes dropped, as Windows and ANAF show serials.
pub fn normalize_serial(raw: &str) -> Result<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    anyhow::ensure!(
        !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_hexdigit()),
        "certificate serial must be 1 to 40 hex digits, got {raw:?}"
    );
    let t = s.trim_start_matches('0');
    Ok(if t.is_empty() {
        "0".into()
    } else {
        t.to_string()
    })
}

/// The serial of a DER certificate as upper-case hex (no leading zeros): found by walking
/// the TBSCertificate's first fields, enough for the certificates rustls hands us.
pub fn serial_of_der(der: &[u8]) -> Option<String> {
    fn header(b: &[u8]) -> Option<(u8, usize, usize)> {
        let tag = *b.first()?;
        let l0 = *b.get(1)? as usize;
        if l0 < 0x80 {
            Some((tag, 2, l0))
        } else {
            let n = l0 & 0x7f;
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *b.get(2 + i)? as usize;
            }
            Some((tag, 2 + n, len))
        }
    }
    let (_, h, _) = header(der)?; // Certificate SEQUENCE
    let tbs = &der[h..];
    let (_, h, _) = header(tbs)?; // TBSCertificate SEQUENCE
    let mut rest = &tbs[h..];
    let (tag, h, len) = header(rest)?;
    if tag == 0xa0 {
        rest = &rest[h + len..]; // [0] version
    }
    let (tag, h, len) = header(rest)?;
    if tag != 0x02 {
        return None;
    }
    let v = rest.get(h..h + len)?;
    let s = hex::encode_upper(v);
    let t = s.trim_start_matches('0');
    Some(if t.is_empty() {
        "0".into()
    } else {
        t.to_string()
    })
}
