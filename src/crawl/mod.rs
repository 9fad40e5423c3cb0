//! Crawling: a target with `crawl` starts at its seed page, follows links (and sitemap entries)
//! within its bounds, and checks every page it reaches with `expect_each`.
//!
//! Pages are planned in breadth-first order and their results are processed in that same order
//! (a page that answers early waits in a small reorder buffer), so which pages a run fetches and
//! who linked to whom never depends on response timing. Up to `concurrency` pages are fetched
//! at once, each in its own task; the fetcher's global and per-host bounds apply as well, and
//! robots.txt and its `Crawl-delay` are obeyed per origin. Only URLs, counts and failures are
//! kept: a page's body is dropped as soon as it has been checked and its links taken.

mod frontier;
mod robots;
mod sitemap;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::task::JoinSet;
use url::{Origin, Url};

use crate::fetch::Fetcher;
use crate::model::{Crawl, Expect, Target};
use crate::page::{self, Checked, Checks};
use crate::redact::is_credential_header;
use crate::result::{CheckResult, CrawlReport, Failure, Outcome, PageResult};
use frontier::{Frontier, Planned, Scope};
use robots::Politeness;

pub(crate) use crate::page::normalise;

/// Crawl `target` once from its seed and check every page; the result carries the seed's
/// status, extracted values and failures plus a `page.ID` failure per failed page assertion.
pub(crate) async fn run(fetcher: &Fetcher, target: &Target, crawl: Arc<Crawl>) -> CheckResult {
    let start = Instant::now();
    let mut result = CheckResult::blank(target, SystemTime::now());
    let seed_url = normalise(target.url.clone());
    let ctx = Arc::new(PageCtx::new(
        fetcher.clone(),
        target,
        Arc::clone(&crawl),
        &seed_url,
    ));
    let mut run = Run {
        scope: ctx.scope.clone(),
        frontier: Frontier::new(crawl.max_pages),
        polite: Politeness::new(crawl.robots, &ctx.same_origin),
        report: CrawlReport::default(),
        problems: Vec::new(),
        page_failures: Vec::new(),
    };

    let seed = Planned {
        url: seed_url,
        depth: 0,
        linked_from: None,
    };
    run.frontier.admit(seed.clone());
    let checks = Checks {
        follow: (crawl.max_depth > 0).then_some(&crawl.follow),
        ..Checks::of(target)
    };
    let checked = page::check(fetcher, target, &target.url, checks, None).await;
    result.status = checked.status;
    result.response_size = checked.size;
    result.tls_not_after = checked.tls_not_after;
    result.extracted = checked.extracted.clone();
    result.failures = checked.failures.clone();
    result.error = checked.error.clone();
    let seed_failed = checked.outcome == Outcome::Error;
    let links = run.record(&seed, checked, target, true);

    if !seed_failed {
        if let Some(sitemap) = &crawl.sitemap {
            let (entries, problems) = sitemap::pages(fetcher, &ctx.same_origin, sitemap).await;
            run.problems
                .extend(problems.into_iter().map(|p| Failure::new("sitemap", p)));
            for (url, from) in entries {
                run.consider(fetcher, normalise(url), 0, Some(from)).await;
            }
        }
        let from: Arc<str> = Arc::from(seed.url.as_str());
        for link in links {
            run.consider(fetcher, link, 1, Some(Arc::clone(&from)))
                .await;
        }
        run.pages(fetcher, &ctx, target).await;
    }

    result.failures.append(&mut run.problems);
    result.failures.append(&mut run.page_failures);
    result.outcome = Outcome::judge(seed_failed, &result.failures);
    run.report.truncated = run.frontier.truncated;
    result.crawl = Some(Box::new(run.report));
    result.duration = start.elapsed();
    result
}

/// What every page task needs, shared.
#[derive(Debug)]
struct PageCtx {
    /// The process's fetcher.
    fetcher: Fetcher,
    /// Request settings for pages on the seed's origin: GET, the target's headers.
    same_origin: Target,
    /// Request settings for other origins: credential headers left out.
    foreign: Target,
    /// The seed's origin.
    seed_origin: Origin,
    /// The crawl's settings.
    crawl: Arc<Crawl>,
    /// What applies to a page that is not HTML.
    non_html: Expect,
    /// Where the crawl may go, redirects included.
    scope: Scope,
}

impl PageCtx {
    fn new(fetcher: Fetcher, target: &Target, crawl: Arc<Crawl>, seed: &Url) -> PageCtx {
        let same_origin = Target {
            method: reqwest::Method::GET,
            body: None,
            expect: Expect::default(),
            extract: Vec::new(),
            crawl: None,
            ..target.clone()
        };
        let mut foreign = same_origin.clone();
        foreign.headers.retain(|(n, _)| !is_credential_header(n));
        PageCtx {
            fetcher,
            same_origin,
            foreign,
            seed_origin: seed.origin(),
            non_html: page::http_only(&crawl.expect_each),
            scope: Scope::new(seed, &crawl),
            crawl,
        }
    }

    /// Fetch and check one planned page.
    async fn check(&self, planned: &Planned) -> Checked {
        let request = if planned.url.origin() == self.seed_origin {
            &self.same_origin
        } else {
            &self.foreign
        };
        let checks = Checks {
            expect: &self.crawl.expect_each,
            non_html: &self.non_html,
            extract: &[],
            follow: (planned.depth < self.crawl.max_depth).then_some(&self.crawl.follow),
            status_only: true,
        };
        let within = |url: &Url| self.scope.contains(&normalise(url.clone()));
        page::check(&self.fetcher, request, &planned.url, checks, Some(&within)).await
    }
}

/// The mutable state of one crawl run.
struct Run {
    /// Which URLs may be requested.
    scope: Scope,
    /// URLs seen and pages planned.
    frontier: Frontier,
    /// robots.txt per origin.
    polite: Politeness,
    /// Pages and counts so far.
    report: CrawlReport,
    /// Unreadable sitemaps and unreachable robots.txt files.
    problems: Vec<Failure>,
    /// `page.ID` failures of failed pages, in crawl order.
    page_failures: Vec<Failure>,
}

impl Run {
    /// Plan `url` (normalised) if it is new, in scope, allowed by robots.txt and in budget.
    async fn consider(&mut self, fetcher: &Fetcher, url: Url, depth: u32, from: Option<Arc<str>>) {
        if self.frontier.is_seen(&url) || !self.scope.contains(&url) {
            return;
        }
        let (rules, problem) = self.polite.rules(fetcher, &url).await;
        if let Some(p) = problem {
            self.problems.push(Failure::new("robots", p));
        }
        if !rules.allows(&url) {
            if self.frontier.mark_seen(url) {
                self.report.robots_skipped += 1;
            }
            return;
        }
        self.frontier.admit(Planned {
            url,
            depth,
            linked_from: from,
        });
    }

    /// Fetch every planned page but the seed, up to `concurrency` at once, processing results
    /// in plan order (which plans their links).
    async fn pages(&mut self, fetcher: &Fetcher, ctx: &Arc<PageCtx>, target: &Target) {
        let concurrency = usize::try_from(ctx.crawl.concurrency).unwrap_or(1).max(1);
        let mut tasks = JoinSet::new();
        let mut index_of = HashMap::new();
        let mut waiting: BTreeMap<usize, Checked> = BTreeMap::new();
        let (mut next_start, mut next_done) = (1usize, 1usize);
        loop {
            while tasks.len() < concurrency
                && let Some(planned) = self.frontier.get(next_start).cloned()
            {
                let (rules, _) = self.polite.rules(fetcher, &planned.url).await;
                let ctx = Arc::clone(ctx);
                let handle = tasks.spawn(async move {
                    rules.wait_turn().await;
                    ctx.check(&planned).await
                });
                index_of.insert(handle.id(), next_start);
                next_start += 1;
            }
            let Some(joined) = tasks.join_next_with_id().await else {
                break;
            };
            let (id, checked) = match joined {
                Ok((id, checked)) => (id, checked),
                Err(e) => (e.id(), page::aborted()),
            };
            if let Some(index) = index_of.remove(&id) {
                waiting.insert(index, checked);
            }
            while let Some(checked) = waiting.remove(&next_done) {
                let Some(planned) = self.frontier.get(next_done).cloned() else {
                    break;
                };
                next_done += 1;
                let links = self.record(&planned, checked, target, false);
                let from: Arc<str> = Arc::from(planned.url.as_str());
                for link in links {
                    self.consider(fetcher, link, planned.depth + 1, Some(Arc::clone(&from)))
                        .await;
                }
            }
        }
    }

    /// Count and keep a checked page (and, for any page but the seed, its `page.ID` failures);
    /// returns its links.
    fn record(
        &mut self,
        planned: &Planned,
        checked: Checked,
        target: &Target,
        seed: bool,
    ) -> Vec<Url> {
        if let Some(end) = &checked.final_url {
            self.frontier.mark_seen(normalise(end.clone()));
        }
        let url = target.redact(planned.url.as_str());
        let linked_from = planned.linked_from.as_deref().map(|f| target.redact(f));
        // A page with warnings only passed; its warnings are reported like failures.
        if checked.outcome.is_failing() {
            self.report.failed += 1;
        } else {
            self.report.ok += 1;
        }
        if !seed && checked.outcome != Outcome::Success {
            let via = linked_from
                .as_deref()
                .map(|f| format!(" (linked from {f})"))
                .unwrap_or_default();
            if let Some(error) = &checked.error {
                self.page_failures
                    .push(Failure::new("page.error", format!("{url}: {error}{via}")));
            }
            for f in &checked.failures {
                self.page_failures.push(
                    Failure::new(
                        format!("page.{}", f.assertion),
                        format!("{url}: {}{via}", f.text()),
                    )
                    .with_severity(f.severity),
                );
            }
        }
        self.report.pages.push(PageResult {
            url,
            depth: planned.depth,
            linked_from,
            outcome: checked.outcome,
            error: checked.error,
            status: checked.status,
            duration: checked.duration,
            failures: checked.failures,
        });
        checked.links
    }
}
