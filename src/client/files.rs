//! The files a call reads and writes: documents read with a clear error, answers written
//! whole or not at all, and the SHA-256 that names a document in the upload journal.

use crate::error::{Error, Result};
use crate::status::*;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reads a document from disk with a clear error (missing file, folder, permissions).
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let path = path.display();
        Error::with(
            ANAF_ERR_FILE,
            format!("„{path}”: {e}"),
            format!("\"{path}\": {e}"),
        )
    })
}

/// Writes a file whole or not at all (a temporary beside it, then a rename).
pub fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        let path = path.display();
        Error::with(
            ANAF_ERR_FILE,
            format!("„{path}”: {e}"),
            format!("\"{path}\": {e}"),
        )
    })
}

/// A temporary name beside `path`, of this process only (written, then renamed over it).
pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{}.part", std::process::id()));
    path.with_file_name(name)
}

/// The hex SHA-256 of a document (the journal's key of an upload).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
