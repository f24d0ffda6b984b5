//! ANAF's download ZIPs, opened and inflated within bounds. A `descarcare` ZIP holds the
//! invoice XML (at most 10 MB: ANAF's upload limit) and ANAF's signature; a ZIP that
//! inflates far beyond that (a ZIP bomb, from a proxy or a server that is not ANAF's) is
//! refused before it fills the ERP's memory or disk. The sizes a ZIP declares are not
//! trusted: what is inflated is counted.

use super::answer::{self, Reply};
use crate::error::{Error, Result};
use crate::status::ANAF_ERR_BAD_RESPONSE;
use std::io::{Cursor, Read};
use zip::read::ZipFile;
use zip::ZipArchive;

/// The most one entry may inflate to: five times the largest invoice ANAF accepts.
pub(crate) const MAX_ENTRY: u64 = 50 << 20;
/// The most all the entries read from one ZIP may inflate to together.
pub(crate) const MAX_TOTAL: u64 = 100 << 20;
/// ANAF's ZIPs hold two entries; a ZIP with many more is not one of them.
pub(crate) const MAX_ENTRIES: usize = 32;

/// A ZIP from an answer, with what is left of its inflation budget.
pub struct Archive<'a> {
    pub zip: ZipArchive<Cursor<&'a [u8]>>,
    reply: &'a Reply,
    max_entry: u64,
    left: u64,
}

impl<'a> Archive<'a> {
    /// Opens the ZIP of `reply`'s body (its central directory only; nothing is inflated).
    pub fn open(reply: &'a Reply) -> Result<Archive<'a>> {
        Archive::bounded(reply, MAX_ENTRY, MAX_TOTAL)
    }

    fn bounded(reply: &'a Reply, max_entry: u64, max_total: u64) -> Result<Archive<'a>> {
        let zip = ZipArchive::new(Cursor::new(reply.body.as_slice()))
            .map_err(|e| answer::bad_response("ZIP", reply, &e.to_string()))?;
        if zip.len() > MAX_ENTRIES {
            let files = zip.len();
            return Err(Error::with(
                ANAF_ERR_BAD_RESPONSE,
                format!(
                    "Arhiva ZIP primită are {files} fișiere (cele de la ANAF au două); nu a fost dezarhivată."
                ),
                format!(
                    "The ZIP received holds {files} files (ANAF's hold two); it was not unpacked."
                ),
            ));
        }
        Ok(Archive {
            zip,
            reply,
            max_entry,
            left: max_total,
        })
    }

    /// The entry at `i`, not yet inflated.
    pub fn entry(&mut self, i: usize) -> Result<ZipFile<'_, Cursor<&'a [u8]>>> {
        let reply = self.reply;
        self.zip
            .by_index(i)
            .map_err(|e| answer::bad_response("ZIP", reply, &e.to_string()))
    }

    /// Inflates the entry at `i`, refusing it past [`MAX_ENTRY`] or past what is left of
    /// [`MAX_TOTAL`].
    pub fn read(&mut self, i: usize) -> Result<Vec<u8>> {
        let reply = self.reply;
        let limit = self.max_entry.min(self.left);
        let mut f = self.entry(i)?;
        let name = f.name().to_string();
        let mut data = Vec::new();
        // One byte past the limit tells "exactly at the limit" from "more".
        (&mut f)
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| answer::bad_response("ZIP", reply, &e.to_string()))?;
        drop(f);
        if data.len() as u64 > limit {
            return Err(too_large(&name, limit));
        }
        self.left -= data.len() as u64;
        Ok(data)
    }
}

fn too_large(name: &str, limit: u64) -> Error {
    let mb = limit.div_ceil(1 << 20);
    let name: String = name.chars().take(100).collect();
    Error::with(
        ANAF_ERR_BAD_RESPONSE,
        format!("Fișierul „{name}” din arhiva ZIP primită depășește {mb} MB dezarhivat (o factură are cel mult 10 MB); nu a fost extras."),
        format!("The file \"{name}\" in the ZIP received exceeds {mb} MB unpacked (an invoice is at most 10 MB); it was not extracted."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Lang;
    use std::io::Write;

    fn zip_of(entries: &[(&str, usize)]) -> Reply {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let block = vec![b'0'; 1 << 20];
        for (name, size) in entries {
            w.start_file(*name, opts).unwrap();
            let mut left = *size;
            while left > 0 {
                let n = left.min(block.len());
                w.write_all(&block[..n]).unwrap();
                left -= n;
            }
        }
        Reply {
            status: 200,
            content_type: "application/zip".into(),
            retry_after: None,
            body: w.finish().unwrap().into_inner(),
        }
    }

    #[test]
    fn a_real_sized_invoice_is_read() {
        let r = zip_of(&[("1.xml", 10 << 20), ("semnatura_1.xml", 4096)]);
        let mut a = Archive::open(&r).unwrap();
        assert_eq!(a.read(0).unwrap().len(), 10 << 20);
        assert_eq!(a.read(1).unwrap().len(), 4096);
    }

    // The bounds below are the real ones scaled down (MiB for tens of MiB), to stay quick;
    // tests/efactura_faults.rs sends a ZIP bomb past the real ones through the C API.
    const MIB: u64 = 1 << 20;

    #[test]
    fn an_entry_that_inflates_past_the_limit_is_refused() {
        let r = zip_of(&[("1.xml", (MIB + 1) as usize)]);
        let mut a = Archive::bounded(&r, MIB, 2 * MIB).unwrap();
        let e = a.read(0).unwrap_err();
        assert_eq!(e.status, ANAF_ERR_BAD_RESPONSE);
        assert!(e.message(Lang::En).contains("\"1.xml\""), "{e:?}");
        assert!(e.message(Lang::En).contains("exceeds 1 MB"), "{e:?}");
        assert!(e.message(Lang::Ro).contains("depășește 1 MB"), "{e:?}");
        // Exactly at the limit is still read.
        let r = zip_of(&[("1.xml", MIB as usize)]);
        let mut a = Archive::bounded(&r, MIB, 2 * MIB).unwrap();
        assert_eq!(a.read(0).unwrap().len() as u64, MIB);
    }

    #[test]
    fn entries_together_stay_within_the_total() {
        let size = (MIB * 4 / 5) as usize;
        let r = zip_of(&[("a.xml", size), ("b.xml", size), ("c.xml", size)]);
        let mut a = Archive::bounded(&r, MIB, 2 * MIB).unwrap();
        a.read(0).unwrap();
        a.read(1).unwrap();
        let e = a.read(2).unwrap_err();
        assert!(e.message(Lang::En).contains("\"c.xml\" "), "{e:?}");
    }

    #[test]
    fn a_zip_with_many_entries_is_refused() {
        let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("{i}.xml")).collect();
        let entries: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 1)).collect();
        let e = Archive::open(&zip_of(&entries)).err().unwrap();
        assert_eq!(e.status, ANAF_ERR_BAD_RESPONSE);
        assert!(e.message(Lang::En).contains("33 files"), "{e:?}");
    }
}
