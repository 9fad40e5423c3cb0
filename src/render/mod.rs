//! Rendering pages in headless Chromium, with supervision that leaks no browser process.
//!
//! [`Renderer`] is a small pool: a semaphore bounds the pages rendered at once
//! ([`BrowserOptions::concurrency`]), and each page borrows a browser of its own for the
//! duration of the render, one tab in it. Browsers are not shared between concurrent pages, so a
//! page that wedges, crashes or bloats its browser costs only its own render when that browser is
//! killed. An idle browser is reused for the next page, and replaced after
//! [`BrowserOptions::max_pages_per_browser`] pages, after [`BrowserOptions::max_browser_age`], or
//! when its processes' resident memory passes [`BrowserOptions::rss_limit_bytes`] (checked every
//! 250 ms during a render, which is then failed, and after it). Browsers start lazily, on the
//! first render that needs one.
//!
//! Supervision (`process.rs`, `group.rs`): each browser runs in its own process group under a
//! watchdog shell that kills the group when this process goes away, however it ends (`kill -9`
//! included); every kill is one `SIGKILL` to the whole group, followed by reaping and removing the
//! browser's temporary profile directory. A whole render, browser start included, runs under the
//! request's timeout; on expiry its browser is killed. [`Renderer::processes`] and
//! [`Renderer::restarts`] feed the `dcrawl_browser_processes` and
//! `dcrawl_browser_restarts_total` metrics.
//!
//! The DevTools client (`cdp.rs`) is a small lenient one over a WebSocket with
//! `serde_json::Value` messages: unknown events and fields are ignored, so newer Chromium releases
//! do not break it. The per-page script is in `page.rs`, the event bookkeeping in `observe.rs`.

mod cdp;
mod error;
mod group;
mod observe;
mod page;
mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedReceiver;
use url::Url;

pub use error::RenderError;
pub use process::find_browser;

use cdp::{Connection, Event};
use group::Registry;
use process::BrowserProcess;

/// Pages rendered at once unless configured (`--browser-concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 2;
/// The viewport unless the target sets one.
pub const DEFAULT_VIEWPORT: (u32, u32) = (1280, 800);
/// The whole-render timeout unless the target sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a render checks its browser's memory.
const MEMORY_CHECK: Duration = Duration::from_millis(250);

/// How the renderer starts and recycles browsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserOptions {
    /// The Chromium binary: a path, or a name looked up on `PATH` (default `chromium`).
    pub binary: PathBuf,
    /// Pages rendered at once, each in a browser of its own (default 2; 0 counts as 1).
    pub concurrency: usize,
    /// Pages a browser renders before it is replaced (default 100; 0: no limit).
    pub max_pages_per_browser: u32,
    /// How long a browser is used before it is replaced (default 30 minutes).
    pub max_browser_age: Duration,
    /// Resident memory of one browser's processes (summed RSS, an upper bound) above which it is
    /// killed (default 2 GiB; 0: no limit).
    pub rss_limit_bytes: u64,
    /// Where temporary browser profiles are created (default: the system temp directory).
    pub temp_dir: PathBuf,
    /// How long a starting browser may take to announce its DevTools endpoint (default 20 s).
    pub launch_timeout: Duration,
    /// More Chromium flags, after dcrawl's own (like `--proxy-server=...`; default none).
    pub extra_args: Vec<String>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            binary: PathBuf::from("chromium"),
            concurrency: DEFAULT_CONCURRENCY,
            max_pages_per_browser: 100,
            max_browser_age: Duration::from_secs(30 * 60),
            rss_limit_bytes: 2 << 30,
            temp_dir: std::env::temp_dir(),
            launch_timeout: Duration::from_secs(20),
            extra_args: Vec::new(),
        }
    }
}

/// One page to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRequest {
    /// The page.
    pub url: Url,
    /// Extra request headers. Chromium sends them with every request the page makes, to other
    /// origins too: pass credentials only for pages that load nothing from elsewhere.
    pub headers: Vec<(String, String)>,
    /// A CSS selector to wait for; `None` waits for the load event plus 500 ms.
    pub wait_for: Option<String>,
    /// The bound on the whole render, browser start included (default 30 s).
    pub timeout: Duration,
    /// Width and height of the viewport in CSS pixels (default 1280x800, device scale 1).
    pub viewport: (u32, u32),
    /// Whether to take a PNG screenshot of the viewport.
    pub screenshot: bool,
}

impl RenderRequest {
    /// A request for `url` with the defaults.
    pub fn new(url: Url) -> Self {
        RenderRequest {
            url,
            headers: Vec::new(),
            wait_for: None,
            timeout: DEFAULT_TIMEOUT,
            viewport: DEFAULT_VIEWPORT,
            screenshot: false,
        }
    }
}

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Status of the main document's response (`None` for pages without one, like `data:`).
    pub status: Option<u16>,
    /// Headers of the main document's response, names lower-cased, repeated headers split.
    pub headers: Vec<(String, String)>,
    /// Where the main frame ended up (after redirects and script navigation).
    pub final_url: Url,
    /// `document.documentElement.outerHTML` once `wait_for` matched, or 500 ms after the load
    /// event.
    pub html: String,
    /// Uncaught exceptions and `console.error`/`console.assert` messages, in order.
    pub console_errors: Vec<String>,
    /// `URL: reason` for sub-requests that failed (`net::ERR_...`) or answered >= 400 (`HTTP
    /// 404`); cancelled requests are left out.
    pub failed_requests: Vec<String>,
    /// `type: message` of JavaScript dialogs, which were dismissed.
    pub dialogs: Vec<String>,
    /// URLs of popups the page tried to open: Chromium's popup blocker stops those without a
    /// user gesture, and any that opens is closed at once.
    pub popups: Vec<String>,
    /// A PNG of the viewport, when asked for.
    pub screenshot: Option<Vec<u8>>,
    /// Time from getting a render slot to the snapshot, browser start included.
    pub duration: Duration,
}

/// A running browser and its DevTools connection.
struct Browser {
    /// The processes (killed when this is dropped).
    process: BrowserProcess,
    /// The DevTools connection.
    conn: Connection,
    /// Its events.
    events: UnboundedReceiver<Event>,
    /// Pages rendered so far.
    pages: u32,
    /// When it started.
    started: Instant,
}

impl Browser {
    /// Starts a browser and connects to it.
    async fn launch(
        options: &BrowserOptions,
        registry: &Arc<Registry>,
    ) -> Result<Self, RenderError> {
        let (process, url) = BrowserProcess::launch(options, registry).await?;
        let connected = match Connection::connect(&url, observe::auto_reply).await {
            Ok((conn, events)) => conn
                .call(None, "Target.setDiscoverTargets", json!({"discover": true}))
                .await
                .map(|_| (conn, events)),
            Err(e) => Err(e),
        };
        match connected {
            Ok((conn, events)) => {
                tracing::debug!(pgid = process.pgid(), "browser started");
                Ok(Browser {
                    process,
                    conn,
                    events,
                    pages: 0,
                    started: Instant::now(),
                })
            }
            Err(e) => {
                let reason = format!("{e}{}", process.last_words());
                process.kill().await;
                Err(RenderError::Launch {
                    binary: options.binary.clone(),
                    reason,
                })
            }
        }
    }

    /// Why this browser should be replaced before its next page, if it should.
    fn worn_out(&self, options: &BrowserOptions) -> Option<String> {
        if options.max_pages_per_browser > 0 && self.pages >= options.max_pages_per_browser {
            return Some(format!("rendered {} pages", self.pages));
        }
        if self.started.elapsed() >= options.max_browser_age {
            return Some("reached its maximum age".to_owned());
        }
        if !self.conn.is_open() {
            return Some("lost its DevTools connection".to_owned());
        }
        let rss = group::group_rss(self.process.pgid());
        if options.rss_limit_bytes > 0 && rss > options.rss_limit_bytes {
            return Some(format!("uses {} of memory", bytesize::ByteSize::b(rss)));
        }
        None
    }

    /// Closes the connection, kills the processes, reaps them and removes the profile.
    async fn kill(self) {
        drop(self.conn);
        self.process.kill().await;
    }
}

/// Resolves once the processes of group `pgid` hold more than `limit` bytes, with the amount;
/// never when `limit` is 0.
async fn over_memory(pgid: i32, limit: u64) -> u64 {
    if limit == 0 {
        return std::future::pending().await;
    }
    loop {
        tokio::time::sleep(MEMORY_CHECK).await;
        let used = group::group_rss(pgid);
        if used > limit {
            return used;
        }
    }
}

/// The renderer's shared state.
struct Inner {
    /// Its configuration.
    options: BrowserOptions,
    /// Render slots.
    permits: Semaphore,
    /// Browsers waiting for their next page (a std mutex: never held across an await).
    idle: Mutex<Vec<Browser>>,
    /// Every browser process group not yet cleaned up.
    registry: Arc<Registry>,
    /// Browsers killed before shutdown: recycled, timed out, crashed or over memory.
    restarts: AtomicU64,
    /// Set by shutdown.
    closed: AtomicBool,
}

/// A pool of headless Chromium browsers that renders pages. Cheap to clone; clones share the
/// pool.
#[derive(Clone)]
pub struct Renderer {
    /// The shared pool.
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("options", &self.inner.options)
            .field("restarts", &self.restarts())
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer with `options`. No browser starts until the first render; profile directories
    /// left by dcrawl processes that died are removed from [`BrowserOptions::temp_dir`].
    ///
    /// The first browser start makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`),
    /// so that a killed browser's orphaned helpers are reaped here rather than left as zombies
    /// under an init that does not reap (a container without `--init`). Orphans of any other
    /// child this process starts would come here too; dcrawl starts none.
    pub fn new(options: BrowserOptions) -> Self {
        process::sweep_stale_profiles(&options.temp_dir);
        let slots = options.concurrency.max(1);
        Renderer {
            inner: Arc::new(Inner {
                options,
                permits: Semaphore::new(slots),
                idle: Mutex::new(Vec::new()),
                registry: Arc::new(Registry::default()),
                restarts: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &BrowserOptions {
        &self.inner.options
    }

    /// Live browser processes (every Chromium process of every browser, helpers included).
    pub fn processes(&self) -> usize {
        self.inner.registry.processes()
    }

    /// Browsers killed and replaced so far (recycled, timed out, crashed or over memory).
    pub fn restarts(&self) -> u64 {
        self.inner.restarts.load(Ordering::Relaxed)
    }

    /// Renders one page: waits for a render slot, takes an idle browser or starts one, and runs
    /// the page under `request.timeout`.
    pub async fn render(&self, request: RenderRequest) -> Result<Rendered, RenderError> {
        let inner = &*self.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| RenderError::ShutDown)?;
        if inner.closed.load(Ordering::SeqCst) {
            return Err(RenderError::ShutDown);
        }
        inner.registry.sweep();
        let started = Instant::now();
        let mut slot = self.take_idle().await;
        let limit = inner.options.rss_limit_bytes;
        let progress = page::Progress::new("starting the browser");
        let outcome = tokio::time::timeout(request.timeout, async {
            let browser = match &mut slot {
                Some(browser) => browser,
                None => slot.insert(Browser::launch(&inner.options, &inner.registry).await?),
            };
            let pgid = browser.process.pgid();
            let page = page::render_page(
                &browser.conn,
                &mut browser.events,
                &request,
                started,
                &progress,
            );
            tokio::select! {
                outcome = page => Ok(outcome),
                used = over_memory(pgid, limit) => Err(RenderError::MemoryLimit { used, limit }),
            }
        })
        .await;
        let (result, healthy) = match outcome {
            Err(_) => {
                let stage = progress.get();
                (
                    Err(RenderError::Timeout {
                        limit: request.timeout,
                        stage,
                    }),
                    false,
                )
            }
            Ok(Err(e)) => (Err(e), false),
            Ok(Ok(page)) => {
                let healthy = page.closed
                    && page
                        .result
                        .as_ref()
                        .err()
                        .is_none_or(|e| !e.poisons_browser());
                (page.result, healthy)
            }
        };
        if let Some(mut browser) = slot {
            browser.pages += 1;
            let worn = if healthy {
                browser.worn_out(&inner.options)
            } else {
                Some("failed a render".to_owned())
            };
            match worn {
                None if !inner.closed.load(Ordering::SeqCst) => lock(&inner.idle).push(browser),
                reason => {
                    if !inner.closed.load(Ordering::SeqCst) {
                        inner.restarts.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(
                            reason = reason.as_deref().unwrap_or("shutdown"),
                            "browser replaced"
                        );
                    }
                    browser.kill().await;
                }
            }
        }
        if inner.closed.load(Ordering::SeqCst) && result.is_err() {
            // Killed by the shutdown, whatever it looked like from here.
            return Err(RenderError::ShutDown);
        }
        result
    }

    /// An idle browser fit for another page, killing those that are not.
    async fn take_idle(&self) -> Option<Browser> {
        loop {
            let browser = lock(&self.inner.idle).pop()?;
            let too_old = browser.started.elapsed() >= self.inner.options.max_browser_age;
            if !too_old && browser.conn.is_open() {
                return Some(browser);
            }
            self.inner.restarts.fetch_add(1, Ordering::Relaxed);
            browser.kill().await;
        }
    }

    /// Kills every browser, those rendering included (their renders fail with
    /// [`RenderError::ShutDown`]), waits for the renders to finish and cleans up. Later renders
    /// fail with [`RenderError::ShutDown`].
    pub async fn shutdown(&self) {
        let inner = &*self.inner;
        inner.closed.store(true, Ordering::SeqCst);
        let idle = std::mem::take(&mut *lock(&inner.idle));
        for browser in idle {
            browser.kill().await;
        }
        inner.registry.kill_all();
        let slots = u32::try_from(inner.options.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ =
            tokio::time::timeout(Duration::from_secs(10), inner.permits.acquire_many(slots)).await;
        inner.permits.close();
        for pgid in inner.registry.pgids() {
            inner.registry.abandon(pgid);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while !inner.registry.pgids().is_empty() && Instant::now() < deadline {
            inner.registry.sweep();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Locks a std mutex; a poisoned lock still holds usable data.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
