//! Rows written before sealing (schema 4 and older, or by the ERP itself).

use super::{load_in, lock_in, profile_of, read_row, Profile, TokenRow, COLUMNS};
use crate::error::Result;
use crate::store::db::{args, Row, Write};
use crate::store::seal::{self, place};
use crate::store::Store;

/// Brings the rows of `anaf_token` written before sealing (schema 4 and older, or by the
/// ERP itself) to what this DLL writes: the tokens sealed, the compared refresh tokens
/// hashed. The tokens themselves do not change (nor the version): a refresh in flight in
/// another process commits as usual. Rows already sealed are only read.
pub(in crate::store) fn seal_old_rows(store: &Store) -> Result<()> {
    let sealer = store.seal.as_ref();
    // One read of every row at open; only a row that needs it is written. A damaged row
    // is left alone here: the call that uses it says what is wrong.
    let rows = store.read(|c| {
        c.query(
            &format!("SELECT cif, client_id, environment, {COLUMNS} FROM anaf_token"),
            &[],
        )
    })?;
    let rows =
        rows.iter().filter_map(
            |r| match (profile_of(r), read_row(&Row(r.0[3..].to_vec()))) {
                (Ok(p), Ok(raw)) => Some((p, raw)),
                (_, Err(e)) | (Err(e), _) => {
                    ::log::warn!(target: "anaf::store", "a damaged token row is not sealed: {e}");
                    None
                }
            },
        );
    for (p, raw) in rows {
        if brought_up_to_date(raw, sealer, &p).is_none() {
            continue;
        }
        store.write(Write::durable(), |c| {
            lock_in(c, &p)?;
            let Some(r) = load_in(c, &p)?.and_then(|r| brought_up_to_date(r, sealer, &p)) else {
                return Ok(());
            };
            c.execute(
                "UPDATE anaf_token SET access_token = ?, refresh_token = ?, refresh_hash = ?,
                     previous_refresh_hash = ?, lease_refresh_hash = ?
                 WHERE cif = ? AND client_id = ? AND environment = ?",
                args![
                    &r.access_token,
                    &r.refresh_token,
                    r.refresh_hash.as_ref(),
                    r.previous_refresh_hash.as_ref(),
                    r.lease_refresh_hash.as_ref(),
                    &p.cif,
                    &p.client_id,
                    &p.environment
                ],
            )
            .map(|_| ())
        })?;
        ::log::info!(target: "anaf::store", "token row of CIF {} sealed", p.cif);
    }
    Ok(())
}

/// A stored row as this DLL would write it, or `None` if it already is (or cannot be
/// improved: a value under a key this configuration does not have stays as it is).
fn brought_up_to_date(
    raw: TokenRow,
    sealer: Option<&seal::Sealer>,
    p: &Profile,
) -> Option<TokenRow> {
    let mut r = raw.clone();
    let hash_kept = |h: &mut Option<String>| {
        if let Some(v) = h.as_mut().filter(|v| !seal::is_hash(v)) {
            *v = seal::hash(v);
        }
    };
    hash_kept(&mut r.previous_refresh_hash);
    hash_kept(&mut r.lease_refresh_hash);
    if r.refresh_hash.is_none() {
        r.refresh_hash = if seal::is_sealed(&r.refresh_token) {
            sealer
                .and_then(|s| s.open(&r.refresh_token, &place("refresh_token", p)).ok())
                .map(|t| seal::hash(&t))
        } else {
            Some(seal::hash(&r.refresh_token))
        };
    }
    if let Some(s) = sealer {
        // Readable, or sealed under a previous key that opens: sealed under this one.
        let reseal = |v: &mut String, column: &str, readable_ok: bool| {
            let at = place(column, p);
            if s.is_current(v) || (readable_ok && !seal::is_sealed(v)) {
                return;
            }
            if let Ok(plain) = s.open(v, &at) {
                *v = s.seal(&plain, &at);
            }
        };
        reseal(&mut r.refresh_token, "refresh_token", false);
        reseal(&mut r.access_token, "access_token", s.share_access_token);
    }
    (r != raw).then_some(r)
}
