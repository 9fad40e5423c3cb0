//! Politeness: robots.txt fetched once per origin per run (RFC 9309, parsed by the `robotxt`
//! crate) and its `Crawl-delay` between the requests of this crawl to that origin.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use robotxt::{AccessResult, Agent, Robots};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::fetch::{DEFAULT_USER_AGENT, FetchError, Fetcher};
use crate::model::Target;

/// Longest `Crawl-delay` obeyed; a larger one is capped so a crawl still ends.
pub(crate) const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// Largest robots.txt read (RFC 9309 asks for at least 500 KiB).
const MAX_ROBOTS_BODY: u64 = 512 * 1024;
/// Redirects followed to reach robots.txt (RFC 9309: at least five).
const ROBOTS_REDIRECTS: u32 = 5;

/// The rules of one origin for this crawl.
#[derive(Debug)]
pub(super) struct HostRules {
    /// Allow and disallow rules for our product token.
    robots: Robots,
    /// Pause between the starts of two requests to this origin.
    delay: Duration,
    /// When the next request may start.
    next: Mutex<Option<Instant>>,
}

impl HostRules {
    /// Rules that allow everything without delay (`robots: false`).
    pub(super) fn allow_all() -> HostRules {
        HostRules::new(Robots::allow_all(), Duration::ZERO)
    }

    fn new(robots: Robots, delay: Duration) -> HostRules {
        HostRules {
            robots,
            delay,
            next: Mutex::new(None),
        }
    }

    /// May `url` be requested?
    pub(super) fn allows(&self, url: &Url) -> bool {
        self.robots.is_url_allowed(url)
    }

    /// Wait until a request to this origin may start (no wait without `Crawl-delay`).
    pub(super) async fn wait_turn(&self) {
        if self.delay.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let start = match *next {
            Some(at) if at > now => {
                tokio::time::sleep_until(at).await;
                at
            }
            _ => now,
        };
        *next = Some(start + self.delay);
    }
}

/// robots.txt rules by origin, fetched on first use.
#[derive(Debug)]
pub(super) struct Politeness {
    /// `crawl.robots`.
    enabled: bool,
    /// Our product token: the `User-Agent` up to its first `/` or space.
    agent: String,
    /// The target's settings for fetching robots.txt (GET, small body limit).
    template: Target,
    /// Rules by `scheme://host:port`.
    origins: HashMap<String, Arc<HostRules>>,
    /// Shared by every origin when robots are off.
    allow_all: Arc<HostRules>,
}

impl Politeness {
    /// Politeness for pages fetched with `template`'s settings.
    pub(super) fn new(enabled: bool, template: &Target) -> Politeness {
        let user_agent = template
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
            .map_or(DEFAULT_USER_AGENT, |(_, v)| v.as_str());
        let mut robots_template = template.clone();
        robots_template.max_body = MAX_ROBOTS_BODY;
        robots_template.follow_redirects = ROBOTS_REDIRECTS;
        robots_template.retries = 0;
        Politeness {
            enabled,
            agent: product_token(user_agent).to_string(),
            template: robots_template,
            origins: HashMap::new(),
            allow_all: Arc::new(HostRules::allow_all()),
        }
    }

    /// The rules for `url`'s origin, fetching its robots.txt the first time. A problem worth
    /// reporting (robots.txt unreachable: nothing of that origin is crawled) comes back too.
    pub(super) async fn rules(
        &mut self,
        fetcher: &Fetcher,
        url: &Url,
    ) -> (Arc<HostRules>, Option<String>) {
        if !self.enabled {
            return (Arc::clone(&self.allow_all), None);
        }
        let origin = url.origin().ascii_serialization();
        if let Some(rules) = self.origins.get(&origin) {
            return (Arc::clone(rules), None);
        }
        let (robots, problem) = self.fetch(fetcher, url).await;
        let delay = robots
            .crawl_delay()
            .unwrap_or_default()
            .min(MAX_CRAWL_DELAY);
        let rules = Arc::new(HostRules::new(robots, delay));
        self.origins.insert(origin, Arc::clone(&rules));
        (rules, problem)
    }

    /// Fetch and parse robots.txt of `url`'s origin, as RFC 9309 section 2.3.1 says: a 4xx
    /// allows everything, a 5xx or no answer disallows everything.
    async fn fetch(&self, fetcher: &Fetcher, url: &Url) -> (Robots, Option<String>) {
        let agent = Agent::Exact(&self.agent);
        let Ok(robots_url) = robotxt::robots_url(url) else {
            return (Robots::allow_all(), None);
        };
        match fetcher.fetch_url(&self.template, &robots_url).await {
            Ok(r) if (200..300).contains(&r.status) => (
                Robots::from_access(AccessResult::Successful(&r.body), agent),
                None,
            ),
            Ok(r) if (400..500).contains(&r.status) => (Robots::allow_all(), None),
            Ok(r) => (
                Robots::from_access(AccessResult::Unreachable, agent),
                Some(format!(
                    "{robots_url} answered {}: no page of that host is crawled (RFC 9309)",
                    r.status
                )),
            ),
            Err(FetchError::TooManyRedirects(_) | FetchError::RedirectLoop(_)) => (
                Robots::from_access(AccessResult::TooManyRedirects, agent),
                None,
            ),
            Err(e) => (
                Robots::from_access(AccessResult::Unreachable, agent),
                Some(format!(
                    "{robots_url} unreachable: {e}; no page of that host is crawled (RFC 9309)"
                )),
            ),
        }
    }
}

/// The product token of a `User-Agent` value: `dcrawl/0.1 (+https://…)` -> `dcrawl`.
pub(crate) fn product_token(user_agent: &str) -> &str {
    let token = user_agent
        .trim()
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or_default();
    if token.is_empty() { "*" } else { token }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_token_is_the_name_before_the_version() {
        assert_eq!(product_token("dcrawl/0.1.0"), "dcrawl");
        assert_eq!(product_token("  ShopBot/2 (+https://x)"), "ShopBot");
        assert_eq!(product_token("plain"), "plain");
        assert_eq!(product_token(""), "*");
    }

    #[tokio::test(start_paused = true)]
    async fn crawl_delay_spaces_request_starts() {
        let rules = HostRules::new(Robots::allow_all(), Duration::from_millis(300));
        let t0 = Instant::now();
        rules.wait_turn().await;
        rules.wait_turn().await;
        rules.wait_turn().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(600));
        let none = HostRules::allow_all();
        let t1 = Instant::now();
        none.wait_turn().await;
        none.wait_turn().await;
        assert_eq!(t1.elapsed(), Duration::ZERO);
    }

    #[test]
    fn rules_for_our_token_win_over_the_wildcard() {
        let txt = b"User-agent: *\nDisallow: /\n\nUser-agent: dcrawl\nDisallow: /private/\nCrawl-delay: 0.5\n";
        let r = Robots::parse(txt, Agent::Exact("dcrawl"));
        assert!(r.is_url_allowed(&Url::parse("http://h.test/p/1").unwrap()));
        assert!(!r.is_url_allowed(&Url::parse("http://h.test/private/x").unwrap()));
        assert_eq!(r.crawl_delay(), Some(Duration::from_millis(500)));
    }
}
