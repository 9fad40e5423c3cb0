//! Running targets: each target is fetched and evaluated; many run concurrently, bounded by the
//! [`Fetcher`]'s global and per-host limits.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::task::JoinSet;

use crate::evaluate::evaluate;
use crate::fetch::Fetcher;
use crate::model::Target;
use crate::result::{CheckResult, Outcome};

/// Check one target once: fetch, evaluate, and turn both into a [`CheckResult`].
/// Secrets of the target are redacted from everything the result carries.
pub async fn check_target(fetcher: &Fetcher, target: &Target) -> CheckResult {
    if let Some(crawl) = &target.crawl {
        return Box::pin(crate::crawl::run(fetcher, target, Arc::clone(crawl))).await;
    }
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut result = blank(target, started_at);
    match fetcher.fetch(target).await {
        Err(e) => {
            result.outcome = Outcome::Error;
            result.error = Some(target.redact(&e.to_string()));
            result.duration = start.elapsed();
        }
        Ok(response) => {
            let evaluation = evaluate(&target.expect, &target.extract, &response);
            result.status = Some(response.status);
            result.duration = response.duration;
            result.response_size = Some(response.body.len() as u64);
            result.tls_not_after = response.tls_not_after;
            result.extracted = evaluation.extracted;
            result.failures = evaluation
                .failures
                .into_iter()
                .map(|f| f.redacted(&target.secrets))
                .collect();
            result.outcome = if let Some(reason) = evaluation.error {
                result.error = Some(target.redact(&reason));
                Outcome::Error
            } else if result.failures.is_empty() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
        }
    }
    result
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
        .map(|(slot, target)| slot.unwrap_or_else(|| aborted(target)))
        .collect()
}

/// A result for `target` with nothing observed yet (success until something says otherwise).
pub(crate) fn blank(target: &Target, started_at: SystemTime) -> CheckResult {
    CheckResult {
        spec: target.spec.clone(),
        target: target.name.clone(),
        url: target.redact(target.url.as_str()),
        outcome: Outcome::Success,
        error: None,
        status: None,
        duration: Default::default(),
        failures: Vec::new(),
        extracted: Default::default(),
        response_size: None,
        tls_not_after: None,
        started_at,
        crawl: None,
    }
}

fn aborted(target: &Target) -> CheckResult {
    CheckResult {
        outcome: Outcome::Error,
        error: Some("internal error: the check ended abnormally".into()),
        ..blank(target, SystemTime::now())
    }
}
