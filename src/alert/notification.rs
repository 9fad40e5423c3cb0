//! What a channel is told about a target's alert, and how it is rendered.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::result::Failure;

/// `firing` or `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The target has failed `after` consecutive runs.
    Firing,
    /// The target recovered.
    Resolved,
}

/// One notification for one channel (stored in the outbox as JSON until delivered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The channel it goes to.
    pub channel: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
    /// The target's URL (secrets redacted).
    pub url: String,
    /// The spec's labels.
    pub labels: BTreeMap<String, String>,
    /// When the target started failing (the first failed run of this streak).
    pub since: DateTime<Utc>,
    /// When it recovered (resolved only).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Consecutive failed runs so far.
    pub consecutive_failures: u32,
    /// `warning`, `failure` or `error` (the last failed run's result; `success`, or `warning`
    /// for a route that does not count warnings, when resolved).
    pub result: String,
    /// The last failed run's error reason, if it was an error.
    pub error: Option<String>,
    /// The last failed run's failures (for a crawl: up to 20 URLs with reasons).
    pub failures: Vec<Failure>,
    /// True for a re-notification of an alert still firing (`repeat`).
    pub repeat: bool,
    /// A link to the status page, when `--external-url` is set.
    pub status_page: Option<String>,
    /// A link to the screenshot this run of a rendered target kept, when `--external-url` is
    /// set.
    #[serde(default)]
    pub screenshot_url: Option<String>,
    /// When the notification was created.
    pub created_at: DateTime<Utc>,
}

/// How many failure lines a Slack message or an email lists before "... and N more".
pub const MAX_FAILURE_LINES: usize = 20;

/// How many characters of the first failure an email subject keeps.
const SUBJECT_DETAIL_CHARS: usize = 120;

impl AlertStatus {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl Notification {
    /// `shop/home`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.spec, self.target)
    }

    /// `[FIRING] shop/home` or `[RESOLVED] shop/home`.
    pub fn title(&self) -> String {
        format!("[{}] {}", self.status.as_str().to_uppercase(), self.key())
    }

    /// What went wrong, one line each: the error reason, then every failure (`Failure::line`).
    pub fn problem_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.error.iter().map(|e| format!("error: {e}")).collect();
        lines.extend(self.failures.iter().map(Failure::line));
        lines
    }

    /// The first problem as one line: the first failure, else the error reason.
    pub fn first_problem(&self) -> Option<String> {
        match (self.failures.first(), &self.error) {
            (Some(f), _) => Some(f.line()),
            (None, Some(e)) => Some(e.clone()),
            (None, None) => None,
        }
    }
}

/// RFC 3339 in UTC with whole seconds and `Z`: `2026-11-25T10:00:00Z`.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The generic webhook payload (`format: json`), plus `resolved_at`, `error`,
/// `repeat` and `status_page`. It is also the context of channel templates.
pub fn json_payload(n: &Notification) -> Value {
    let failures: Vec<Value> = n
        .failures
        .iter()
        .map(|f| match f.severity {
            crate::result::Severity::Failure => {
                json!({"assertion": f.assertion, "message": f.message})
            }
            crate::result::Severity::Warning => {
                json!({"assertion": f.assertion, "message": f.message, "severity": "warning"})
            }
        })
        .collect();
    json!({
        "version": "1",
        "status": n.status.as_str(),
        "spec": n.spec,
        "target": n.target,
        "url": n.url,
        "labels": n.labels,
        "since": rfc3339(&n.since),
        "resolved_at": n.resolved_at.as_ref().map(rfc3339),
        "consecutive_failures": n.consecutive_failures,
        "result": n.result,
        "error": n.error,
        "failures": failures,
        "repeat": n.repeat,
        "status_page": n.status_page,
        "screenshot_url": n.screenshot_url,
    })
}

/// The problem lines capped at [`MAX_FAILURE_LINES`], with a last line counting the rest.
fn capped_problems(n: &Notification) -> Vec<String> {
    let mut lines = n.problem_lines();
    if lines.len() > MAX_FAILURE_LINES {
        let rest = lines.len() - MAX_FAILURE_LINES;
        lines.truncate(MAX_FAILURE_LINES);
        lines.push(format!("... and {rest} more"));
    }
    lines
}

/// The facts of a notification as plain-text lines (shared by the email and Slack bodies).
fn fact_lines(n: &Notification) -> Vec<String> {
    let mut out = vec![format!("URL: {}", n.url)];
    match n.status {
        AlertStatus::Firing => {
            let repeat = if n.repeat { " (still firing)" } else { "" };
            out.push(format!(
                "Failing since {} ({} consecutive failed runs, last result: {}){repeat}",
                rfc3339(&n.since),
                n.consecutive_failures,
                n.result
            ));
        }
        AlertStatus::Resolved => {
            let at = n.resolved_at.unwrap_or(n.created_at);
            out.push(format!(
                "Recovered at {} after failing since {} ({} consecutive failed runs)",
                rfc3339(&at),
                rfc3339(&n.since),
                n.consecutive_failures
            ));
        }
    }
    out
}

/// The text of a Slack message (`format: slack`), Slack-escaped.
pub fn slack_text(n: &Notification) -> String {
    let icon = match n.status {
        AlertStatus::Firing => ":red_circle:",
        AlertStatus::Resolved => ":large_green_circle:",
    };
    let mut out = format!("{icon} *{}*", slack_escape(&n.title()));
    for line in fact_lines(n) {
        out.push('\n');
        out.push_str(&slack_escape(&line));
    }
    if n.status == AlertStatus::Firing {
        let problems = capped_problems(n);
        if !problems.is_empty() {
            out.push_str("\nFailures:");
            for p in problems {
                out.push_str("\n• ");
                out.push_str(&slack_escape(&p));
            }
        }
    }
    if let Some(page) = &n.status_page {
        out.push_str(&format!("\nStatus page: {}", slack_escape(page)));
    }
    out
}

/// Slack's three control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `[FIRING] shop/home: <first failure>` (cut to about 120 characters, one line) or
/// `[RESOLVED] shop/home`.
pub fn email_subject(n: &Notification) -> String {
    let title = n.title();
    match (n.status, n.first_problem()) {
        (AlertStatus::Firing, Some(first)) => {
            let one_line = first.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{title}: {}", cut(&one_line, SUBJECT_DETAIL_CHARS))
        }
        _ => title,
    }
}

/// At most `max` characters, ending in `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The plain-text body of an email.
pub fn email_text(n: &Notification) -> String {
    let mut out = format!("{}\n\n", n.title());
    for line in fact_lines(n) {
        out.push_str(&line);
        out.push('\n');
    }
    if n.status == AlertStatus::Firing {
        let problems = capped_problems(n);
        if !problems.is_empty() {
            out.push_str("\nFailures:\n");
            for p in problems {
                out.push_str(&format!("- {p}\n"));
            }
        }
    }
    if let Some(page) = &n.status_page {
        out.push_str(&format!("\nStatus page: {page}\n"));
    }
    out
}

/// The HTML body of an email (every value escaped).
pub fn email_html(n: &Notification) -> String {
    let color = match n.status {
        AlertStatus::Firing => "#c62828",
        AlertStatus::Resolved => "#2e7d32",
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html><body>\n<h2 style=\"color:{color}\">{}</h2>\n<ul>\n",
        html_escape(&n.title())
    );
    let url = html_escape(&n.url);
    out.push_str(&format!("<li>URL: <a href=\"{url}\">{url}</a></li>\n"));
    for line in fact_lines(n).iter().skip(1) {
        out.push_str(&format!("<li>{}</li>\n", html_escape(line)));
    }
    out.push_str("</ul>\n");
    if n.status == AlertStatus::Firing {
        let problems = capped_problems(n);
        if !problems.is_empty() {
            out.push_str("<h3>Failures</h3>\n<ul>\n");
            for p in problems {
                out.push_str(&format!("<li><code>{}</code></li>\n", html_escape(&p)));
            }
            out.push_str("</ul>\n");
        }
    }
    if let Some(page) = &n.status_page {
        let page = html_escape(page);
        out.push_str(&format!("<p><a href=\"{page}\">Status page</a></p>\n"));
    }
    out.push_str("</body></html>\n");
    out
}

use crate::report::escape_html as html_escape;

/// A spec label name as a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`): other
/// characters become `_` (`team-name` -> `team_name`), so Alertmanager never rejects the batch.
pub fn label_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `alertname` of every alert dcrawl posts to Alertmanager.
pub const ALERTNAME: &str = "DcrawlTargetDown";

/// One Alertmanager API v2 alert object: labels (`alertname`, `spec`, `target` and the spec's
/// labels; ours win on conflict), `summary`/`description` annotations, `startsAt`, `endsAt`
/// when resolved and `generatorURL` when a status page is known.
pub fn alertmanager_alert(n: &Notification) -> Value {
    let mut labels: Map<String, Value> = n
        .labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (label_name(k), Value::String(v.clone())))
        .collect();
    labels.insert("alertname".into(), ALERTNAME.into());
    labels.insert("spec".into(), n.spec.clone().into());
    labels.insert("target".into(), n.target.clone().into());
    let summary = match (n.status, n.first_problem()) {
        (AlertStatus::Firing, Some(first)) => format!("{} is failing: {first}", n.key()),
        (AlertStatus::Firing, None) => format!("{} is failing", n.key()),
        (AlertStatus::Resolved, _) => format!("{} recovered", n.key()),
    };
    let mut description = fact_lines(n).join("\n");
    for p in capped_problems(n) {
        description.push_str(&format!("\n- {p}"));
    }
    let mut alert = Map::new();
    alert.insert("labels".into(), Value::Object(labels));
    alert.insert(
        "annotations".into(),
        json!({"summary": summary, "description": description}),
    );
    alert.insert("startsAt".into(), rfc3339(&n.since).into());
    if n.status == AlertStatus::Resolved {
        let at = n.resolved_at.unwrap_or(n.created_at);
        alert.insert("endsAt".into(), rfc3339(&at).into());
    }
    if let Some(page) = &n.status_page {
        alert.insert("generatorURL".into(), page.clone().into());
    }
    Value::Object(alert)
}

/// The minijinja environment of channel templates: auto-escape off, strict undefined, and a
/// `tojson` filter for payload templates.
fn template_env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("tojson", |v: minijinja::Value| {
        serde_json::to_string(&v).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
        })
    });
    env
}

/// Render a channel template with the notification's fields (its [`json_payload`]) as context.
pub fn render_template(source: &str, n: &Notification) -> Result<String, String> {
    let ctx = minijinja::Value::from(minijinja::value::Serde(json_payload(n)));
    template_env()
        .render_str(source, ctx)
        .map_err(|e| e.to_string())
}

/// Validate a channel template at load: it must parse and render a sample firing notification
/// (so an unknown variable is caught before the first alert).
pub fn check_template(source: &str) -> Result<(), minijinja::Error> {
    let env = template_env();
    let ctx = minijinja::Value::from(minijinja::value::Serde(json_payload(&sample())));
    env.template_from_str(source)?.render(ctx).map(drop)
}

/// A firing notification with every field set, used to validate templates and by `alert test`.
pub fn sample() -> Notification {
    let since = DateTime::<Utc>::from_timestamp(1_795_600_800, 0).unwrap_or_default();
    Notification {
        channel: "test".into(),
        status: AlertStatus::Firing,
        spec: "shop".into(),
        target: "home".into(),
        url: "https://shop.example.com/".into(),
        labels: BTreeMap::from([("team".to_string(), "web".to_string())]),
        since,
        resolved_at: None,
        consecutive_failures: 3,
        result: "failure".into(),
        error: None,
        failures: vec![Failure::new(
            "html[0]",
            "html[0] \"ul.products > li\": expected count >= 10, found 3",
        )],
        repeat: false,
        status_page: Some("http://127.0.0.1:9813/".into()),
        screenshot_url: None,
        created_at: since,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved() -> Notification {
        let mut n = sample();
        n.status = AlertStatus::Resolved;
        n.result = "success".into();
        n.failures.clear();
        n.resolved_at = Some(n.since + chrono::Duration::minutes(7));
        n
    }

    #[test]
    fn json_payload_has_the_contract_keys() {
        let v = json_payload(&sample());
        assert_eq!(v["version"], "1");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["since"], "2026-11-25T10:00:00Z");
        assert_eq!(v["labels"], json!({"team": "web"}));
        assert_eq!(v["consecutive_failures"], 3);
        assert_eq!(v["failures"][0]["assertion"], "html[0]");
        assert_eq!(v["resolved_at"], Value::Null);
        assert_eq!(
            json_payload(&resolved())["resolved_at"],
            "2026-11-25T10:07:00Z"
        );
    }

    #[test]
    fn subject_names_the_first_failure_or_the_error_and_is_cut() {
        let mut n = sample();
        assert_eq!(
            email_subject(&n),
            "[FIRING] shop/home: html[0] \"ul.products > li\": expected count >= 10, found 3"
        );
        n.failures.clear();
        n.error = Some("connection refused".into());
        assert_eq!(email_subject(&n), "[FIRING] shop/home: connection refused");
        n.error = Some(format!("line1\nline2 {}", "x".repeat(300)));
        let s = email_subject(&n);
        assert!(!s.contains('\n'));
        assert!(s.ends_with('…'));
        assert_eq!(s.chars().count(), "[FIRING] shop/home: ".len() + 120);
        assert_eq!(email_subject(&resolved()), "[RESOLVED] shop/home");
    }

    #[test]
    fn slack_text_escapes_and_caps_the_failures() {
        let mut n = sample();
        n.failures = (0..25)
            .map(|i| Failure::new(format!("json[{i}]"), "a < b & c"))
            .collect();
        let t = slack_text(&n);
        assert!(t.starts_with(":red_circle: *[FIRING] shop/home*\nURL: https://shop.example.com/"));
        assert!(t.contains("• json[0]: a &lt; b &amp; c"));
        assert!(t.contains("• json[19]:"));
        assert!(!t.contains("json[20]"));
        assert!(t.contains("... and 5 more"));
        assert!(t.ends_with("Status page: http://127.0.0.1:9813/"));
        let r = slack_text(&resolved());
        assert!(r.starts_with(":large_green_circle: *[RESOLVED] shop/home*"));
        assert!(r.contains("Recovered at 2026-11-25T10:07:00Z"));
    }

    #[test]
    fn html_body_escapes_values() {
        let mut n = sample();
        n.url = "https://x/?a=1&b=<2>".into();
        let h = email_html(&n);
        assert!(h.contains("https://x/?a=1&amp;b=&lt;2&gt;"));
        assert!(h.contains("&quot;ul.products &gt; li&quot;"));
        assert!(!h.contains("<2>"));
        let t = email_text(&n);
        assert!(t.contains("- html[0] \"ul.products > li\": expected count >= 10, found 3"));
        assert!(t.contains("Status page: http://127.0.0.1:9813/"));
    }

    #[test]
    fn alertmanager_labels_ours_win_and_ends_at_only_when_resolved() {
        let mut n = sample();
        n.labels.insert("spec".into(), "other".into());
        n.labels.insert("alertname".into(), "Mine".into());
        n.labels.insert("team-name".into(), "a".into());
        n.labels.insert("9x".into(), "b".into());
        n.labels.insert("empty".into(), String::new());
        let a = alertmanager_alert(&n);
        assert_eq!(
            a["labels"],
            json!({"alertname": "DcrawlTargetDown", "spec": "shop", "target": "home",
                   "team": "web", "team_name": "a", "_9x": "b"})
        );
        assert_eq!(a["startsAt"], "2026-11-25T10:00:00Z");
        assert!(a.get("endsAt").is_none());
        assert_eq!(a["generatorURL"], "http://127.0.0.1:9813/");
        assert!(
            a["annotations"]["summary"]
                .as_str()
                .unwrap()
                .contains("found 3")
        );
        let mut r = resolved();
        r.status_page = None;
        let a = alertmanager_alert(&r);
        assert_eq!(a["endsAt"], "2026-11-25T10:07:00Z");
        assert!(a.get("generatorURL").is_none());
    }

    #[test]
    fn templates_are_strict_and_have_tojson() {
        let n = sample();
        assert_eq!(
            render_template("{{ spec }}/{{ target }} {{ failures[0].message }}", &n).unwrap(),
            "shop/home html[0] \"ul.products > li\": expected count >= 10, found 3"
        );
        assert_eq!(
            render_template("{\"m\": {{ failures[0].message | tojson }}}", &n).unwrap(),
            "{\"m\": \"html[0] \\\"ul.products > li\\\": expected count >= 10, found 3\"}"
        );
        assert!(check_template("{{ status | upper }} <b>{{ url }}</b>").is_ok());
        let undefined = check_template("{{ nope }}").unwrap_err().to_string();
        assert!(undefined.contains("undefined"), "{undefined}");
        assert!(check_template("{% if %}").is_err());
    }
}
