//! The cost of history at scale: N targets (default 10,000) on `@every 1m` for a simulated D
//! days (default 90). The roll-ups (hourly for 90 days, daily), the incidents (about one per
//! target every 10 days) and the raw runs of the last R days (default 7) are written straight
//! into `history.db`, as the writer would have left them ([`fill`]); then one more hour of runs
//! goes through the real writer path (`Ingest::apply`, batched as the daemon batches,
//! [`writer`]) and the read side is timed at the end of that hour ([`reads`]).
//!
//! Prints a Markdown table ([`table`]): database size (per table), insert CPU and bytes written
//! per run for three batch sizes, the status page's summaries and render, the history API, and
//! `dcrawl report` over one month (the library call, and the release binary when it is built).
//!
//! Usage: `cargo run --release --example history_bench -- [--targets N] [--days D]
//! [--raw-days R] [--dir DIR] [--keep]` (DIR default `/tmp/dcrawl-history-bench`, removed at the
//! end unless `--keep`; see BENCHMARKS.md for the space it needs).

mod fill;
mod reads;
mod table;
mod writer;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::Utc;
use dcrawl::history::rollup::floor;
use dcrawl::history::{Db, HOUR_MS};

/// Settings from the command line.
pub struct Args {
    /// Targets, all `@every 1m`.
    pub targets: i64,
    /// Days of roll-ups.
    pub days: i64,
    /// Days of raw runs (the last of `days`).
    pub raw_days: i64,
    /// Where `history.db` goes (emptied first).
    pub dir: PathBuf,
    /// Keep the database at the end.
    pub keep: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        targets: 10_000,
        days: 90,
        raw_days: 7,
        dir: PathBuf::from("/tmp/dcrawl-history-bench"),
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--targets" => a.targets = value()?.parse()?,
            "--days" => a.days = value()?.parse()?,
            "--raw-days" => a.raw_days = value()?.parse()?,
            "--dir" => a.dir = PathBuf::from(value()?),
            "--keep" => a.keep = true,
            other => bail!(
                "unknown argument {other} (--targets N --days D --raw-days R --dir DIR --keep)"
            ),
        }
    }
    if a.targets < 6 || a.days < 1 || a.raw_days < 0 || a.raw_days > a.days {
        bail!("need --targets >= 6, --days >= 1 and 0 <= --raw-days <= --days");
    }
    Ok(a)
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Bytes per table and index (SQLite's dbstat).
fn db_stat(path: &Path) -> Result<Vec<(String, u64)>> {
    let c = rusqlite::Connection::open(path)?;
    let mut stmt =
        c.prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, bytes) = row?;
        out.push((name, u64::try_from(bytes).unwrap_or(0)));
    }
    Ok(out)
}

fn main() -> Result<()> {
    let a = args()?;
    if a.dir.exists() {
        std::fs::remove_dir_all(&a.dir).with_context(|| format!("removing {}", a.dir.display()))?;
    }
    // The simulated history ends an hour before the current hour; the writer then adds that
    // hour, and "now" is the start of the current hour.
    let now = floor(Utc::now().timestamp_millis(), HOUR_MS);
    let t_end = now - HOUR_MS;
    fill::fill(&a, t_end)?;
    let writes = writer::measure(&a, t_end)?;

    let db_path = dcrawl::history::store::path_in(&a.dir);
    rusqlite::Connection::open(&db_path)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let db = Db::open_read_only(&a.dir)?;
    let size = table::Size {
        file: file_size(&db_path),
        tables: db_stat(&db_path)?,
        raw_runs: db.raw_count()?,
    };
    let reads = reads::measure(&a, &db, now)?;
    println!("{}", table::render(&a, &size, &writes, &reads));
    drop(db);
    if !a.keep {
        std::fs::remove_dir_all(&a.dir)?;
    }
    Ok(())
}
