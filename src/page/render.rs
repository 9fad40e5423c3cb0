//! A page check in a browser: render the target's page in headless Chromium ([`Renderer`]),
//! then judge the rendered DOM like any page (the same `html` assertions and extraction), the
//! main document's status and headers like any response, and the browser-only counts
//! (`console_errors`, `failed_requests`).

use std::time::SystemTime;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{Checked, Checks, aborted, evaluated};
use crate::fetch::Response;
use crate::model::render::{Render, Screenshot};
use crate::model::{CountRange, Target};
use crate::redact::is_credential_header;
use crate::render::{RenderRequest, Rendered, Renderer};
use crate::result::{CheckResult, Failure, Outcome, RenderInfo};

/// How many console errors or failed URLs a failure message lists.
const LISTED: usize = 5;

/// Render `target` with `renderer` and judge it; the result carries the screenshot PNG when
/// `render.screenshot` asks to keep one.
pub(crate) async fn check(renderer: &Renderer, target: &Target, render: &Render) -> CheckResult {
    let started_at = SystemTime::now();
    // Chromium sends extra headers with every request the page makes, to every origin it
    // loads from: credential headers stay behind (they never cross origins).
    let headers = target
        .headers
        .iter()
        .filter(|(name, _)| !is_credential_header(name))
        .cloned()
        .collect();
    let request = RenderRequest {
        url: target.url.clone(),
        headers,
        wait_for: render.wait_for.as_ref().map(|s| s.source.clone()),
        timeout: render.timeout,
        viewport: render.viewport,
        screenshot: render.screenshot != Screenshot::Never,
    };
    let (checked, screenshot, duration) = match renderer.render(request).await {
        Err(e) => {
            let checked = Checked {
                error: Some(target.redact(&format!("render: {e}"))),
                ..aborted()
            };
            (checked, None, None)
        }
        Ok(mut rendered) => {
            let duration = rendered.duration;
            let screenshot = rendered.screenshot.take();
            (judge(target, &rendered), screenshot, Some(duration))
        }
    };
    let keep = match render.screenshot {
        Screenshot::Always => true,
        Screenshot::OnFailure => checked.outcome != Outcome::Success,
        Screenshot::Never => false,
    };
    let mut result = CheckResult::of_page(target, started_at, checked);
    if let Some(d) = duration {
        result.duration = d;
    }
    result.rendered = Some(Box::new(RenderInfo {
        duration: duration.unwrap_or(result.duration),
        screenshot: screenshot.filter(|_| keep).map(Bytes::from),
    }));
    result
}

/// The rendered page judged against the target's expectations.
fn judge(target: &Target, rendered: &Rendered) -> Checked {
    let Some(status) = rendered.status else {
        return Checked {
            error: Some(target.redact(&format!(
                "render: the browser got no response for {} (nothing was loaded)",
                rendered.final_url
            ))),
            duration: rendered.duration,
            ..aborted()
        };
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &rendered.headers {
        // Chromium joins repeated headers with newlines; each line is one value.
        for line in value.split('\n') {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(line.trim()),
            ) {
                headers.append(n, v);
            }
        }
    }
    // The DOM the scripts built, serialised, is the body every HTML assertion reads.
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let response = Response {
        status,
        headers,
        body: Bytes::from(rendered.html.clone()),
        final_url: rendered.final_url.clone(),
        duration: rendered.duration,
        tls_not_after: None,
        first_redirect: None,
    };
    let mut checked = evaluated(target, &response, Checks::of(target));
    let expect = &target.expect;
    let counted = [
        (
            "console_errors",
            "console errors",
            expect.console_errors,
            expect.console_errors_severity,
            &rendered.console_errors,
        ),
        (
            "failed_requests",
            "failed requests",
            expect.failed_requests,
            expect.failed_requests_severity,
            &rendered.failed_requests,
        ),
    ];
    for (id, what, range, severity, found) in counted {
        if let Some(range) = range
            && let Some(f) = count_failure(id, what, range, found)
        {
            let f = f.with_severity(severity).redacted(&target.secrets);
            checked.failures.push(f);
        }
    }
    checked.outcome = Outcome::judge(checked.error.is_some(), &checked.failures);
    checked
}

/// `console_errors: expected 0, found 2: TypeError: x is undefined; ...` when `found` is out of
/// `range`.
fn count_failure(id: &str, what: &str, range: CountRange, found: &[String]) -> Option<Failure> {
    let n = found.len() as u64;
    if range.contains(n) {
        return None;
    }
    let mut message = format!("expected {what} {range}, found {n}");
    if !found.is_empty() {
        let listed: Vec<&str> = found.iter().take(LISTED).map(String::as_str).collect();
        message.push_str(": ");
        message.push_str(&listed.join("; "));
        if found.len() > LISTED {
            message.push_str(&format!("; and {} more", found.len() - LISTED));
        }
    }
    Some(Failure::new(id, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_list_the_first_errors() {
        let found: Vec<String> = (1..=7).map(|i| format!("error {i}")).collect();
        let f = count_failure(
            "console_errors",
            "console errors",
            CountRange::exactly(0),
            &found,
        );
        let f = f.map(|f| f.message).unwrap_or_default();
        assert!(
            f.starts_with("expected console errors 0, found 7: error 1; error 2"),
            "{f}"
        );
        assert!(f.ends_with("error 5; and 2 more"), "{f}");
        let ok = count_failure(
            "x",
            "x",
            CountRange {
                min: None,
                max: Some(7),
            },
            &found,
        );
        assert!(ok.is_none());
    }
}
