//! The recorder: runs go into a bounded queue and one dedicated thread writes them in batches,
//! so recording a run never waits on the disk. A full queue drops the run; a failed batch is
//! logged and dropped; both are counted (`dcrawl_history_dropped_runs_total`,
//! `dcrawl_history_write_errors_total`) and neither stops the daemon. The same thread prunes
//! once an hour, a chunk at a time between batches.

use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use super::Run;
use super::ingest::Ingest;
use super::query::Reader;
use super::store::{Db, HistoryError};
use crate::model::Target;
use crate::result::CheckResult;

/// How the recorder batches and prunes.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// Runs waiting to be written at most; more are dropped (and counted).
    pub queue: usize,
    /// How long a run may wait before its batch is written.
    pub flush_every: Duration,
    /// A batch is written as soon as it has this many runs.
    pub batch_max: usize,
    /// How often old rows are pruned.
    pub prune_every: Duration,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            queue: 65_536,
            // Batches of 10 s write a fifth of what 2 s batches do at 10,000 targets (the
            // roll-up rows a batch touches are rewritten whole), for pages that refresh every
            // 10 s anyway; see BENCHMARKS.md.
            flush_every: Duration::from_secs(10),
            batch_max: 10_000,
            prune_every: Duration::from_secs(3600),
        }
    }
}

/// Counters of runs history lost.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Runs whose batch could not be written.
    pub write_errors: Counter,
    /// Runs dropped because the queue was full (or the writer had stopped).
    pub dropped: Counter,
}

/// What the recorder hands the writer thread. Recording only takes the lock and pushes: the
/// writer is woken when a batch is due, not per run (a wake-up per run cost the daemon more CPU
/// than writing the runs).
#[derive(Default)]
struct Queue {
    runs: Vec<Run>,
    /// When the oldest queued run came.
    oldest: Option<Instant>,
    /// Callers of [`Recorder::flush`] waiting for what was queued before them to be written.
    flushes: Vec<SyncSender<()>>,
    /// Set by [`Recorder::close`]: write what is queued and stop.
    closed: bool,
}

/// The queue and the bell the writer waits on.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    bell: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// See the module documentation. Dropping it (or [`Recorder::close`]) writes what is queued
/// and stops the thread.
pub struct Recorder {
    shared: Arc<Shared>,
    /// Runs waiting at most ([`HistoryOptions::queue`]), and when to wake the writer early.
    queue_max: usize,
    batch_max: usize,
    /// The writer thread, joined by `close`.
    thread: Mutex<Option<JoinHandle<()>>>,
    /// A read-only connection for the endpoints.
    reader: Arc<Reader>,
    /// Losses.
    counters: Counters,
    /// When a full queue was last logged (to log it once a minute, not per run).
    last_drop_log: Mutex<Option<Instant>>,
}

impl Recorder {
    /// Open (or create) `history.db` in `dir` and start the writer thread.
    pub fn open(
        dir: &Path,
        options: HistoryOptions,
        counters: Counters,
    ) -> Result<Arc<Recorder>, HistoryError> {
        let ingest = Ingest::new(Db::open(dir)?)?;
        let reader = Arc::new(Reader::new(Db::open_query_only(dir)?));
        let shared = Arc::new(Shared::default());
        let errors = counters.write_errors.clone();
        let (queue_max, batch_max) = (options.queue.max(1), options.batch_max.max(1));
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("dcrawl-history".into())
                .spawn(move || write_loop(ingest, &shared, &options, &errors))
                .map_err(|source| HistoryError::Dir {
                    path: dir.display().to_string(),
                    source,
                })?
        };
        Ok(Arc::new(Recorder {
            shared,
            queue_max,
            batch_max,
            thread: Mutex::new(Some(thread)),
            reader,
            counters,
            last_drop_log: Mutex::new(None),
        }))
    }

    /// The read side, for the status page, the API and badges.
    pub fn reader(&self) -> Arc<Reader> {
        Arc::clone(&self.reader)
    }

    /// Record a finished run of `target`; `maintenance` says whether a maintenance window
    /// covered it. Never blocks.
    pub fn record(&self, target: &Target, result: &CheckResult, maintenance: bool) {
        self.record_run(Run::of(target, result, maintenance));
    }

    /// Queue one run. Never blocks: a full queue drops it and counts it.
    pub fn record_run(&self, run: Run) {
        let mut queue = self.shared.lock();
        if queue.closed {
            drop(queue);
            return self.dropped("history is closed");
        }
        if queue.runs.len() >= self.queue_max {
            drop(queue);
            return self.dropped("the history queue is full");
        }
        // The writer is woken for the first run of a batch (it then sleeps until the batch is
        // due) and for a full batch, not for every run.
        let first = queue.oldest.is_none();
        queue.runs.push(run);
        queue.oldest.get_or_insert_with(Instant::now);
        let full = queue.runs.len() >= self.batch_max;
        drop(queue);
        if first || full {
            self.shared.bell.notify_one();
        }
    }

    fn dropped(&self, why: &str) {
        self.counters.dropped.inc();
        let mut last = self.last_drop_log.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(
                dropped_total = self.counters.dropped.get(),
                "a run was not recorded in history: {why}"
            );
        }
    }

    /// Wait until every run queued so far is written (or could not be). Blocks: call it off the
    /// async workers.
    pub fn flush(&self) {
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        {
            let mut queue = self.shared.lock();
            if queue.closed {
                return;
            }
            queue.flushes.push(done);
        }
        self.shared.bell.notify_one();
        let _ = wait.recv();
    }

    /// Write what is queued and stop the writer thread. Blocks: call it off the async workers.
    pub fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.bell.notify_one();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the history writer thread ended abnormally");
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: wait until the oldest queued run has waited `flush_every`, `batch_max`
/// are waiting, a flush is asked for or the recorder closes; write the batch; prune when due,
/// one chunk per turn; stop once closed and written.
fn write_loop(mut ingest: Ingest, shared: &Shared, options: &HistoryOptions, errors: &Counter) {
    let mut batch: Vec<Run> = Vec::new();
    let mut next_prune = Instant::now();
    let mut pruning = false;
    loop {
        let (flushes, closed) = {
            let mut queue = shared.lock();
            loop {
                let now = Instant::now();
                let batch_due = queue.oldest.is_some_and(|t| now >= t + options.flush_every)
                    || queue.runs.len() >= options.batch_max;
                let prune_due = queue.oldest.is_none() && (pruning || now >= next_prune);
                if queue.closed || !queue.flushes.is_empty() || batch_due || prune_due {
                    break;
                }
                let until = match queue.oldest {
                    Some(t) => t + options.flush_every,
                    None => next_prune,
                };
                queue = shared
                    .bell
                    .wait_timeout(queue, until.saturating_duration_since(now))
                    .map_or_else(|p| p.into_inner().0, |(q, _)| q);
            }
            if queue
                .oldest
                .is_some_and(|t| t.elapsed() >= options.flush_every)
                || queue.runs.len() >= options.batch_max
                || queue.closed
                || !queue.flushes.is_empty()
            {
                std::mem::swap(&mut batch, &mut queue.runs);
                queue.oldest = None;
            }
            (std::mem::take(&mut queue.flushes), queue.closed)
        };
        write(&mut ingest, &mut batch, errors);
        for done in flushes {
            let _ = done.send(());
        }
        if closed {
            return;
        }
        let idle = shared.lock().oldest.is_none();
        if idle && (pruning || Instant::now() >= next_prune) {
            if !pruning {
                next_prune = Instant::now() + options.prune_every;
            }
            let now_ms = chrono::Utc::now().timestamp_millis();
            pruning = match ingest.db().prune(now_ms) {
                Ok(more) => more,
                Err(e) => {
                    tracing::error!(error = %e, "history: pruning failed; trying again in an hour");
                    false
                }
            };
        }
    }
}

fn write(ingest: &mut Ingest, batch: &mut Vec<Run>, errors: &Counter) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = ingest.apply(batch) {
        errors.inc_by(batch.len() as u64);
        tracing::error!(error = %e, runs = batch.len(), "history: a batch of runs could not be written");
    }
    batch.clear();
}
