//! `history.db`: its schema, opening it (read-write for the daemon's writer thread, read-only
//! for pages, the API and `dcrawl report`) and pruning it.
//!
//! Tables: `targets` (an id per spec/target, and its last run: the result that still holds),
//! `runs` (raw, in insertion order, so pruning deletes from the front), `hourly` and `daily`
//! (one row per bucket and target, keyed by bucket first, so the rows being updated sit
//! together and pruning deletes a range) and `incidents`. WAL with `synchronous = NORMAL`: a
//! crash loses at most the last batch, and readers never block the writer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::rollup::{Tier, floor};
use super::{DAILY_KEEP_MS, DB_FILE, HOUR_MS, HOURLY_KEEP_MS, RAW_KEEP_MS};

/// Why history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Creating the state directory failed.
    #[error("cannot create state directory {path}: {source}")]
    Dir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// There is no history database to read.
    #[error("no history in {0}: {DB_FILE} not found (`dcrawl run --state-dir DIR` keeps it there)")]
    Missing(String),
    /// SQLite failed.
    #[error("history database: {0}")]
    Sql(#[from] rusqlite::Error),
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL,
    name TEXT NOT NULL,
    last_start_ms INTEGER,
    last_class INTEGER,
    last_cap_ms INTEGER,
    last_result INTEGER,
    open_incident INTEGER,
    UNIQUE (spec, name)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    result INTEGER NOT NULL,
    status INTEGER,
    failure TEXT,
    maintenance INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS hourly (
    bucket INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    up_ms INTEGER NOT NULL DEFAULT 0,
    down_ms INTEGER NOT NULL DEFAULT 0,
    maint_ms INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    down_runs INTEGER NOT NULL DEFAULT 0,
    latency BLOB,
    PRIMARY KEY (bucket, target_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hourly_target ON hourly (target_id, bucket);
CREATE TABLE IF NOT EXISTS daily (
    bucket INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    up_ms INTEGER NOT NULL DEFAULT 0,
    down_ms INTEGER NOT NULL DEFAULT 0,
    maint_ms INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    down_runs INTEGER NOT NULL DEFAULT 0,
    latency BLOB,
    PRIMARY KEY (bucket, target_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS daily_target ON daily (target_id, bucket);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER,
    result INTEGER NOT NULL,
    first_failure TEXT,
    failed_runs INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS incidents_target ON incidents (target_id, start_ms);
";

/// Raw runs deleted per statement while pruning, so the writer keeps up between chunks.
pub const PRUNE_CHUNK: i64 = 20_000;

/// An open `history.db`.
pub struct Db {
    /// The connection (read-write for the writer thread, read-only for readers).
    pub(crate) conn: Connection,
}

/// The database file in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

impl Db {
    /// Open (or create) the database in `dir` for writing.
    pub fn open(dir: &Path) -> Result<Db, HistoryError> {
        std::fs::create_dir_all(dir).map_err(|source| HistoryError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(path_in(dir))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db { conn })
    }

    /// Open the database in `dir` read-only (it must exist); works while a daemon writes it.
    pub fn open_read_only(dir: &Path) -> Result<Db, HistoryError> {
        let path = path_in(dir);
        if !path.is_file() {
            return Err(HistoryError::Missing(dir.display().to_string()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Db { conn })
    }

    /// Open the database in `dir` (it must exist) for queries only, beside a writer in the same
    /// process: unlike a read-only connection, it may tidy the WAL away when it closes last.
    pub fn open_query_only(dir: &Path) -> Result<Db, HistoryError> {
        let conn = Connection::open_with_flags(
            path_in(dir),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        Ok(Db { conn })
    }

    /// Delete what is past its retention at `now_ms`: hourly roll-ups, daily roll-ups, closed
    /// incidents, and one chunk of raw runs. Returns whether raw runs are left to prune (call
    /// again, between batches).
    pub fn prune(&self, now_ms: i64) -> Result<bool, HistoryError> {
        let c = &self.conn;
        c.execute(
            "DELETE FROM hourly WHERE bucket < ?1",
            params![floor(now_ms - HOURLY_KEEP_MS, HOUR_MS)],
        )?;
        let day_cut = Tier::Daily.bucket(now_ms - DAILY_KEEP_MS);
        c.execute("DELETE FROM daily WHERE bucket < ?1", params![day_cut])?;
        c.execute(
            "DELETE FROM incidents WHERE end_ms IS NOT NULL AND end_ms < ?1",
            params![now_ms - DAILY_KEEP_MS],
        )?;
        self.prune_raw(now_ms)
    }

    /// Delete one chunk of raw runs older than 7 days from the front of the table; returns
    /// whether more are left.
    pub fn prune_raw(&self, now_ms: i64) -> Result<bool, HistoryError> {
        let cut = now_ms - RAW_KEEP_MS;
        let oldest: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT id, started_ms FROM runs ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((first, started)) = oldest else {
            return Ok(false);
        };
        if started >= cut {
            return Ok(false);
        }
        self.conn.execute(
            "DELETE FROM runs WHERE id < ?1 AND started_ms < ?2",
            params![first + PRUNE_CHUNK, cut],
        )?;
        Ok(true)
    }

    /// Raw runs stored (tests and benchmarks).
    pub fn raw_count(&self) -> Result<i64, HistoryError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))?)
    }

    /// Rows of a roll-up tier (tests and benchmarks).
    pub fn rollup_count(&self, tier: Tier) -> Result<i64, HistoryError> {
        let sql = format!("SELECT COUNT(*) FROM {}", tier.table());
        Ok(self.conn.query_row(&sql, [], |r| r.get(0))?)
    }

    /// The raw connection, for benchmarks that fill a database directly.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}
