//! The state directory: alert states and the notification outbox in SQLite.
//!
//! A notification is written to the outbox in the same transaction as the state change that
//! caused it, and removed only after its receiver accepted it, so neither a crash nor `kill -9`
//! loses one or re-sends a firing alert as new.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::notification::Notification;
use super::state::TargetAlert;

mod silences;
pub use silences::Held;

/// The database file inside the state directory.
pub const DB_FILE: &str = "dcrawl.db";

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating the directory failed.
    #[error("cannot create state directory {path}: {source}")]
    Dir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored row could not be read back.
    #[error("state database holds an unreadable row: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// One undelivered notification.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// What to deliver.
    pub notification: Notification,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was queued (Unix ms).
    pub created_at_ms: i64,
}

/// The SQLite-backed store. `std::sync::Mutex` is right here: every operation is short and
/// synchronous, and callers run it off the async workers (`spawn_blocking`).
pub struct Store {
    /// The one connection.
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS alert_state (
    spec TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (spec, target)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_ms);
";

impl Store {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(dir.join(DB_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(silences::SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// A throw-away store (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(silences::SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every stored target alert state.
    pub fn load_states(&self) -> Result<HashMap<(String, String), TargetAlert>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT spec, target, state FROM alert_state")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (spec, target, state) = row?;
            out.insert((spec, target), serde_json::from_str(&state)?);
        }
        Ok(out)
    }

    /// Save a target's state and queue its notifications, atomically.
    pub fn commit(
        &self,
        spec: &str,
        target: &str,
        state: &TargetAlert,
        queue: &[Notification],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        write_commit(&tx, spec, target, state, queue, now_ms)?;
        tx.commit()?;
        Ok(())
    }

    /// Forget a target's state (it was removed from the configuration).
    pub fn remove_state(&self, spec: &str, target: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM alert_state WHERE spec = ?1 AND target = ?2",
            params![spec, target],
        )?;
        Ok(())
    }

    /// Notifications due at `now_ms`, oldest first, at most `limit`.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, payload, attempts, created_at_ms FROM outbox WHERE next_attempt_ms <= ?1 ORDER BY id LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![now_ms, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, payload, attempts, created_at_ms) = row?;
            out.push(OutboxRow {
                id,
                notification: serde_json::from_str(&payload)?,
                attempts,
                created_at_ms,
            });
        }
        Ok(out)
    }

    /// Take the notifications due at `now_ms` (oldest first, at most `limit`) for delivery:
    /// each is leased until `lease_until_ms`, so it is not taken again while in flight; if the
    /// process dies mid-delivery it becomes due again when the lease runs out.
    pub fn claim_due(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = self.due(now_ms, limit)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for row in &rows {
            tx.execute(
                "UPDATE outbox SET next_attempt_ms = ?2 WHERE id = ?1",
                params![row.id, lease_until_ms],
            )?;
        }
        tx.commit()?;
        Ok(rows)
    }

    /// The receiver accepted it: remove it.
    pub fn delivered(&self, id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM outbox WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// Delivery failed: try again at `next_ms`.
    pub fn retry_later(&self, id: i64, next_ms: i64, error: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next_ms, error],
        )?;
        Ok(())
    }

    /// Notifications still waiting.
    pub fn pending(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// When the next notification is due (Unix ms), if any.
    pub fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT MIN(next_attempt_ms) FROM outbox", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten())
    }
}

/// The writes of [`Store::commit`], inside a transaction.
fn write_commit(
    tx: &rusqlite::Transaction<'_>,
    spec: &str,
    target: &str,
    state: &TargetAlert,
    queue: &[Notification],
    now_ms: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO alert_state (spec, target, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (spec, target) DO UPDATE SET state = excluded.state",
        params![spec, target, serde_json::to_string(state)?],
    )?;
    for n in queue {
        tx.execute(
            "INSERT INTO outbox (channel, payload, created_at_ms, next_attempt_ms) VALUES (?1, ?2, ?3, ?3)",
            params![n.channel, serde_json::to_string(n)?, now_ms],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::notification::AlertStatus;

    fn note(channel: &str) -> Notification {
        Notification {
            channel: channel.into(),
            status: AlertStatus::Firing,
            spec: "shop".into(),
            target: "home".into(),
            url: "http://127.0.0.1/".into(),
            labels: Default::default(),
            since: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            resolved_at: None,
            consecutive_failures: 2,
            result: "failure".into(),
            error: None,
            failures: vec![],
            repeat: false,
            status_page: None,
            screenshot_url: None,
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn state_and_outbox_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = TargetAlert {
            consecutive_failures: 2,
            ..Default::default()
        };
        state.routes.insert(
            "0:c".into(),
            crate::alert::state::RouteState {
                firing: true,
                last_notified: None,
                held: false,
            },
        );
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .commit("shop", "home", &state, &[note("a"), note("b")], 1000)
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.load_states().unwrap()[&("shop".to_string(), "home".to_string())],
            state
        );
        assert_eq!(store.pending().unwrap(), 2);
        let due = store.due(1000, 10).unwrap();
        assert_eq!(
            due.iter()
                .map(|r| r.notification.channel.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        store.retry_later(due[0].id, 5000, "HTTP 500").unwrap();
        store.delivered(due[1].id).unwrap();
        assert!(store.due(4999, 10).unwrap().is_empty());
        let again = store.due(5000, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(store.next_due_ms().unwrap(), Some(5000));
        // A claimed row is leased: not due again until the lease ends.
        let claimed = store.claim_due(5000, 20_000, 10).unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(store.due(19_999, 10).unwrap().is_empty());
        assert_eq!(store.due(20_000, 10).unwrap().len(), 1);
        store.delivered(again[0].id).unwrap();
        assert_eq!(store.pending().unwrap(), 0);
        assert_eq!(store.next_due_ms().unwrap(), None);
    }
}
