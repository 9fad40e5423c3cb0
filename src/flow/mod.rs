//! Running a multi-step flow: its steps in order in one run, one cookie jar for the run,
//! `{{name}}` expanded from `vars` and earlier captures, every step a page check
//! ([`crate::page`]).
//!
//! The target's result is the first failing step's; later steps are skipped except
//! `always_run` ones, and every step's result is reported. Secret captures join the target's
//! secrets for the rest of the run and are redacted from everything the result carries.

mod capture;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use url::Url;

use crate::fetch::{Fetcher, Session};
use crate::model::flow::{BodyTemplate, Flow, Step};
use crate::model::{Expect, RequestBody, Target};
use crate::page::{self, Checks};
use crate::redact::{redact, secret_forms};
use crate::result::{CheckResult, Failure, Outcome, StepResult};

/// Run `flow` of `target` once.
pub(crate) async fn run(fetcher: &Fetcher, target: &Target, flow: &Flow) -> CheckResult {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut state = State {
        values: flow.vars.iter().cloned().collect(),
        secrets: target.secrets.to_vec(),
        session: Session::default(),
    };
    let total = flow.steps.len();
    let mut steps: Vec<StepResult> = Vec::with_capacity(total);
    let mut failed = false;
    for step in &flow.steps {
        if failed && !step.always_run {
            steps.push(StepResult::skipped(&step.name));
            continue;
        }
        let left = flow.timeout.map(|t| t.saturating_sub(start.elapsed()));
        let result = match left {
            Some(Duration::ZERO) => StepResult::error(
                &step.name,
                None,
                format!(
                    "flow timeout after {}",
                    humantime::format_duration(flow.timeout.unwrap_or_default())
                ),
            ),
            _ => state.step(fetcher, target, step, left).await,
        };
        failed |= result.outcome.is_none_or(Outcome::is_failing);
        steps.push(result);
    }
    state.finish(target, started_at, start.elapsed(), steps)
}

/// What one run carries from step to step.
struct State {
    /// Variables and captures so far, by name.
    values: HashMap<String, String>,
    /// The target's secrets plus the secret captures so far (and their URL forms).
    secrets: Vec<String>,
    /// The run's cookie jar.
    session: Session,
}

impl State {
    /// Run one step within `left` of the flow's budget.
    async fn step(
        &mut self,
        fetcher: &Fetcher,
        target: &Target,
        step: &Step,
        left: Option<Duration>,
    ) -> StepResult {
        let names = step_names(step);
        if let Some(name) = names.iter().find(|n| !self.values.contains_key(*n)) {
            return StepResult::error(
                &step.name,
                None,
                format!(
                    "`{{{{{name}}}}}` has no value: the step that captures it did not run or failed"
                ),
            );
        }
        let request = match self.request(target, step, left) {
            Ok(r) => r,
            Err(e) => return StepResult::error(&step.name, None, e),
        };
        let shown_url = Some(redact(request.url.as_str(), &self.secrets));
        let started = Instant::now();
        let response = match fetcher
            .fetch_in(&request, &request.url, &mut self.session)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let mut message = e.to_string();
                if left.is_some_and(|l| l < step.timeout)
                    && matches!(e, crate::fetch::FetchError::Timeout(_))
                {
                    message = format!("flow timeout: {message}");
                }
                let mut r = StepResult::error(&step.name, shown_url, message);
                r.duration = started.elapsed();
                return r;
            }
        };
        let checks = Checks {
            expect: &step.expect,
            non_html: &step.expect,
            extract: &[],
            follow: None,
            status_only: false,
        };
        let checked = page::evaluated(&request, &response, checks);
        let mut failures = checked.failures;
        // Captures are taken from a response that passed: after a failure they would only add
        // noise (and the steps that need them are skipped).
        if !checked.outcome.is_failing() {
            let taken = capture::take_all(&step.capture, &response, &self.session);
            for (c, value) in step.capture.iter().zip(taken) {
                match value {
                    Ok(v) => {
                        if c.secret && v.chars().count() >= 3 {
                            self.secrets.push(v.clone());
                            self.secrets.extend(secret_forms(&v));
                        }
                        self.values.insert(c.name.clone(), v);
                    }
                    Err(why) => failures.push(Failure::new(format!("capture.{}", c.name), why)),
                }
            }
        }
        StepResult {
            name: step.name.clone(),
            url: shown_url,
            outcome: Some(Outcome::judge(checked.error.is_some(), &failures)),
            status: checked.status,
            duration: checked.duration,
            failures,
            error: checked.error,
        }
    }

    /// The request of `step`, references expanded.
    fn request(
        &self,
        target: &Target,
        step: &Step,
        left: Option<Duration>,
    ) -> Result<Target, String> {
        let value = |name: &str| self.values.get(name).cloned();
        let url_text = step.url.expand_url(value);
        let url = Url::parse(&url_text).map_err(|e| format!("invalid URL after expansion: {e}"))?;
        let mut headers = target.headers.clone();
        for (name, t) in &step.headers {
            let v = t.expand(value, str::to_string);
            match headers.iter_mut().find(|h| h.0.eq_ignore_ascii_case(name)) {
                Some(h) => *h = (name.clone(), v),
                None => headers.push((name.clone(), v)),
            }
        }
        let body = step.body.as_ref().map(|b| match b {
            BodyTemplate::Raw(t) => RequestBody::Raw(t.expand(value, str::to_string)),
            BodyTemplate::Json(j) => RequestBody::Json(expand_json(j, &value)),
        });
        let timeout = left.map_or(step.timeout, |l| l.min(step.timeout));
        let mut secrets = self.secrets.clone();
        for (name, v) in &headers {
            if crate::redact::is_credential_header(name)
                && v.chars().count() >= 3
                && !secrets.contains(v)
            {
                secrets.push(v.clone());
            }
        }
        Ok(Target {
            url,
            method: step.method.clone(),
            headers,
            body,
            timeout,
            follow_redirects: step.follow_redirects,
            expect: Expect::default(),
            extract: Vec::new(),
            crawl: None,
            flow: None,
            render: None,
            secrets: secrets.into(),
            ..target.clone()
        })
    }

    /// The target's result from its steps' (all redacted with every secret of the run).
    fn finish(
        self,
        target: &Target,
        started_at: SystemTime,
        duration: Duration,
        mut steps: Vec<StepResult>,
    ) -> CheckResult {
        let secrets = &self.secrets;
        let total = steps.len();
        for s in &mut steps {
            s.redact(secrets);
        }
        let mut result = CheckResult::blank(target, started_at);
        result.duration = duration;
        let first_failed = steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.outcome.is_some_and(Outcome::is_failing));
        if steps.iter().any(|s| s.outcome == Some(Outcome::Warning)) {
            result.outcome = Outcome::Warning;
        }
        if let Some((i, s)) = first_failed {
            result.outcome = s.outcome.unwrap_or(Outcome::Error);
            result.status = s.status;
            result.error = s
                .error
                .as_ref()
                .map(|e| format!("step {}/{total} {}: {e}", i + 1, s.name));
        } else {
            result.status = steps.last().and_then(|s| s.status);
        }
        result.failures = steps
            .iter()
            .flat_map(|s| {
                s.failures.iter().map(move |f| {
                    Failure::new(
                        format!("step.{}.{}", s.name, f.assertion),
                        f.message.clone(),
                    )
                    .with_severity(f.severity)
                })
            })
            .collect();
        result.steps = Some(steps);
        result
    }
}

/// Every name a step's request refers to.
fn step_names(step: &Step) -> Vec<String> {
    let mut out: Vec<String> = step.url.names().map(str::to_string).collect();
    out.extend(
        step.headers
            .iter()
            .flat_map(|(_, t)| t.names().map(str::to_string)),
    );
    match &step.body {
        Some(BodyTemplate::Raw(t)) => out.extend(t.names().map(str::to_string)),
        Some(BodyTemplate::Json(j)) => json_names(j, &mut out),
        None => {}
    }
    out
}

/// The names referred to in the strings of a `json:` body.
fn json_names(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::String(s) => {
            if let Ok(t) = crate::spec::parse_template(s) {
                out.extend(t.names().map(str::to_string));
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_names(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_names(v, out)),
        _ => {}
    }
}

/// A `json:` body with references expanded in every string (the serialiser JSON-encodes them).
fn expand_json(
    json: &serde_json::Value,
    value: &impl Fn(&str) -> Option<String>,
) -> serde_json::Value {
    use serde_json::Value as J;
    match json {
        J::String(s) => match crate::spec::parse_template(s) {
            Ok(t) => J::String(t.expand(value, str::to_string)),
            Err(_) => J::String(s.clone()),
        },
        J::Array(items) => J::Array(items.iter().map(|v| expand_json(v, value)).collect()),
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand_json(v, value)))
                .collect(),
        ),
        other => other.clone(),
    }
}
