//! Concurrency bounds: one global semaphore and one semaphore per `scheme://host:port`, and the
//! [`Slots`] a fetch holds of them hop by hop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use super::FetchError;

/// The global and per-host bounds shared by every clone of a `Fetcher`.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Requests in flight in all.
    global: Arc<Semaphore>,
    /// Requests in flight per host; entries are removed when nobody uses them any more.
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Size of each per-host semaphore.
    per_host: usize,
}

/// Permission to run one fetch; dropping it frees both slots.
#[derive(Debug)]
pub(crate) struct Permits {
    /// Global slot (dropped first: field order is drop order).
    _global: OwnedSemaphorePermit,
    /// Per-host slot; cleans its map entry up on drop.
    _host: HostPermit,
}

/// A per-host permit that removes its host's semaphore from the map when it is the last user.
#[derive(Debug)]
struct HostPermit {
    /// The slot itself; `None` while waiting and during drop.
    permit: Option<OwnedSemaphorePermit>,
    /// Our host's semaphore (also in the map).
    sem: Arc<Semaphore>,
    /// The map to clean up.
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Our host's key.
    key: String,
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        // Release the slot first so a waiter can take it.
        drop(self.permit.take());
        // std Mutex: held only for a map lookup, never across an await.
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        // Only the map and we hold the semaphore: nobody else holds or waits for a permit.
        // (Clones are taken under this lock, so the count cannot grow meanwhile.)
        if Arc::strong_count(&self.sem) == 2 {
            hosts.remove(&self.key);
        }
    }
}

impl Limits {
    /// Bounds of `concurrency` in all and `per_host` per host; both must be at least 1.
    pub(crate) fn new(concurrency: usize, per_host: usize) -> Result<Limits, FetchError> {
        if concurrency == 0 {
            return Err(FetchError::Setup("concurrency must be at least 1".into()));
        }
        if per_host == 0 {
            return Err(FetchError::Setup("per-host must be at least 1".into()));
        }
        Ok(Limits {
            global: Arc::new(Semaphore::new(concurrency)),
            hosts: Arc::new(Mutex::new(HashMap::new())),
            per_host,
        })
    }

    /// Wait for a per-host slot, then for a global one (so tasks queued behind a busy host do
    /// not hold global slots).
    #[cfg(test)]
    pub(crate) async fn acquire(&self, url: &Url) -> Result<Permits, FetchError> {
        self.acquire_key(host_key(url)).await
    }

    /// Wait for a per-host slot of `key`'s host, then for a global one (so tasks queued behind
    /// a busy host do not hold global slots).
    async fn acquire_key(&self, key: String) -> Result<Permits, FetchError> {
        let sem = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(
                hosts
                    .entry(key.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        // The guard exists before awaiting so a cancelled wait still cleans the map up.
        let mut host = HostPermit {
            permit: None,
            sem,
            hosts: Arc::clone(&self.hosts),
            key,
        };
        let permit = Arc::clone(&host.sem)
            .acquire_owned()
            .await
            .map_err(closed)?;
        host.permit = Some(permit);
        let global = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .map_err(closed)?;
        Ok(Permits {
            _global: global,
            _host: host,
        })
    }

    /// Number of hosts with a live semaphore (for tests).
    #[cfg(test)]
    fn hosts_tracked(&self) -> usize {
        self.hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The slots one fetch holds as it goes: those of the host its current request goes to.
///
/// A redirect to another host releases the slots held before taking that host's (never two
/// hosts' at once: two redirect chains crossing each other's hosts cannot deadlock), and a
/// retry's backoff holds none.
#[derive(Debug)]
pub(crate) struct Slots<'l> {
    /// The bounds.
    limits: &'l Limits,
    /// The host key and slots held, if any.
    held: Option<(String, Permits)>,
}

impl<'l> Slots<'l> {
    /// Holding nothing yet.
    pub(crate) fn new(limits: &'l Limits) -> Slots<'l> {
        Slots { limits, held: None }
    }

    /// Hold the slots for a request to `url`: kept if already held for its host, else the
    /// held ones are released and `url`'s host's taken. Returns how long it waited.
    pub(crate) async fn hold(&mut self, url: &Url) -> Result<Duration, FetchError> {
        let key = host_key(url);
        if self.held.as_ref().is_some_and(|(k, _)| *k == key) {
            return Ok(Duration::ZERO);
        }
        self.held = None;
        let started = Instant::now();
        let permits = self.limits.acquire_key(key.clone()).await?;
        self.held = Some((key, permits));
        Ok(started.elapsed())
    }

    /// Hold nothing (during a retry's backoff).
    pub(crate) fn release(&mut self) {
        self.held = None;
    }
}

/// The semaphores are never closed; map the impossible error anyway instead of panicking.
fn closed(_: tokio::sync::AcquireError) -> FetchError {
    FetchError::Other("concurrency limiter closed".into())
}

/// `scheme://host:port` with the default port filled in.
pub(crate) fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn keys_include_default_ports() {
        assert_eq!(
            host_key(&url("https://a.example/x")),
            "https://a.example:443"
        );
        assert_eq!(
            host_key(&url("http://a.example:8080/")),
            "http://a.example:8080"
        );
        assert_eq!(host_key(&url("http://A.example/")), "http://a.example:80");
    }

    #[test]
    fn zero_bounds_are_rejected() {
        assert!(Limits::new(0, 1).is_err());
        assert!(Limits::new(1, 0).is_err());
    }

    #[tokio::test]
    async fn per_host_bound_and_cleanup() {
        let limits = Limits::new(10, 1).unwrap();
        let a = url("http://a/");
        let first = limits.acquire(&a).await.unwrap();
        // A second permit for the same host must wait.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), limits.acquire(&a)).await;
        assert!(waiting.is_err());
        // Another host is independent.
        let other = limits.acquire(&url("http://b/")).await.unwrap();
        assert_eq!(limits.hosts_tracked(), 2);
        drop(first);
        drop(other);
        assert_eq!(limits.hosts_tracked(), 0);
    }

    #[tokio::test]
    async fn cancelled_wait_cleans_up() {
        let limits = Limits::new(10, 1).unwrap();
        let a = url("http://a/");
        let held = limits.acquire(&a).await.unwrap();
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(20), limits.acquire(&a)).await;
        assert!(waiting.is_err());
        drop(held);
        assert_eq!(limits.hosts_tracked(), 0);
    }

    #[tokio::test]
    async fn slots_follow_the_host_and_are_released_for_backoff() {
        let limits = Limits::new(10, 1).unwrap();
        let (a, b) = (url("http://a/"), url("http://b/"));
        let mut slots = Slots::new(&limits);
        slots.hold(&a).await.unwrap();
        // Same host: kept, no second slot taken (per-host is 1).
        slots.hold(&url("http://a/other")).await.unwrap();
        // Another host: a's slot is free again, b's is taken.
        slots.hold(&b).await.unwrap();
        let short = std::time::Duration::from_millis(50);
        assert!(
            tokio::time::timeout(short, limits.acquire(&a))
                .await
                .is_ok()
        );
        assert!(
            tokio::time::timeout(short, limits.acquire(&b))
                .await
                .is_err()
        );
        slots.release();
        assert!(
            tokio::time::timeout(short, limits.acquire(&b))
                .await
                .is_ok()
        );
        assert_eq!(limits.hosts_tracked(), 0);
    }

    #[tokio::test]
    async fn global_bound() {
        let limits = Limits::new(1, 5).unwrap();
        let held = limits.acquire(&url("http://a/")).await.unwrap();
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            limits.acquire(&url("http://b/")),
        )
        .await;
        assert!(waiting.is_err());
        drop(held);
        assert!(limits.acquire(&url("http://b/")).await.is_ok());
    }
}
