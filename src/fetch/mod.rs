//! Fetching: shared HTTP clients, bounded concurrency, whole-body timeouts and size limits,
//! redirects followed by hand and retries after transport errors.
//!
//! One [`Fetcher`] serves the whole process; clone it freely (clones share clients and bounds).
//! A fetch first waits for a per-host slot, then for a global one; the timeout and
//! [`Response::duration`] start only once both are held. A redirect to another host swaps them
//! for that host's (the wait does not count either), and a retry's backoff holds none.

mod body;
mod client;
mod error;
mod guard;
mod limits;
mod redirect;
mod session;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use url::Url;

use crate::model::Target;
use client::RequestParts;
use redirect::Chain;

pub use client::DEFAULT_USER_AGENT;
pub use error::{FetchError, format_size};
pub use guard::is_non_public;
pub use session::Session;

/// Default bound on requests in flight in all.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// Default bound on requests in flight per host.
pub const DEFAULT_PER_HOST: usize = 8;

/// First pause between attempts; it doubles per retry up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Settings of a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Requests in flight in all (`--concurrency`).
    pub concurrency: usize,
    /// Requests in flight per host (`--per-host`).
    pub per_host: usize,
    /// Refuse private, loopback and link-local addresses (`--deny-private-networks`).
    pub deny_private_networks: bool,
    /// How `render` targets get their browser (`--browser`, `--browser-concurrency`); no
    /// browser starts until the first render.
    pub browser: crate::render::BrowserOptions,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            concurrency: DEFAULT_CONCURRENCY,
            per_host: DEFAULT_PER_HOST,
            deny_private_networks: false,
            browser: crate::render::BrowserOptions::default(),
        }
    }
}

/// A complete response: status, headers and the whole (decompressed) body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Final status after redirects.
    pub status: u16,
    /// Final response headers (without `Content-Encoding`/`Content-Length` when decompressed).
    pub headers: HeaderMap,
    /// The decompressed body, at most `max_body` bytes.
    pub body: Bytes,
    /// URL of the final response.
    pub final_url: Url,
    /// Time from sending the first request of the successful attempt to the end of the body,
    /// over all redirect hops; waiting for concurrency slots is not included.
    pub duration: Duration,
    /// Leaf certificate `notAfter`, Unix seconds (https only).
    pub tls_not_after: Option<i64>,
    /// The resolved `Location` of the first redirect, followed or not.
    pub first_redirect: Option<Url>,
}

/// Which redirect targets may be followed (see [`Fetcher::fetch_within`]).
pub type Within<'s> = &'s (dyn Fn(&Url) -> bool + Send + Sync);

/// The shared client(s) and concurrency bounds.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// Shared by all clones.
    inner: Arc<Inner>,
}

/// What clones of a [`Fetcher`] share.
#[derive(Debug)]
struct Inner {
    /// Client that verifies certificates (`tls_verify: true`).
    verified: reqwest::Client,
    /// Client that accepts any certificate (`tls_verify: false`).
    insecure: reqwest::Client,
    /// Global and per-host bounds.
    limits: limits::Limits,
    /// The address rule of `--deny-private-networks`.
    guard: Option<guard::Guard>,
    /// The browsers of `render` targets (started on the first render).
    renderer: crate::render::Renderer,
}

impl Fetcher {
    /// Build the shared clients; `concurrency` and `per_host` must be at least 1.
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let guard = options
            .deny_private_networks
            .then(guard::Guard::private_networks);
        Fetcher::with_guard(options, guard)
    }

    /// [`Fetcher::new`] with an explicit address rule.
    fn with_guard(
        options: FetchOptions,
        guard: Option<guard::Guard>,
    ) -> Result<Fetcher, FetchError> {
        let limits = limits::Limits::new(options.concurrency, options.per_host)?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                verified: client::build_client(true, guard)?,
                insecure: client::build_client(false, guard)?,
                limits,
                guard,
                renderer: crate::render::Renderer::new(options.browser),
            }),
        })
    }

    /// The browsers that render `render` targets.
    pub fn renderer(&self) -> &crate::render::Renderer {
        &self.inner.renderer
    }

    /// Fetch `target` once (plus retries on transport errors), honouring all bounds.
    ///
    /// Each attempt (all redirect hops and the body) must finish within `target.timeout`.
    /// Another attempt is made, up to `target.retries` times, only after a transport error or a
    /// timeout; never after a response of any status, a TLS failure or a limit. Secrets of the
    /// target never appear in the error.
    pub async fn fetch(&self, target: &Target) -> Result<Response, FetchError> {
        self.fetch_url(target, &target.url).await
    }

    /// [`Fetcher::fetch`] of `url` instead of the target's own URL, with every other setting of
    /// the target (method, headers, body, limits). Crawls fetch their pages this way.
    pub async fn fetch_url(&self, target: &Target, url: &Url) -> Result<Response, FetchError> {
        self.fetch_within(target, url, None).await
    }

    /// [`Fetcher::fetch_url`] that follows a redirect only to a URL `within` accepts; a
    /// redirect elsewhere is the response (a crawl never leaves its scope this way).
    pub async fn fetch_within(
        &self,
        target: &Target,
        url: &Url,
        within: Option<Within<'_>>,
    ) -> Result<Response, FetchError> {
        self.fetch_inner(target, url, within, None)
            .await
            .map_err(|e| e.redacted(&target.secrets))
    }

    /// [`Fetcher::fetch_url`] within a multi-step run: cookies come from and go to `session`.
    pub async fn fetch_in(
        &self,
        target: &Target,
        url: &Url,
        session: &mut Session,
    ) -> Result<Response, FetchError> {
        self.fetch_inner(target, url, None, Some(session))
            .await
            .map_err(|e| e.redacted(&target.secrets))
    }

    /// [`Fetcher::fetch_within`] before redaction.
    async fn fetch_inner(
        &self,
        target: &Target,
        url: &Url,
        within: Option<Within<'_>>,
        mut session: Option<&mut Session>,
    ) -> Result<Response, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::InvalidRequest(format!(
                "unsupported URL scheme {:?} (http or https)",
                url.scheme()
            )));
        }
        if let Some(guard) = &self.inner.guard {
            guard.check_url(url)?;
        }
        let parts = RequestParts::of(target)?;
        let client = if target.tls_verify {
            &self.inner.verified
        } else {
            &self.inner.insecure
        };
        let mut slots = limits::Slots::new(&self.inner.limits);
        slots.hold(url).await?;
        let mut retries_left = target.retries;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let mut budget = Budget::new(target.timeout);
            // Boxed: the request's state is large, and thousands of fetches may be waiting for
            // their slots above; they should not each carry it until it is needed.
            let request = Box::pin(attempt(
                client,
                target,
                url,
                &parts,
                within,
                self.inner.guard,
                &mut slots,
                &mut budget,
                session.as_deref_mut(),
            ));
            match request.await {
                Ok(mut response) => {
                    response.duration = budget.spent();
                    return Ok(response);
                }
                Err(e) if e.is_retryable() && retries_left > 0 => {
                    tracing::debug!(target = %target.id(), error = %target.redact(&e.to_string()),
                        retries_left, "fetch attempt failed, retrying");
                    retries_left -= 1;
                    // Nobody waits on a slot this fetch is only sleeping in.
                    slots.release();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    slots.hold(url).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The time one attempt may take ([`Target::timeout`]), not counting waits for the slots of
/// the hosts it is redirected to (as the wait for the first host's slots does not count).
struct Budget {
    /// The target's timeout.
    limit: Duration,
    /// When the attempt started.
    started: tokio::time::Instant,
    /// When it must be done: `started + limit`, plus the waits.
    deadline: tokio::time::Instant,
    /// Time spent waiting for slots so far.
    waited: Duration,
}

impl Budget {
    fn new(limit: Duration) -> Budget {
        let started = tokio::time::Instant::now();
        Budget {
            limit,
            started,
            deadline: started + limit,
            waited: Duration::ZERO,
        }
    }

    /// `step`, unless the deadline comes first.
    async fn run<T>(
        &self,
        step: impl std::future::Future<Output = Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        tokio::time::timeout_at(self.deadline, step)
            .await
            .unwrap_or(Err(FetchError::Timeout(self.limit)))
    }

    /// The attempt waited `d` for slots: that does not count.
    fn waited(&mut self, d: Duration) {
        self.deadline += d;
        self.waited += d;
    }

    /// Time spent on the attempt itself, waits left out.
    fn spent(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.waited)
    }
}

/// One attempt: the request, every redirect hop (each under the slots of the host it goes to),
/// and the final body, within `budget`.
#[allow(clippy::too_many_arguments)]
async fn attempt(
    client: &reqwest::Client,
    target: &Target,
    url: &Url,
    parts: &RequestParts,
    within: Option<Within<'_>>,
    guard: Option<guard::Guard>,
    slots: &mut limits::Slots<'_>,
    budget: &mut Budget,
    mut session: Option<&mut Session>,
) -> Result<Response, FetchError> {
    let mut parts = parts.clone();
    let mut url = url.clone();
    let mut method = target.method.clone();
    let mut chain = Chain::new(&url, target.follow_redirects);
    let mut first_redirect = None;
    let mut left_origin = false;
    loop {
        let mut headers = parts.headers.clone();
        if let Some(s) = session.as_deref()
            && !left_origin
        {
            s.apply(&mut headers, &url);
        }
        let mut request = client.request(method.clone(), url.clone()).headers(headers);
        if let Some(body) = &parts.body {
            request = request.body(body.clone());
        }
        let https = url.scheme() == "https";
        let mut response = budget
            .run(async {
                request
                    .send()
                    .await
                    .map_err(|e| error::classify_send(&e, https))
            })
            .await?;
        if let Some(s) = session.as_deref_mut() {
            s.store(response.headers(), &url);
        }
        if first_redirect.is_none()
            && let Ok(Some(hop)) =
                redirect::next_hop(response.status(), response.headers(), &url, &method)
        {
            first_redirect = Some(hop.url);
        }
        if target.follow_redirects > 0
            && let Some(hop) =
                redirect::next_hop(response.status(), response.headers(), &url, &method)?
            && within.is_none_or(|ok| ok(&hop.url))
        {
            chain.follow(&hop.url)?;
            if let Some(guard) = &guard {
                guard.check_url(&hop.url)?;
            }
            if hop.drop_body {
                parts.drop_body();
            }
            if hop.cross_origin {
                parts.drop_credentials();
                left_origin = true;
            }
            // This response is done with; the next request runs under its host's slots.
            drop(response);
            budget.waited(slots.hold(&hop.url).await?);
            method = hop.method;
            url = hop.url;
            continue;
        }
        let tls_not_after = tls::leaf_not_after(&response);
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = budget
            .run(body::read_limited(&mut response, &method, target.max_body))
            .await?;
        return Ok(Response {
            status,
            headers,
            body,
            final_url: url,
            duration: Duration::ZERO,
            tls_not_after,
            first_redirect,
        });
    }
}
