//! The recorder: runs go into a bounded queue and one dedicated thread writes them in batches,
//! so recording a run never waits on the disk. A full queue drops the run; a failed batch is
//! logged and dropped; both are counted (`dcrawl_history_dropped_runs_total`,
//! `dcrawl_history_write_errors_total`) and neither stops the daemon. The same thread prunes
//! once an hour, a chunk at a time between batches.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
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

enum Msg {
    Run(Box<Run>),
    /// Write what is queued, then answer.
    Flush(SyncSender<()>),
}

/// See the module documentation. Dropping it (or [`Recorder::close`]) writes what is queued
/// and stops the thread.
pub struct Recorder {
    /// The queue; `None` once closed.
    tx: Mutex<Option<SyncSender<Msg>>>,
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
        let (tx, rx) = std::sync::mpsc::sync_channel(options.queue.max(1));
        let errors = counters.write_errors.clone();
        let thread = std::thread::Builder::new()
            .name("dcrawl-history".into())
            .spawn(move || write_loop(ingest, rx, &options, &errors))
            .map_err(|source| HistoryError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        Ok(Arc::new(Recorder {
            tx: Mutex::new(Some(tx)),
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
        let sent = match &*self.tx.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(tx) => tx.try_send(Msg::Run(Box::new(run))),
            None => return self.dropped("history is closed"),
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.dropped("the history queue is full"),
            Err(TrySendError::Disconnected(_)) => self.dropped("the history writer has stopped"),
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
        let sent = match &*self.tx.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(tx) => tx.send(Msg::Flush(done)).is_ok(),
            None => false,
        };
        if sent {
            let _ = wait.recv();
        }
    }

    /// Write what is queued and stop the writer thread. Blocks: call it off the async workers.
    pub fn close(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
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

/// The writer thread: collect runs until the oldest has waited `flush_every` or `batch_max`
/// are waiting, write them; prune when due, one chunk per turn; stop when the queue closes.
fn write_loop(mut ingest: Ingest, rx: Receiver<Msg>, options: &HistoryOptions, errors: &Counter) {
    let mut batch: Vec<Run> = Vec::new();
    let mut oldest: Option<Instant> = None;
    let mut next_prune = Instant::now();
    let mut pruning = false;
    loop {
        let wait = match oldest {
            Some(t) => options.flush_every.saturating_sub(t.elapsed()),
            None if pruning => Duration::ZERO,
            None => next_prune.saturating_duration_since(Instant::now()),
        };
        let mut flush_now = None;
        match rx.recv_timeout(wait) {
            Ok(Msg::Run(run)) => {
                oldest.get_or_insert_with(Instant::now);
                batch.push(*run);
            }
            Ok(Msg::Flush(done)) => flush_now = Some(done),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                write(&mut ingest, &mut batch, errors);
                return;
            }
        }
        let due = oldest.is_some_and(|t| t.elapsed() >= options.flush_every);
        if flush_now.is_some() || due || batch.len() >= options.batch_max {
            write(&mut ingest, &mut batch, errors);
            oldest = None;
        }
        if let Some(done) = flush_now {
            let _ = done.send(());
        }
        if oldest.is_none() && (pruning || Instant::now() >= next_prune) {
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
