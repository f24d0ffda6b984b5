//! The pending browser links (`anaf_link`), one row per profile, so that a poll from
//! another handle or another process (the ERP's token form reopened) can finish a link.
//! The protocol (one poller at a time, what each answer of the relay does) is
//! `login::link`'s; this module only keeps the rows. The retrieval secret and the private
//! key are sealed in the table (`seal`), like the token pair.

use super::db::{args, Conn, DbResult, Row, Write};
use super::seal::{self, place};
use super::{Profile, Store};
use crate::error::Result;
use zeroize::Zeroizing;

/// A pending link as kept in `anaf_link`.
#[derive(Clone)]
pub struct LinkRow {
    pub link_id: String,
    pub url: String,
    pub relay_url: String,
    /// The secret that retrieves the sealed answer from the relay.
    pub secret: Zeroizing<String>,
    /// The X25519 private key the answer is sealed to (base64url).
    pub private_key: Zeroizing<String>,
    /// Unix seconds (the relay's clock).
    pub expires_at: i64,
    /// An answer fetched from the relay but not yet stored as the token.
    pub sealed_answer: Option<String>,
    pub last_reason: Option<String>,
    pub last_detail: Option<String>,
    pub last_attempt: Option<i64>,
}

/// The rows of `anaf_link`: `store.links()`.
pub struct Links<'s>(&'s Store);

impl Store {
    pub fn links(&self) -> Links<'_> {
        Links(self)
    }
}

const WHERE_LINK: &str = "WHERE cif = ? AND client_id = ? AND environment = ? AND link_id = ?";

fn read(r: &Row) -> DbResult<LinkRow> {
    Ok(LinkRow {
        link_id: r.text(0)?,
        url: r.text(1)?,
        relay_url: r.text(2)?,
        secret: Zeroizing::new(r.text(3)?),
        private_key: Zeroizing::new(r.text(4)?),
        expires_at: r.int(5)?,
        sealed_answer: r.opt_text(6)?,
        last_reason: r.opt_text(7)?,
        last_detail: r.opt_text(8)?,
        last_attempt: r.opt_int(9)?,
    })
}

fn load_in(c: &mut dyn Conn, p: &Profile) -> DbResult<Option<LinkRow>> {
    c.query_row(
        "SELECT link_id, url, relay_url, retrieval_secret, private_key, expires_at,
                sealed_answer, last_reason, last_detail, last_attempt
         FROM anaf_link WHERE cif = ? AND client_id = ? AND environment = ?",
        args![&p.cif, &p.client_id, &p.environment],
    )?
    .as_ref()
    .map(read)
    .transpose()
}

/// Seals the secrets of links made before sealing (a link lives 5 hours, so at most the
/// one pending while the DLL was upgraded).
pub(super) fn seal_old_rows(store: &Store) -> Result<()> {
    let Some(s) = store.seal.as_ref() else {
        return Ok(());
    };
    let profiles = store.read(|c| {
        c.query(
            "SELECT cif, client_id, environment FROM anaf_link
              WHERE retrieval_secret NOT LIKE 'anafseal1:%' OR private_key NOT LIKE 'anafseal1:%'",
            &[],
        )?
        .iter()
        .map(super::tokens::profile_of)
        .collect::<DbResult<Vec<_>>>()
    })?;
    for p in profiles {
        store.write(Write::durable(), |c| {
            let Some(r) = load_in(c, &p)? else {
                return Ok(());
            };
            let sealed = |v: &str, column: &str| {
                if seal::is_sealed(v) {
                    v.to_string()
                } else {
                    s.seal(v, &place(column, &p))
                }
            };
            c.execute(
                &format!("UPDATE anaf_link SET retrieval_secret = ?, private_key = ? {WHERE_LINK}"),
                args![
                    &sealed(&r.secret, "retrieval_secret"),
                    &sealed(&r.private_key, "private_key"),
                    &p.cif,
                    &p.client_id,
                    &p.environment,
                    &r.link_id
                ],
            )
            .map(|_| ())
        })?;
    }
    Ok(())
}

impl Links<'_> {
    /// The profile's pending link, if any.
    pub fn load(&self, p: &Profile) -> Result<Option<LinkRow>> {
        let raw = self.0.read(|c| load_in(c, p))?;
        let Some(mut row) = raw else { return Ok(None) };
        row.secret = self
            .0
            .open_value(&row.secret, &place("retrieval_secret", p))?;
        row.private_key = self
            .0
            .open_value(&row.private_key, &place("private_key", p))?;
        Ok(Some(row))
    }

    /// Keeps a new link as the profile's pending one, replacing any earlier.
    pub fn put(&self, p: &Profile, link: &LinkRow, created_at: i64) -> Result<()> {
        let s = self.0.sealer()?;
        let secret = s.seal(&link.secret, &place("retrieval_secret", p));
        let private_key = s.seal(&link.private_key, &place("private_key", p));
        self.0.write(Write::durable(), |c| {
            c.execute(
                "DELETE FROM anaf_link WHERE cif = ? AND client_id = ? AND environment = ?",
                args![&p.cif, &p.client_id, &p.environment],
            )?;
            c.execute(
                "INSERT INTO anaf_link
                   (cif, client_id, environment, link_id, url, relay_url, retrieval_secret,
                    private_key, created_at, expires_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                args![
                    &p.cif,
                    &p.client_id,
                    &p.environment,
                    &link.link_id,
                    &link.url,
                    &link.relay_url,
                    &secret,
                    &private_key,
                    created_at,
                    link.expires_at
                ],
            )
            .map(|_| ())
        })
    }

    /// Drops the link (finished, expired, cancelled, or unknown to the relay).
    pub fn delete(&self, p: &Profile, link_id: &str) -> Result<()> {
        self.update(p, link_id, "DELETE FROM anaf_link", &[])
            .map(|_| ())
    }

    /// Takes the link for one poll until `until` (Unix seconds), unless another poller
    /// holds it past `now`. `true` when taken.
    pub fn claim(&self, p: &Profile, link_id: &str, until: i64, now: i64) -> Result<bool> {
        self.0.write(Write::durable(), |c| {
            c.execute(
                &format!(
                    "UPDATE anaf_link SET claimed_until = ? {WHERE_LINK}
                       AND (claimed_until IS NULL OR claimed_until < ?)"
                ),
                args![until, &p.cif, &p.client_id, &p.environment, link_id, now],
            )
            .map(|n| n > 0)
        })
    }

    /// Gives the poll claim back.
    pub fn release(&self, p: &Profile, link_id: &str) -> Result<()> {
        self.set(p, link_id, "claimed_until = NULL", &[])
    }

    /// The relay said "pending" again: forget the last failure.
    pub fn clear_failure(&self, p: &Profile, link_id: &str) -> Result<()> {
        self.set(p, link_id, "last_reason = NULL, last_detail = NULL", &[])
    }

    /// The relay's last failed attempt (the accountant may try again until the link expires).
    pub fn set_failure(
        &self,
        p: &Profile,
        link_id: &str,
        reason: &str,
        detail: &str,
        attempt: i64,
    ) -> Result<()> {
        self.set(
            p,
            link_id,
            "last_reason = ?, last_detail = ?, last_attempt = ?",
            args![reason, detail, attempt],
        )
    }

    /// The answer, fetched and not yet stored as the token (the relay gives it only once).
    pub fn set_sealed_answer(&self, p: &Profile, link_id: &str, sealed: &str) -> Result<()> {
        self.set(p, link_id, "sealed_answer = ?", args![sealed])
    }

    fn set(
        &self,
        p: &Profile,
        link_id: &str,
        assignments: &str,
        values: &[super::db::Arg<'_>],
    ) -> Result<()> {
        self.update(
            p,
            link_id,
            &format!("UPDATE anaf_link SET {assignments}"),
            values,
        )
        .map(|_| ())
    }

    /// Runs `head` (an UPDATE … SET or a DELETE) on the row of this profile and link;
    /// `values` bind the placeholders of `head`, before the key.
    fn update(
        &self,
        p: &Profile,
        link_id: &str,
        head: &str,
        values: &[super::db::Arg<'_>],
    ) -> Result<u64> {
        let sql = format!("{head} {WHERE_LINK}");
        let mut all = values.to_vec();
        all.extend_from_slice(args![&p.cif, &p.client_id, &p.environment, link_id]);
        self.0
            .write(Write::durable(), |c: &mut dyn Conn| c.execute(&sql, &all))
    }
}
