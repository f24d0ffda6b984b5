//! Step 3 of the refresh: the pair ANAF rotated exists only in memory until the table
//! has it, so it is written to a rescue file first and the commit is retried while the
//! database is locked.

use super::*;

/// How long a failed commit of a freshly rotated pair is retried (the pair exists nowhere else).
const COMMIT_PATIENCE: Duration = Duration::from_secs(300);

impl Session {
    /// Step 3: the new pair exists only in memory now, so the commit is retried while the
    /// database is locked (bounded by `COMMIT_PATIENCE`).
    pub(super) fn commit(
        &self,
        p: &Profile,
        owner: &str,
        spent: &str,
        answer: TokenAnswer,
    ) -> Result<TokenRow> {
        let refresh = answer.refresh_token.as_deref().unwrap_or(spent);
        let t = self.new_tokens(
            &answer.access_token,
            refresh,
            answer.expires_in,
            &answer.token_type,
        );
        self.commit_pair(p, owner, spent, &t)
    }

    /// Commits a pair obtained by spending `spent`. The pair goes to the rescue file first,
    /// flushed, before any commit is tried: from the moment ANAF's answer is in, a crash
    /// loses nothing, even where a server would make the commit wait on another program's
    /// lock without a time limit (Oracle, Firebird). The commit removes the file.
    pub(super) fn commit_pair(
        &self,
        p: &Profile,
        owner: &str,
        spent: &str,
        t: &NewTokens,
    ) -> Result<TokenRow> {
        let db = self.store.path.clone();
        let start = Instant::now();
        let mut rescued = false;
        let mut busy = Duration::from_millis(300);
        let mut rescue = |why: &Error| {
            if !rescued {
                match rescue::save(&self.store, p, spent, t) {
                    Ok(path) => ::log::warn!(
                        target: "anaf::token",
                        "refreshed token kept in {} until the database takes it ({why:?})",
                        path.display()
                    ),
                    Err(e) => ::log::error!(target: "anaf::token", "rescue file not written: {e}"),
                }
                rescued = true;
            }
        };
        rescue(&Error::verbatim(ANAF_OK, "before the first commit"));
        loop {
            match self.store.finish_within(busy, p, owner, spent, t, now()) {
                Ok(fin) => {
                    rescue::remove(&db, spent);
                    return match fin {
                        Finish::Committed(row) => {
                            ::log::info!(target: "anaf::token", "token refreshed (version {})", row.version);
                            Ok(row)
                        }
                        Finish::Superseded(row) => {
                            ::log::warn!(target: "anaf::token", "a newer token was stored during the refresh; keeping it");
                            Ok(row)
                        }
                        Finish::Deleted => Err(no_token()),
                    };
                }
                Err(e)
                    if e.status == ANAF_ERR_DATABASE_LOCKED
                        && start.elapsed() < COMMIT_PATIENCE =>
                {
                    rescue(&e);
                    busy = Duration::from_secs(2);
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    rescue(&e);
                    ::log::error!(target: "anaf::token", "the refreshed token could not be saved: {e:?}");
                    return Err(e);
                }
            }
        }
    }
}
