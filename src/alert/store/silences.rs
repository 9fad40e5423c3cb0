//! The state directory's share of silences: the silences themselves, and the notifications
//! they hold back (one row per target, route and channel: the latest notification and what its
//! receiver was told before the hold).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreError};
use crate::alert::notification::Notification;
use crate::alert::silence::{Silence, compile_matchers};
use crate::alert::state::TargetAlert;

/// The tables, created with the store's own.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at_ms INTEGER NOT NULL,
    ends_at_ms INTEGER NOT NULL,
    comment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS held (
    spec TEXT NOT NULL,
    target TEXT NOT NULL,
    route TEXT NOT NULL,
    channel TEXT NOT NULL,
    told_firing INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (spec, target, route, channel)
);
";

/// A notification a silence holds back.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The route (its key) that caused it.
    pub route: String,
    /// Whether the receiver was told "firing" (and not yet "resolved") before the hold began.
    pub told_firing: bool,
    /// The latest notification for this route and channel.
    pub notification: Notification,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Store {
    /// Every stored silence (a row whose matchers no longer compile is skipped with an error
    /// in the log).
    pub fn load_silences(&self) -> Result<Vec<Silence>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, matchers, starts_at_ms, ends_at_ms, comment FROM silences ORDER BY starts_at_ms, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, matchers, starts, ends, comment) = row?;
            let given: BTreeMap<String, String> = serde_json::from_str(&matchers)?;
            match compile_matchers(&given) {
                Ok(compiled) => out.push(Silence {
                    id,
                    given,
                    matchers: compiled,
                    starts_at: time(starts),
                    ends_at: time(ends),
                    comment,
                }),
                Err(e) => {
                    tracing::error!(silence = %id, error = %e, "a stored silence is unusable; ignored")
                }
            }
        }
        Ok(out)
    }

    /// Keep a new silence.
    pub fn save_silence(&self, s: &Silence) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO silences (id, matchers, starts_at_ms, ends_at_ms, comment) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                s.id,
                serde_json::to_string(&s.given)?,
                ms(s.starts_at),
                ms(s.ends_at),
                s.comment
            ],
        )?;
        Ok(())
    }

    /// End silence `id` at `at`.
    pub fn end_silence(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE silences SET ends_at_ms = ?2 WHERE id = ?1",
            params![id, ms(at)],
        )?;
        Ok(())
    }

    /// Forget silences that ended before `cutoff`.
    pub fn prune_silences(&self, cutoff: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM silences WHERE ends_at_ms < ?1",
            params![ms(cutoff)],
        )?;
        Ok(())
    }

    /// [`Store::commit`] plus notifications held back by a silence, atomically. A held row
    /// already there keeps what its receiver was told and takes the newer notification.
    pub fn commit_with_held(
        &self,
        spec: &str,
        target: &str,
        state: &TargetAlert,
        queue: &[Notification],
        held: &[Held],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        super::write_commit(&tx, spec, target, state, queue, now_ms)?;
        for h in held {
            tx.execute(
                "INSERT INTO held (spec, target, route, channel, told_firing, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (spec, target, route, channel) DO UPDATE SET payload = excluded.payload",
                params![
                    spec,
                    target,
                    h.route,
                    h.notification.channel,
                    h.told_firing,
                    serde_json::to_string(&h.notification)?
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every held notification.
    pub fn held(&self) -> Result<Vec<Held>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT route, told_firing, payload FROM held ORDER BY spec, target, route, channel",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (route, told_firing, payload) = row?;
            out.push(Held {
                route,
                told_firing,
                notification: serde_json::from_str(&payload)?,
            });
        }
        Ok(out)
    }

    /// Let held notifications go: remove `released` from the hold and queue `send` (some of
    /// them, or none), atomically.
    pub fn release(
        &self,
        released: &[Held],
        send: &[Notification],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for h in released {
            let n = &h.notification;
            tx.execute(
                "DELETE FROM held WHERE spec = ?1 AND target = ?2 AND route = ?3 AND channel = ?4",
                params![n.spec, n.target, h.route, n.channel],
            )?;
        }
        for n in send {
            tx.execute(
                "INSERT INTO outbox (channel, payload, created_at_ms, next_attempt_ms) VALUES (?1, ?2, ?3, ?3)",
                params![n.channel, serde_json::to_string(n)?, now_ms],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
