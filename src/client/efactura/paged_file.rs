//! The paginated list written to a file as it comes, for ranges too long to hold: the
//! JSON `anaf_list_messages_paged` gives, `{"mesaje":[…],"count",…}`, one message at a time.

use super::{EFactura, Paged};
use crate::client::files::tmp_path;
use crate::client::input::Filter;
use crate::error::{Error, Result};
use crate::status::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

impl EFactura<'_> {
    /// Streams the pages into `path` (through a temporary file renamed at the end, so a
    /// failed listing never leaves a half file under the final name).
    pub fn list_paged_to_file(
        &self,
        start_ms: i64,
        end_ms: i64,
        filtru: Option<Filter>,
        path: &Path,
    ) -> Result<Paged> {
        let file_err = |e: std::io::Error| {
            let path = path.display();
            Error::with(
                ANAF_ERR_FILE,
                format!("„{path}”: {e}"),
                format!("\"{path}\": {e}"),
            )
        };
        let tmp = tmp_path(path);
        let result = (|| {
            let f = std::fs::File::create(&tmp).map_err(file_err)?;
            let mut w = std::io::BufWriter::new(f);
            w.write_all(b"{\"mesaje\":[").map_err(file_err)?;
            let mut first = true;
            let p = self.list_paged(start_ms, end_ms, filtru, |m| {
                if !first {
                    w.write_all(b",").map_err(file_err)?;
                }
                first = false;
                serde_json::to_writer(&mut w, &m).map_err(|e| file_err(e.into()))?;
                Ok(())
            })?;
            let mut summary = serde_json::to_value(&p).unwrap_or(Value::Null);
            let tail = summary
                .as_object_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            w.write_all(b"]").map_err(file_err)?;
            for (k, v) in tail {
                write!(w, ",{}:{}", Value::String(k), v).map_err(file_err)?;
            }
            w.write_all(b"}").map_err(file_err)?;
            let f = w.into_inner().map_err(|e| file_err(e.into_error()))?;
            f.sync_all().map_err(file_err)?;
            drop(f);
            std::fs::rename(&tmp, path).map_err(file_err)?;
            Ok(p)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}
