//! Running targets: each target is one page check (`crate::page`), a crawl
//! (`crate::crawl`) or a multi-step flow (`crate::flow`); many run concurrently, bounded by the [`Fetcher`]'s global and per-host
//! limits.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::task::JoinSet;

use crate::fetch::Fetcher;
use crate::model::Target;
use crate::page::{self, Checks};
use crate::result::CheckResult;

/// Check one target once and turn what was found into a [`CheckResult`]. Secrets of the target
/// are redacted from everything the result carries.
pub async fn check_target(fetcher: &Fetcher, target: &Target) -> CheckResult {
    if let Some(crawl) = &target.crawl {
        return Box::pin(crate::crawl::run(fetcher, target, Arc::clone(crawl))).await;
    }
    if let Some(render) = &target.render {
        return Box::pin(page::render::check(fetcher.renderer(), target, render)).await;
    }
    if let Some(flow) = &target.flow {
        return Box::pin(crate::flow::run(fetcher, target, flow)).await;
    }
    let started_at = SystemTime::now();
    let checked = page::check(fetcher, target, &target.url, Checks::of(target), None).await;
    CheckResult::of_page(target, started_at, checked)
}

/// Check every target once, concurrently. `on_done` is called as each finishes (for progress);
/// the returned results are in the order of `targets`.
pub async fn run_once(
    fetcher: Arc<Fetcher>,
    targets: Vec<Arc<Target>>,
    mut on_done: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let mut tasks = JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        let fetcher = Arc::clone(&fetcher);
        let target = Arc::clone(target);
        tasks.spawn(async move { (index, check_target(&fetcher, &target).await) });
    }
    let mut slots: Vec<Option<CheckResult>> = vec![None; targets.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, result)) => {
                on_done(&result);
                slots[index] = Some(result);
            }
            Err(e) => tracing::error!(error = %e, "a check task ended abnormally"),
        }
    }
    // A task that panicked leaves its slot empty: report it as an error, never drop it.
    slots
        .into_iter()
        .zip(targets.iter())
        .map(|(slot, target)| slot.unwrap_or_else(|| CheckResult::aborted(target)))
        .collect()
}
