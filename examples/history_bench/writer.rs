//! The writer path: runs through `Ingest::apply`, batched as the daemon batches, with the
//! thread's CPU time and the bytes it wrote per run.

use std::time::Instant;

use anyhow::Result;
use dcrawl::history::ingest::Ingest;
use dcrawl::history::{Db, HistoryOptions, Run};

use crate::Args;
use crate::fill::{base_ms, by_offset, mix, offset};

/// One batch size's cost.
pub struct Batches {
    /// Seconds of runs per batch.
    pub secs: u64,
    /// Runs per batch.
    pub batch: usize,
    /// Runs written.
    pub runs: usize,
    /// CPU time per run, microseconds.
    pub cpu_us: f64,
    /// Bytes written per run (WAL and checkpoints).
    pub bytes: f64,
}

/// The hour after `t_end`: 20 minutes each in batches of 2 s, 10 s and 60 s of runs at this
/// rate (the daemon writes what came in `flush_every`).
pub fn measure(a: &Args, t_end: i64) -> Result<Vec<Batches>> {
    let mut w = Ingest::new(Db::open(&a.dir)?)?;
    let order = by_offset(a.targets);
    let per_second = a.targets as f64 / 60.0;
    let mut out = Vec::new();
    for (k, secs) in [2u64, 10, 60].into_iter().enumerate() {
        let batch = ((per_second * secs as f64).round() as usize).max(1);
        let from = t_end + k as i64 * 20 * 60_000;
        let (runs, cpu_us, bytes) = ingest(&mut w, &order, from, 20, batch)?;
        out.push(Batches {
            secs,
            batch,
            runs,
            cpu_us,
            bytes,
        });
    }
    Ok(out)
}

/// The daemon's batch, in seconds of runs.
pub fn daemon_flush_secs() -> u64 {
    HistoryOptions::default().flush_every.as_secs()
}

/// CPU time of this thread (ns, from /proc/thread-self/schedstat), if the kernel has it.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Bytes this process has written with write(2) (/proc/self/io `wchar`).
fn written_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/io").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
}

/// One simulated stretch through the writer: (runs, CPU µs per run, bytes written per run).
fn ingest(
    ingest: &mut Ingest,
    order: &[i64],
    from: i64,
    minutes: i64,
    batch: usize,
) -> Result<(usize, f64, f64)> {
    let runs: Vec<Run> = (0..minutes)
        .flat_map(|m| {
            order.iter().map(move |&i| Run {
                spec: format!("bench-{:02}", i / 100),
                target: format!("t{i}"),
                started_ms: from + m * 60_000 + offset(i),
                duration_ms: i64::try_from(base_ms(i)).unwrap_or(100),
                result: if mix(i, m).is_multiple_of(500) {
                    "failure"
                } else {
                    "success"
                },
                status: Some(200),
                failure: None,
                maintenance: false,
                interval_ms: 60_000,
            })
        })
        .collect();
    let (cpu0, io0, wall0) = (thread_cpu_ns(), written_bytes(), Instant::now());
    for chunk in runs.chunks(batch) {
        ingest.apply(chunk)?;
    }
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e3,
        _ => wall0.elapsed().as_secs_f64() * 1e6,
    };
    let io = match (io0, written_bytes()) {
        (Some(a), Some(b)) => (b - a) as f64,
        _ => f64::NAN,
    };
    let n = runs.len();
    Ok((n, cpu / n as f64, io / n as f64))
}
