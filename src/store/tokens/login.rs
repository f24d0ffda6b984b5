//! A pair from a login or an import, and the row it goes into.

use super::pair::{pair_args, replace_pair_in, Source};
use super::{load_in, lock_in, serial_in, NewTokens, Profile, TokenRow};
use crate::error::Result;
use crate::store::db::{args, Write};
use crate::store::Store;

impl Store {
    /// Stores a pair from a new login or an import in the row of `p`, which then serves its
    /// own CIF: replaces the tokens, counts a new version, clears any refusal and lease (a
    /// refresh still in flight elsewhere will find its refresh token gone and discard its
    /// answer). The replaced refresh token's hash is kept in `previous_refresh_hash`.
    pub fn put(&self, p: &Profile, t: &NewTokens, now: i64) -> Result<TokenRow> {
        self.put_into(p, p, &[], t, now)
    }

    /// Stores the pair of a login made for the company `own`, in the row of the login's
    /// certificate: the row that already holds a token of that serial (so that one login
    /// and one refresh serve every company the certificate acts for), else `own`'s. The
    /// companies the certificate's older rows served move to it. Answers the row's profile.
    pub fn put_login(&self, own: &Profile, t: &NewTokens, now: i64) -> Result<(Profile, TokenRow)> {
        let (target, others) = match t.cert_serial.as_deref() {
            None => (own.clone(), vec![]),
            Some(serial) => {
                let rows = self.read(|c| {
                    crate::store::served::rows_of_serial_in(
                        c,
                        &own.client_id,
                        &own.environment,
                        serial,
                    )
                })?;
                let serving = self.serving(own)?.map(|s| s.token_cif);
                let chosen = if rows.contains(&own.cif) || rows.is_empty() {
                    own.cif.clone()
                } else {
                    serving
                        .filter(|c| rows.contains(c))
                        .unwrap_or_else(|| rows[0].clone())
                };
                let others = rows.into_iter().filter(|c| *c != chosen).collect();
                let target = Profile {
                    cif: chosen,
                    ..own.clone()
                };
                (target, others)
            }
        };
        let row = self.put_into(&target, own, &others, t, now)?;
        Ok((target, row))
    }

    /// The write of [`Store::put`] and [`Store::put_login`]: the pair into `p`'s row, `own`
    /// served by it, the companies of the rows `others` moved to it.
    fn put_into(
        &self,
        p: &Profile,
        own: &Profile,
        others: &[String],
        t: &NewTokens,
        now: i64,
    ) -> Result<TokenRow> {
        let sealed = self.sealed(p, t)?;
        let raw = self.write(Write::durable(), |c| {
            lock_in(c, p)?;
            // Only the serial: a login is also how a damaged row is written over.
            let before = serial_in(c, p)?;
            let updated = replace_pair_in(c, p, &sealed, now, Source::Login)?;
            if updated == 0 {
                c.execute(
                    "INSERT INTO anaf_token (access_token, refresh_token, refresh_hash, token_type,
                         access_expires_at, refresh_expires_at, cert_serial, obtained_at,
                         cif, client_id, environment, refreshed_at, version)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 1)",
                    &pair_args(p, &sealed, now),
                )?;
            }
            let serial = t.cert_serial.as_deref();
            let same_certificate = match (before.as_ref().and_then(|r| r.as_deref()), serial) {
                (Some(a), Some(b)) => crate::config::same_serial(a, b),
                (None, None) => true,
                _ => false,
            };
            if before.is_some() && !same_certificate {
                // Another certificate (a renewed one, say): the companies this row served
                // stay assigned, but ANAF has yet to accept a call for them with it.
                c.execute(
                    "UPDATE anaf_token_cif SET accepted_at = NULL, cert_serial = ?
                      WHERE token_cif = ? AND client_id = ? AND environment = ?",
                    args![serial, &p.cif, &p.client_id, &p.environment],
                )?;
            }
            for other in others {
                c.execute(
                    "UPDATE anaf_token_cif SET token_cif = ?
                      WHERE token_cif = ? AND client_id = ? AND environment = ?",
                    args![&p.cif, other, &p.client_id, &p.environment],
                )?;
            }
            crate::store::served::serve_in(
                c,
                own,
                &p.cif,
                serial,
                crate::store::served::By::Login,
                now,
            )?;
            Ok(load_in(c, p)?.expect("row just written"))
        })?;
        // A pair rescued from the token this login replaced is obsolete now.
        crate::store::rescue::settle_orphans(self, now);
        self.opened(p, raw)
    }
}
