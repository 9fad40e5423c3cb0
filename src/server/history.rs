//! `/api/v1/history` and the history shown on the status page.
//!
//! `GET /api/v1/history?spec=&target=&from=&to=` returns, for the configured targets that
//! `spec` and `target` select (all by default), uptime over 24 h / 7 d / 30 d before `to`,
//! uptime, time and runs over `[from, to)`, latency percentiles and series, and incidents.
//! `from`/`to` are RFC 3339 times or dates (default: the last 30 days); a bad value is a `400`
//! with a message, an unknown spec or target a `404`.
//!
//! The status page's summaries of every target are computed at most every
//! [`SUMMARY_TTL`] (one computation at a time; requests meanwhile share it), off the async
//! workers.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::ServerHandle;
use crate::history::doc::{self, Key, Options};
use crate::history::query::Reader;
use crate::history::range;
use crate::history::report::{percent, span, when};
use crate::history::summary::{Summarizer, Summary};

/// How long the status page's summaries are reused.
pub const SUMMARY_TTL: Duration = Duration::from_secs(10);
/// Incidents listed per target by the API at most.
pub const API_INCIDENTS: usize = 100;

/// The status page's summaries: what keeps them up to date, the last ones and when they were
/// computed.
#[derive(Default)]
struct Summaries {
    /// Reads the closed hours once an hour, the last two at each refresh.
    summarizer: Summarizer,
    /// The last summaries.
    last: Option<(Instant, Arc<HashMap<Key, Summary>>)>,
}

/// History for the endpoints: a read-only connection and the status page's summaries.
pub struct HistoryHandle {
    /// The read-only connection.
    reader: Arc<Reader>,
    /// The summaries (the lock also makes concurrent refreshes wait for one).
    summaries: tokio::sync::Mutex<Summaries>,
}

impl HistoryHandle {
    /// Read through `reader`.
    pub fn new(reader: Arc<Reader>) -> HistoryHandle {
        HistoryHandle {
            reader,
            summaries: tokio::sync::Mutex::new(Summaries::default()),
        }
    }

    /// The read-only connection.
    pub fn reader(&self) -> Arc<Reader> {
        Arc::clone(&self.reader)
    }

    /// Every target's summary, at most [`SUMMARY_TTL`] old; `None` when history cannot be read
    /// (logged).
    pub async fn summaries(&self) -> Option<Arc<HashMap<Key, Summary>>> {
        let mut cached = self.summaries.lock().await;
        if let Some((at, s)) = &cached.last
            && at.elapsed() < SUMMARY_TTL
        {
            return Some(Arc::clone(s));
        }
        let reader = Arc::clone(&self.reader);
        let now = Utc::now().timestamp_millis();
        let mut summarizer = std::mem::take(&mut cached.summarizer);
        let computed = tokio::task::spawn_blocking(move || {
            let s = reader.with(|db| summarizer.summaries(db, now));
            (summarizer, s)
        })
        .await;
        match computed {
            Ok((summarizer, Ok(s))) => {
                cached.summarizer = summarizer;
                let s = Arc::new(s);
                cached.last = Some((Instant::now(), Arc::clone(&s)));
                Some(s)
            }
            Ok((summarizer, Err(e))) => {
                cached.summarizer = summarizer;
                tracing::error!(error = %e, "history: cannot read the status page's summaries");
                cached.last.as_ref().map(|(_, s)| Arc::clone(s))
            }
            Err(_) => None,
        }
    }
}

fn problem(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": message }).to_string(),
    )
        .into_response()
}

/// The query parameters `allowed` from a raw query string: each at most once, no others.
pub fn params(raw: Option<&str>, allowed: &[&str]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(format!(
                "unknown parameter {k:?} (known: {})",
                allowed.join(", ")
            ));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("parameter {k:?} is given twice"));
        }
    }
    Ok(out)
}

/// `GET /api/v1/history`.
pub async fn api(State(handle): State<ServerHandle>, RawQuery(raw): RawQuery) -> Response {
    let Some(history) = handle.history.clone() else {
        return problem(
            StatusCode::NOT_FOUND,
            "this instance keeps no history".to_string(),
        );
    };
    let p = match params(raw.as_deref(), &["spec", "target", "from", "to"]) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let now = Utc::now();
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let r = match range::resolve(get("from"), get("to"), now) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let (spec, target) = (get("spec"), get("target"));
    let keys = handle.status.keys();
    if let Some(s) = spec
        && !keys.iter().any(|(k, _)| k == s)
    {
        let mut known: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        known.dedup();
        return problem(
            StatusCode::NOT_FOUND,
            format!("no spec named {s:?} (specs: {})", known.join(", ")),
        );
    }
    let wanted: Vec<Key> = keys
        .into_iter()
        .filter(|(s, t)| spec.is_none_or(|x| s == x) && target.is_none_or(|x| t == x))
        .collect();
    if let Some(t) = target
        && wanted.is_empty()
    {
        return problem(
            StatusCode::NOT_FOUND,
            format!("no target named {t:?} in the selected specs"),
        );
    }
    let reader = history.reader();
    let (from, to, at) = (
        r.from.timestamp_millis(),
        r.to.timestamp_millis(),
        now.timestamp_millis(),
    );
    let options = Options {
        incidents_limit: API_INCIDENTS,
        series: true,
    };
    let built = tokio::task::spawn_blocking(move || {
        reader.with(|db| doc::build(db, &wanted, from, to, at, options))
    })
    .await;
    match built {
        Ok(Ok(targets)) => {
            let body = json!({
                "generated_at": now,
                "from": r.from,
                "to": r.to,
                "targets": targets,
            });
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "history: cannot answer /api/v1/history");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "history could not be read; see the logs".to_string(),
            )
        }
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "history could not be read".to_string(),
        ),
    }
}

/// A target's history on the status page.
#[derive(Debug, Clone, Serialize)]
pub struct UptimeView {
    /// Uptime over 24 h.
    pub d1: String,
    /// Over 7 days.
    pub d7: String,
    /// Over 30 days.
    pub d30: String,
    /// The latency sparkline, when any hour had runs.
    pub spark: Option<Spark>,
    /// The most recent incidents of the last 30 days, one line each.
    pub incidents: Vec<String>,
    /// How many more incidents the last 30 days had.
    pub more: u64,
    /// The target's `/api/v1/history` (every incident of the last 30 days).
    pub link: String,
}

/// An inline SVG sparkline: its path and what it shows.
#[derive(Debug, Clone, Serialize)]
pub struct Spark {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The SVG path (`Mx,yLx,y...`, a gap where an hour had no runs).
    pub path: String,
    /// Tooltip: what the line is, its lowest and highest value.
    pub title: String,
}

/// Pixels per hour of the sparkline.
const SPARK_STEP: u32 = 4;
/// Height of the sparkline.
const SPARK_HEIGHT: u32 = 16;

/// The sparkline of hourly medians (oldest first).
pub fn spark(values: &[Option<f64>]) -> Option<Spark> {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let max = known.iter().copied().fold(f64::MIN, f64::max);
    let min = known.iter().copied().fold(f64::MAX, f64::min);
    if known.is_empty() {
        return None;
    }
    let h = f64::from(SPARK_HEIGHT);
    // Whole pixels, written straight into one string: the page has one sparkline per target.
    let mut path = String::with_capacity(values.len() * 8);
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v else {
            pen_down = false;
            continue;
        };
        let x = i as u32 * SPARK_STEP;
        let y = if max > 0.0 {
            ((h - 1.0) - (v / max) * (h - 2.0)).round() as u32
        } else {
            SPARK_HEIGHT - 1
        };
        let _ = write!(path, "{}{x},{y}", if pen_down { 'L' } else { 'M' });
        pen_down = true;
    }
    let show = |s: f64| crate::history::report::latency(Some(s));
    Some(Spark {
        width: (values.len().max(1) as u32 - 1) * SPARK_STEP + 1,
        height: SPARK_HEIGHT,
        path,
        title: format!(
            "median latency per hour, last {} h: {} to {}",
            values.len(),
            show(min),
            show(max)
        ),
    })
}

/// One incident line: `2026-11-25 10:02:00 UTC → 10:14:00 UTC (12 min): first failure`.
fn incident_line(i: &crate::history::query::Incident, now: i64) -> String {
    use chrono::Timelike as _;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let start = at(i.start_ms);
    let end = match i.end_ms.map(at) {
        None => "open".to_string(),
        Some(e) if e.date_naive() == start.date_naive() => {
            format!("{:02}:{:02}:{:02} UTC", e.hour(), e.minute(), e.second())
        }
        Some(e) => when(e),
    };
    let took = (i.end_ms.unwrap_or(now).max(i.start_ms) - i.start_ms) as f64 / 1000.0;
    let mut line = format!("{} → {end} ({})", when(start), span(took));
    if let Some(f) = &i.first_failure {
        line.push_str(": ");
        match f.char_indices().nth(PAGE_FAILURE_CHARS) {
            Some((i, _)) => {
                line.push_str(&f[..i]);
                line.push('…');
            }
            None => line.push_str(f),
        }
    }
    line
}

/// Characters of an incident's first failure shown on the status page (the API has it all).
const PAGE_FAILURE_CHARS: usize = 160;

impl UptimeView {
    /// The status page's markup of it: the uptime line with the sparkline, then the
    /// incidents. Written here rather than in the template: at 10,000 targets the template
    /// engine's per-value work was most of the page's cost.
    pub fn html(&self) -> String {
        use crate::report::escape_html as e;
        let mut out = String::with_capacity(512);
        let _ = write!(
            out,
            "<div class=\"meta uptime\">uptime 24 h {} · 7 d {} · 30 d {}",
            e(&self.d1),
            e(&self.d7),
            e(&self.d30)
        );
        if let Some(s) = &self.spark {
            let _ = write!(
                out,
                "<svg width=\"{}\" height=\"{}\" role=\"img\"><title>{}</title><path d=\"{}\"/></svg>",
                s.width,
                s.height,
                e(&s.title),
                e(&s.path)
            );
        }
        out.push_str("</div>");
        if !self.incidents.is_empty() {
            out.push_str("\n    <ul class=\"incidents\">");
            for i in &self.incidents {
                let _ = write!(out, "<li>incident {}</li>", e(i));
            }
            if self.more > 0 {
                let _ = write!(
                    out,
                    "<li>… and {} more in 30 d (<a href=\"{}\">history</a>)</li>",
                    self.more,
                    e(&self.link)
                );
            }
            out.push_str("</ul>");
        }
        out
    }
}

/// What the status page shows of `s`, the summary of spec/target.
pub fn uptime_view(s: &Summary, spec: &str, target: &str, now: i64) -> UptimeView {
    UptimeView {
        d1: percent(s.uptime.day),
        d7: percent(s.uptime.week),
        d30: percent(s.uptime.month),
        spark: spark(&s.spark),
        incidents: s
            .incidents
            .list
            .iter()
            .map(|i| incident_line(i, now))
            .collect(),
        more: s
            .incidents
            .total
            .saturating_sub(s.incidents.list.len() as u64),
        link: format!(
            "/api/v1/history?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("spec", spec)
                .append_pair("target", target)
                .finish()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        let p = params(Some("spec=a&to=2026-01-01"), &["spec", "to"]).unwrap();
        assert_eq!(p["spec"], "a");
        assert_eq!(
            params(Some("form=x"), &["from"]).unwrap_err(),
            "unknown parameter \"form\" (known: from)"
        );
        assert_eq!(
            params(Some("from=a&from=b"), &["from"]).unwrap_err(),
            "parameter \"from\" is given twice"
        );
        assert!(params(None, &["from"]).unwrap().is_empty());
    }

    /// A page with a target that had more incidents than it lists links their history.
    #[test]
    fn many_incidents_link_the_targets_history() {
        use crate::history::query::{Incident, Incidents};
        use crate::status::{SpecState, TargetState};
        let incident = |start_ms| Incident {
            start_ms,
            end_ms: Some(start_ms + 60_000),
            result: "failure",
            first_failure: Some("status: expected 2xx, found 500 <b>".into()),
            failed_runs: 1,
        };
        let summary = Summary {
            spark: vec![Some(0.02); 24],
            incidents: Incidents {
                list: (0..3)
                    .map(|i| incident(1_800_000_000_000 - i * 3_600_000))
                    .collect(),
                total: 7,
            },
            ..Summary::default()
        };
        let state = TargetState {
            url: "http://127.0.0.1/".into(),
            schedule: "@every 1m".into(),
            last: None,
            history: Default::default(),
            next_run: None,
            alert: None,
            screenshot: None,
            blocked_by: None,
            maintenance: None,
            silenced: None,
        };
        let specs = vec![(
            "my shop".to_string(),
            SpecState {
                labels: Default::default(),
                targets: vec![("home&co".to_string(), state)],
            },
        )];
        let summaries = HashMap::from([(("my shop".to_string(), "home&co".to_string()), summary)]);
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let page =
            super::super::page::render_with(&specs, Default::default(), now, Some(&summaries))
                .unwrap();
        assert!(page.contains("uptime 24 h — · 7 d — · 30 d —"), "{page}");
        assert!(page.contains("… and 4 more in 30 d"), "{page}");
        assert!(
            page.contains("href=\"/api/v1/history?spec=my+shop&amp;target=home%26co\""),
            "{page}"
        );
        assert!(page.contains("found 500 &lt;b&gt;"), "{page}");
        assert_eq!(page.matches("<li>incident ").count(), 3);
    }

    #[test]
    fn sparkline_breaks_at_hours_without_runs() {
        let s = spark(&[Some(0.01), Some(0.02), None, Some(0.02)]).unwrap();
        assert_eq!(s.path, "M0,8L4,1M12,1");
        assert_eq!(s.width, 13);
        assert!(s.title.contains("10 ms to 20 ms"), "{}", s.title);
        assert!(spark(&[None, None]).is_none());
    }
}
