//! `/api/v1/status`: every spec and target as JSON.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::report::json::{CrawlJson, PageJson, StepJson, number_value};
use crate::result::{CrawlReport, Outcome};
use crate::shard::Share;
use crate::status::{SpecState, TargetState};

fn rfc3339(t: std::time::SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn target_json(name: &str, s: &TargetState) -> Value {
    let last = s.last.as_ref();
    json!({
        "name": name,
        "url": s.url,
        "schedule": s.schedule,
        "result": last.map(|r| r.outcome.as_str()),
        "error": last.and_then(|r| r.error.clone()),
        "status": last.and_then(|r| r.status),
        "duration_seconds": last.map(|r| r.duration.as_secs_f64()),
        "failures": last.map(|r| r.failures.clone()).unwrap_or_default(),
        "extracted": last.map(|r| r.extracted.iter().map(|(k, v)| (k.clone(), number_value(*v))).collect::<serde_json::Map<_, _>>()).unwrap_or_default(),
        "last_run": last.map(|r| rfc3339(r.started_at)),
        "next_run": s.next_run.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "alert": s.alert,
        "blocked_by": s.blocked_by,
        "maintenance": s.maintenance.as_ref().map(|m| json!({"name": m.name, "until": m.until.to_rfc3339_opts(SecondsFormat::Secs, true)})),
        "silenced": s.silenced.as_ref().map(|(id, until)| json!({"id": id, "until": until.to_rfc3339_opts(SecondsFormat::Secs, true)})),
        "history": s.history.iter().map(|h| json!({"result": h.outcome().as_str(), "at": rfc3339(h.at())})).collect::<Vec<_>>(),
        "crawl": last.and_then(|r| r.crawl.as_deref()).map(crawl_json),
        "screenshot_url": s.screenshot,
        "steps": last.and_then(|r| r.steps.as_ref()).map(|steps| steps.iter().map(StepJson::of).collect::<Vec<_>>()),
    })
}

/// A crawl target's counts and failed pages.
fn crawl_json(c: &CrawlReport) -> Value {
    let mut doc = serde_json::to_value(CrawlJson::of(c)).unwrap_or_default();
    if let Some(map) = doc.as_object_mut() {
        let failed: Vec<Value> = c
            .failed_pages()
            .filter_map(|p| serde_json::to_value(PageJson::of(p)).ok())
            .collect();
        map.insert("failed_pages".into(), Value::Array(failed));
    }
    doc
}

/// The whole status document: this shard's specs and targets (all of them when unsharded).
pub fn document(specs: &[(String, SpecState)], share: Share, now: DateTime<Utc>) -> Value {
    let mut counts = [0usize; 5];
    for (_, spec) in specs {
        for (_, t) in &spec.targets {
            let i = match t.last.as_ref().map(|r| r.outcome) {
                Some(Outcome::Success) => 0,
                Some(Outcome::Failure) => 1,
                Some(Outcome::Error) => 2,
                None => 3,
                Some(Outcome::Warning) => 4,
            };
            counts[i] += 1;
        }
    }
    json!({
        "generated_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "summary": {"success": counts[0], "warning": counts[4], "failure": counts[1], "error": counts[2], "pending": counts[3]},
        "shard": {"index": share.shard.index(), "count": share.shard.count(), "targets": share.owned, "targets_total": share.total},
        "specs": specs.iter().map(|(name, spec)| json!({
            "name": name,
            "labels": spec.labels,
            "targets": spec.targets.iter().map(|(n, t)| target_json(n, t)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
