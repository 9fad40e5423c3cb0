//! Assertions on the HTTP exchange itself: status, duration, headers, the body as text, TLS.

use std::borrow::Cow;

use reqwest::header::HeaderMap;

use super::check::{self, Subject};
use super::show;
use crate::fetch::Response;
use crate::model::{Check, Expect, HeaderCheck, StatusPattern, TlsExpect};
use crate::result::Failure;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// `status`: the code must match one of the patterns; none means `2xx`.
pub(super) fn status(patterns: &[StatusPattern], status: u16) -> Option<Failure> {
    let default = [StatusPattern::Class(2)];
    let patterns = if patterns.is_empty() {
        &default[..]
    } else {
        patterns
    };
    if patterns.iter().any(|p| p.matches(status)) {
        return None;
    }
    let expected = match patterns {
        [one] => one.to_string(),
        many => {
            let all: Vec<String> = many.iter().map(StatusPattern::to_string).collect();
            format!("one of {}", all.join(", "))
        }
    };
    Some(Failure::new(
        "status",
        format!("expected {expected}, found {status}"),
    ))
}

/// `max_duration`: time to the full body.
pub(super) fn max_duration(expect: &Expect, response: &Response) -> Option<Failure> {
    let limit = expect.max_duration?;
    (response.duration > limit).then(|| {
        Failure::new(
            "max_duration",
            format!(
                "expected <= {}, took {}",
                show::duration(limit),
                show::duration(response.duration)
            ),
        )
        .with_severity(expect.max_duration_severity)
    })
}

/// `headers.NAME`: each check on the header's value(s), joined with ", "; missing is absent.
pub(super) fn headers(checks: &[HeaderCheck], headers: &HeaderMap, out: &mut Vec<Failure>) {
    for hc in checks {
        let value = header_value(headers, &hc.name);
        let subject = value.as_deref().map_or(Subject::Absent, Subject::Text);
        if let Err(m) = check::run(&hc.check, subject) {
            out.push(
                Failure::new(
                    format!("headers.{}", hc.name),
                    m.message(format_args!("header {}", hc.name)),
                )
                .with_severity(hc.severity),
            );
        }
    }
}

/// All values of header `name` joined with ", " (borrowed when there is only one).
fn header_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<Cow<'h, str>> {
    let mut values = headers.get_all(name).iter();
    let first = String::from_utf8_lossy(values.next()?.as_bytes());
    let mut joined: Option<String> = None;
    for more in values {
        let acc = joined.get_or_insert_with(|| first.to_string());
        acc.push_str(", ");
        acc.push_str(&String::from_utf8_lossy(more.as_bytes()));
    }
    Some(joined.map_or(first, Cow::Owned))
}

/// `body`: each check on the whole body text; the first failing one is reported.
pub(super) fn body(checks: &[Check], text: &str) -> Option<Failure> {
    checks.iter().find_map(|c| {
        check::run(c, Subject::Text(text))
            .err()
            .map(|m| Failure::new("body", m.message("body")))
    })
}

/// `tls`: the leaf certificate must stay valid `min_days_valid` days from `now` (Unix seconds).
pub(super) fn tls(expect: Option<TlsExpect>, response: &Response, now: i64) -> Option<Failure> {
    let expect = expect?;
    let fail = |message: String| Some(Failure::new("tls", message).with_severity(expect.severity));
    if response.final_url.scheme() != "https" {
        return fail("not an https response".to_string());
    }
    let wanted = format!(
        "expected certificate valid >= {}",
        days(i64::from(expect.min_days_valid))
    );
    let Some(not_after) = response.tls_not_after else {
        return fail(format!("{wanted}, but its expiry is unknown"));
    };
    let left = not_after - now;
    if left >= i64::from(expect.min_days_valid) * DAY {
        return None;
    }
    let when = timestamp(not_after);
    if left >= 0 {
        fail(format!(
            "{wanted}, expires in {} ({when})",
            days(left / DAY)
        ))
    } else {
        fail(format!(
            "{wanted}, expired {} ago ({when})",
            days(-left / DAY)
        ))
    }
}

fn days(n: i64) -> String {
    match n {
        0 => "less than a day".to_string(),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

/// Unix seconds as `2026-11-28T10:00:00Z`.
fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || format!("{secs} s since 1970"),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckOp, Severity};
    use reqwest::header::HeaderValue;
    use serde_json::json;
    use std::time::Duration;

    fn response(url: &str) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: bytes::Bytes::new(),
            final_url: url.parse().unwrap(),
            duration: Duration::from_millis(1200),
            tls_not_after: None,
            first_redirect: None,
        }
    }

    fn message(f: Option<Failure>) -> String {
        let f = f.unwrap();
        format!("{}: {}", f.assertion, f.message)
    }

    #[test]
    fn status_default_and_lists() {
        assert!(status(&[], 204).is_none());
        assert_eq!(message(status(&[], 503)), "status: expected 2xx, found 503");
        assert_eq!(
            message(status(&[StatusPattern::Code(200)], 201)),
            "status: expected 200, found 201"
        );
        let list = [StatusPattern::Code(200), StatusPattern::Class(3)];
        assert!(status(&list, 301).is_none());
        assert!(status(&list, 200).is_none());
        assert_eq!(
            message(status(&list, 404)),
            "status: expected one of 200, 3xx, found 404"
        );
    }

    #[test]
    fn max_duration_shows_limit_and_time() {
        let r = response("http://127.0.0.1/");
        let mut expect = Expect::default();
        assert!(max_duration(&expect, &r).is_none());
        expect.max_duration = Some(Duration::from_millis(800));
        assert_eq!(
            message(max_duration(&expect, &r)),
            "max_duration: expected <= 800ms, took 1.2s"
        );
        expect.max_duration = Some(Duration::from_millis(1200));
        assert!(max_duration(&expect, &r).is_none());
    }

    fn header_check(name: &str, op: CheckOp) -> HeaderCheck {
        HeaderCheck {
            name: name.to_string(),
            check: Check { ops: vec![op] },
            severity: Severity::Failure,
        }
    }

    #[test]
    fn headers_are_checked_joined_or_absent() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.append("cache-control", HeaderValue::from_static("no-cache"));
        h.append("cache-control", HeaderValue::from_static("no-store"));
        let checks = [
            header_check("content-type", CheckOp::Contains("text/html".into())),
            header_check(
                "cache-control",
                CheckOp::Equals(json!("no-cache, no-store")),
            ),
            header_check("x-frame-options", CheckOp::Exists(true)),
            header_check("x-powered-by", CheckOp::Exists(false)),
            header_check(
                "x-request-id",
                CheckOp::Matches(regex::Regex::new("^[a-f0-9]+$").unwrap()),
            ),
        ];
        let mut out = Vec::new();
        headers(&checks, &h, &mut out);
        let got: Vec<String> = out.into_iter().map(|f| message(Some(f))).collect();
        assert_eq!(
            got,
            [
                r#"headers.content-type: expected header content-type to contain "text/html", found "application/json""#,
                "headers.x-frame-options: expected header x-frame-options to exist, but it is absent",
                r#"headers.x-request-id: expected header x-request-id to match /^[a-f0-9]+$/, but it is absent"#,
            ]
        );
        let mut out = Vec::new();
        headers(
            &[header_check(
                "content-type",
                CheckOp::Contains("json".into()),
            )],
            &h,
            &mut out,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn header_present_when_it_should_be_absent() {
        let mut h = HeaderMap::new();
        h.insert("x-powered-by", HeaderValue::from_static("PHP/5.4"));
        let mut out = Vec::new();
        headers(
            &[header_check("x-powered-by", CheckOp::Exists(false))],
            &h,
            &mut out,
        );
        assert_eq!(
            out[0].message,
            r#"expected header x-powered-by to be absent, found "PHP/5.4""#
        );
    }

    #[test]
    fn body_checks_report_the_first_failure_truncated() {
        let checks = [
            Check {
                ops: vec![CheckOp::Contains("<html".into())],
            },
            Check {
                ops: vec![CheckOp::NotContains("Exception".into())],
            },
        ];
        assert!(body(&checks, "<html>fine</html>").is_none());
        let long = format!("<html>{}</html>", "x".repeat(500));
        let f = body(
            &[Check {
                ops: vec![CheckOp::Contains("Welcome".into())],
            }],
            &long,
        )
        .unwrap();
        assert_eq!(f.assertion, "body");
        assert_eq!(
            f.message,
            format!(
                "expected body to contain \"Welcome\", found \"<html>{}…\"",
                "x".repeat(74)
            )
        );
        let f = body(&checks, "<html>Exception</html>").unwrap();
        assert_eq!(
            f.message,
            r#"expected body not to contain "Exception", found "<html>Exception</html>""#
        );
    }

    #[test]
    fn tls_days_left() {
        let now = 1_795_600_800; // 2026-11-25T10:00:00Z
        let expect = Some(TlsExpect {
            min_days_valid: 14,
            severity: Severity::Failure,
        });
        let mut r = response("https://127.0.0.1/");
        assert!(tls(None, &r, now).is_none());
        assert_eq!(
            message(tls(expect, &r, now)),
            "tls: expected certificate valid >= 14 days, but its expiry is unknown"
        );
        r.tls_not_after = Some(now + 30 * DAY);
        assert!(tls(expect, &r, now).is_none());
        r.tls_not_after = Some(now + 14 * DAY);
        assert!(tls(expect, &r, now).is_none());
        r.tls_not_after = Some(now + 3 * DAY + 100);
        assert_eq!(
            message(tls(expect, &r, now)),
            "tls: expected certificate valid >= 14 days, expires in 3 days (2026-11-28T10:01:40Z)"
        );
        r.tls_not_after = Some(now + 3600);
        assert_eq!(
            tls(expect, &r, now).unwrap().message,
            "expected certificate valid >= 14 days, expires in less than a day (2026-11-25T11:00:00Z)"
        );
        r.tls_not_after = Some(now - 2 * DAY - 5);
        assert_eq!(
            tls(expect, &r, now).unwrap().message,
            "expected certificate valid >= 14 days, expired 2 days ago (2026-11-23T09:59:55Z)"
        );
        let zero = Some(TlsExpect {
            min_days_valid: 0,
            severity: Severity::Failure,
        });
        assert!(
            tls(zero, &r, now)
                .unwrap()
                .message
                .contains("expired 2 days ago")
        );
        r.tls_not_after = Some(now + 1);
        assert!(tls(zero, &r, now).is_none());
    }

    #[test]
    fn tls_on_plain_http() {
        let expect = Some(TlsExpect {
            min_days_valid: 14,
            severity: Severity::Failure,
        });
        let r = response("http://127.0.0.1/");
        assert_eq!(message(tls(expect, &r, 0)), "tls: not an https response");
    }
}
