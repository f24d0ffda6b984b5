//! The rescue file: where a freshly rotated token pair waits when the database cannot
//! take it at once (locked by another program), so that a crash before the commit does not
//! lose it. ANAF has already spent the old refresh token at that point; the new pair
//! exists nowhere else.
//!
//! `<database>.rescue-<first 16 hex of SHA-256(spent refresh token)>.json`, beside the
//! database, the pair sealed like the table's (`seal`), created owner-only where the
//! platform allows, written to a temporary name, flushed to disk and renamed. Whoever takes over the refresh lease of
//! that spent token looks for it before calling ANAF, commits it, and deletes it.

use super::seal;
use super::tokens::{NewTokens, Profile};
use super::Store;
use crate::error::{Error, Result};
use crate::status::ANAF_ERR_FILE;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where the pair obtained by spending `spent` is rescued.
pub fn path_for(db: &Path, spent: &str) -> PathBuf {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "anaf.db".into());
    db.with_file_name(format!("{name}.rescue-{}.json", &seal::hash(spent)[..16]))
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
    dir.join(format!("odbc-{}.db", &seal::hash(&key)[..16]))
}

/// Where the sealed pair is bound: the profile and the spent token, so a file renamed or
/// edited to stand for another row does not open.
fn place_of(p: &Profile, spent_hash: &str) -> String {
    format!("{}\u{0}{spent_hash}", seal::place("rescue", p))
}

/// Creates a file only its owner may read where the platform has such modes (Unix); on
/// Windows it takes the folder's permissions, like the database beside it.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Writes the pair durably, sealed (temporary file, fsync, rename). Returns the file's path.
pub fn save(store: &Store, p: &Profile, spent: &str, t: &NewTokens) -> Result<PathBuf> {
    let sealer = store.sealer()?;
    let io = |e: std::io::Error| {
        Error::with(
            ANAF_ERR_FILE,
            format!("Fișierul de salvare a tokenului nu a putut fi scris: {e}"),
            format!("The token's rescue file could not be written: {e}"),
        )
    };
    let path = path_for(&store.path, spent);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let spent_hash = seal::hash(spent);
    let pair = json!({
        "access_token": t.access_token, "refresh_token": t.refresh_token,
        "token_type": t.token_type, "access_expires_at": t.access_expires_at,
        "refresh_expires_at": t.refresh_expires_at, "cert_serial": t.cert_serial,
    });
    let pair = Zeroizing::new(pair.to_string());
    let v = json!({
        "format": 2,
        "cif": p.cif, "client_id": p.client_id, "environment": p.environment,
        "spent": spent_hash,
        "pair": sealer.seal(&pair, &place_of(p, &spent_hash)),
    });
    {
        let mut f = create_private(&tmp).map_err(io)?;
        f.write_all(v.to_string().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable where the platform allows opening a folder.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(path)
}

/// A rescue file as read: whose it is, and the pair (`None` when it does not open).
struct File {
    profile: Profile,
    spent_hash: String,
    pair: Option<NewTokens>,
}

fn read(store: &Store, path: &Path) -> Option<File> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let profile = Profile {
        cif: s(&v, "cif")?,
        client_id: s(&v, "client_id")?,
        environment: s(&v, "environment")?,
    };
    let spent_hash = s(&v, "spent")?;
    let pair = match v.get("format").and_then(Value::as_i64) {
        // Written by this DLL: sealed.
        Some(2) => {
            let sealed = s(&v, "pair")?;
            match store.open_value(&sealed, &place_of(&profile, &spent_hash)) {
                Ok(text) => serde_json::from_str::<Value>(&text).ok(),
                Err(e) => {
                    ::log::warn!(target: "anaf::store", "rescue file {} does not open: {e:?}", path.display());
                    None
                }
            }
        }
        // Written by a DLL before sealing: the pair is in the file as it is.
        None => Some(v.clone()),
        Some(_) => None,
    };
    let pair = pair.and_then(|v| {
        Some(NewTokens {
            access_token: s(&v, "access_token")?,
            refresh_token: s(&v, "refresh_token")?,
            token_type: s(&v, "token_type")?,
            access_expires_at: v.get("access_expires_at")?.as_i64()?,
            refresh_expires_at: v.get("refresh_expires_at")?.as_i64()?,
            cert_serial: s(&v, "cert_serial"),
        })
    });
    Some(File {
        profile,
        spent_hash,
        pair,
    })
}

/// The rescued pair for `spent` and this profile, if there is one, whole and openable.
pub fn load(store: &Store, p: &Profile, spent: &str) -> Option<NewTokens> {
    let f = read(store, &path_for(&store.path, spent))?;
    (f.spent_hash == seal::hash(spent) && &f.profile == p)
        .then_some(f.pair)
        .flatten()
}

/// Deletes the rescue file of `spent` (after its pair was committed).
pub fn remove(db: &Path, spent: &str) {
    let _ = std::fs::remove_file(path_for(db, spent));
}

/// Settles the rescue files a crash or a new login left beside the store: a pair whose
/// spent token the row still holds is committed (it is the newest), any other is obsolete
/// (committed already, replaced by a login, or its row deleted) and removed. A file this
/// configuration cannot open is left for one that can. Returns how many were settled.
pub fn settle_orphans(store: &Store, now: i64) -> usize {
    let (Some(dir), Some(name)) = (store.path.parent(), store.path.file_name()) else {
        return 0;
    };
    let head = format!("{}.rescue-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return 0;
    };
    let mut settled = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(&head) || !file_name.ends_with(".json") {
            continue;
        }
        let path = entry.path();
        let Some(f) = read(store, &path) else {
            continue;
        };
        let Some(pair) = f.pair else { continue };
        match store.commit_rescued(&f.profile, &f.spent_hash, &pair, now) {
            Ok(committed) => {
                ::log::warn!(
                    target: "anaf::store",
                    "rescue file {} {}",
                    path.display(),
                    if committed { "committed" } else { "was obsolete; removed" }
                );
                let _ = std::fs::remove_file(&path);
                settled += 1;
            }
            Err(e) => {
                ::log::warn!(target: "anaf::store", "rescue file {} kept: {e:?}", path.display())
            }
        }
    }
    settled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tokens::tests::keyed;

    fn p() -> Profile {
        Profile {
            cif: "14399840".into(),
            client_id: "c".into(),
            environment: "test".into(),
        }
    }

    fn pair(a: &str, r: &str) -> NewTokens {
        NewTokens {
            access_token: a.into(),
            refresh_token: r.into(),
            token_type: "Bearer".into(),
            access_expires_at: 2_000_000_000,
            refresh_expires_at: 2_100_000_000,
            cert_serial: None,
        }
    }

    fn rescue_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".rescue-"))
            .collect()
    }

    #[test]
    fn round_trip_sealed_and_private() {
        let d = tempfile::tempdir().unwrap();
        let s = keyed(Store::open(&d.path().join("anaf.db")).unwrap());
        let t = pair("a2-visible", "r2-visible");
        assert_eq!(load(&s, &p(), "r1"), None);
        let path = save(&s, &p(), "r1", &t).unwrap();
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("anaf.db.rescue-"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("visible"), "the pair is sealed: {text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
        }
        assert_eq!(load(&s, &p(), "r1"), Some(t.clone()));
        assert_eq!(load(&s, &p(), "r0"), None, "another spent token");
        let other = Profile {
            environment: "prod".into(),
            ..p()
        };
        assert_eq!(load(&s, &other, "r1"), None, "another profile");
        let stranger = Store::open(&d.path().join("anaf.db"))
            .unwrap()
            .sealed_with(Some(seal::Sealer::derive("another", "client_secret")))
            .unwrap();
        assert_eq!(load(&stranger, &p(), "r1"), None, "another key");
        // A file edited to stand for another profile does not open.
        let moved = text.replace("\"test\"", "\"prod\"");
        std::fs::write(path_for(&s.path, "r1"), moved).unwrap();
        assert_eq!(load(&s, &other, "r1"), None);
        remove(&s.path, "r1");
        assert!(!path.exists());
    }

    #[test]
    fn a_file_written_before_sealing_still_commits() {
        let d = tempfile::tempdir().unwrap();
        let s = keyed(Store::open(&d.path().join("anaf.db")).unwrap());
        let v = json!({
            "cif": "14399840", "client_id": "c", "environment": "test",
            "spent": seal::hash("r1"), "access_token": "a2", "refresh_token": "r2",
            "token_type": "Bearer", "access_expires_at": 10, "refresh_expires_at": 20,
            "cert_serial": null,
        });
        std::fs::write(path_for(&s.path, "r1"), v.to_string()).unwrap();
        assert_eq!(load(&s, &p(), "r1").unwrap().refresh_token, "r2");
    }

    #[test]
    fn orphans_are_committed_or_removed() {
        let d = tempfile::tempdir().unwrap();
        let s = keyed(Store::open(&d.path().join("anaf.db")).unwrap());
        s.put(&p(), &pair("a1", "r1"), 1).unwrap();
        // A crash after ANAF rotated r1, before the commit: the row still holds r1.
        save(&s, &p(), "r1", &pair("a2", "r2")).unwrap();
        // A stale file of a token spent long ago.
        save(&s, &p(), "r0", &pair("a1", "r1")).unwrap();
        assert_eq!(rescue_files(d.path()).len(), 2);
        assert_eq!(settle_orphans(&s, 5), 2);
        assert!(rescue_files(d.path()).is_empty());
        assert_eq!(s.load(&p()).unwrap().unwrap().refresh_token, "r2");

        // A new login replaces the row: the pair rescued from its token is obsolete.
        save(&s, &p(), "r2", &pair("a3", "r3")).unwrap();
        s.put(&p(), &pair("a9", "r9"), 6).unwrap();
        assert!(rescue_files(d.path()).is_empty(), "removed by the login");
        assert_eq!(s.load(&p()).unwrap().unwrap().refresh_token, "r9");

        // Opening the store settles what a crash left.
        save(&s, &p(), "r9", &pair("a10", "r10")).unwrap();
        drop(s);
        let s = keyed(Store::open(&d.path().join("anaf.db")).unwrap());
        assert!(rescue_files(d.path()).is_empty());
        assert_eq!(s.load(&p()).unwrap().unwrap().refresh_token, "r10");
    }
}
