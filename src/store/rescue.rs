//! The rescue file: where a freshly rotated token pair waits when the database cannot
//! take it at once (locked by another program), so that a crash before the commit does not
//! lose it. ANAF has already spent the old refresh token at that point; the new pair
//! exists nowhere else.
//!
//! `<database>.rescue-<first 16 hex of SHA-256(spent refresh token)>.json`, beside the
//! database (same folder, same protection as the token table itself), written to a
//! temporary name, flushed to disk and renamed. Whoever takes over the refresh lease of
//! that spent token looks for it before calling ANAF, commits it, and deletes it.

use super::tokens::{NewTokens, Profile};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fingerprint(spent: &str) -> String {
    hex::encode(Sha256::digest(spent.as_bytes()))
}

/// Where the pair obtained by spending `spent` is rescued.
pub fn path_for(db: &Path, spent: &str) -> PathBuf {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "anaf.db".into());
    db.with_file_name(format!("{name}.rescue-{}.json", &fingerprint(spent)[..16]))
}

/// Where a store on a database server keeps its rescue files: the user's own local folder
/// (`%LOCALAPPDATA%\anaf-bridge`, `$XDG_STATE_HOME/anaf-bridge` or
/// `~/.local/state/anaf-bridge`), under a name made from the connection string (password
/// masked). A pair rescued there is committed by this user's next refresh on any handle.
pub fn local_base(connection: &str) -> PathBuf {
    let dir = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
    }
    .unwrap_or_else(std::env::temp_dir)
    .join("anaf-bridge");
    #[cfg(feature = "odbc")]
    let key = super::odbc::mask_connection_string(connection);
    #[cfg(not(feature = "odbc"))]
    let key = connection.to_string();
    dir.join(format!("odbc-{}.db", &fingerprint(&key)[..16]))
}

/// Writes the pair durably (temporary file, fsync, rename). Returns the file's path.
pub fn save(db: &Path, p: &Profile, spent: &str, t: &NewTokens) -> std::io::Result<PathBuf> {
    let path = path_for(db, spent);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let v = json!({
        "cif": p.cif, "client_id": p.client_id, "environment": p.environment,
        "spent": fingerprint(spent),
        "access_token": t.access_token, "refresh_token": t.refresh_token,
        "token_type": t.token_type, "access_expires_at": t.access_expires_at,
        "refresh_expires_at": t.refresh_expires_at, "cert_serial": t.cert_serial,
    });
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(v.to_string().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable where the platform allows opening a folder.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(path)
}

/// The rescued pair for `spent` and this profile, if there is one and it is whole.
pub fn load(db: &Path, p: &Profile, spent: &str) -> Option<NewTokens> {
    let text = std::fs::read_to_string(path_for(db, spent)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let i = |k: &str| v.get(k).and_then(Value::as_i64);
    if s("spent")? != fingerprint(spent)
        || s("cif")? != p.cif
        || s("client_id")? != p.client_id
        || s("environment")? != p.environment
    {
        return None;
    }
    Some(NewTokens {
        access_token: s("access_token")?,
        refresh_token: s("refresh_token")?,
        token_type: s("token_type")?,
        access_expires_at: i("access_expires_at")?,
        refresh_expires_at: i("refresh_expires_at")?,
        cert_serial: s("cert_serial"),
    })
}

/// Deletes the rescue file of `spent` (after its pair was committed).
pub fn remove(db: &Path, spent: &str) {
    let _ = std::fs::remove_file(path_for(db, spent));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("anaf.db");
        let p = Profile {
            cif: "14399840".into(),
            client_id: "c".into(),
            environment: "test".into(),
        };
        let t = NewTokens {
            access_token: "a2".into(),
            refresh_token: "r2".into(),
            token_type: "Bearer".into(),
            access_expires_at: 10,
            refresh_expires_at: 20,
            cert_serial: None,
        };
        assert_eq!(load(&db, &p, "r1"), None);
        let path = save(&db, &p, "r1", &t).unwrap();
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("anaf.db.rescue-"));
        assert_eq!(load(&db, &p, "r1"), Some(t.clone()));
        assert_eq!(load(&db, &p, "r0"), None, "another spent token");
        let other = Profile {
            environment: "prod".into(),
            ..p.clone()
        };
        assert_eq!(load(&db, &other, "r1"), None, "another profile");
        remove(&db, "r1");
        assert!(!path.exists());
    }
}
