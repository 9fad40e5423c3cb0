//! Whole evaluations: which documents are decoded and parsed, errors, ordering, extraction.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::json;

use super::*;
use crate::model::exprs::{compile_css, compile_jsonpath};
use crate::model::{
    Check, CheckOp, CountRange, Extract, HeaderCheck, HtmlAssertion, JsonAssertion, Severity,
    StatusPattern, TlsExpect,
};

fn response(status: u16, content_type: &str, body: &[u8]) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    Response {
        status,
        headers,
        body: bytes::Bytes::copy_from_slice(body),
        final_url: "http://127.0.0.1:8080/".parse().unwrap(),
        duration: Duration::from_millis(40),
        tls_not_after: None,
        first_redirect: None,
    }
}

fn html_count(css: &str, min: u64) -> HtmlAssertion {
    HtmlAssertion {
        id: "html[0]".to_string(),
        css: compile_css(css).unwrap(),
        count: CountRange {
            min: Some(min),
            max: None,
        },
        text: None,
        attrs: Vec::new(),
        mode: MatchMode::All,
        severity: Severity::Failure,
    }
}

fn json_equals(path: &str, value: serde_json::Value) -> JsonAssertion {
    JsonAssertion {
        id: "json[0]".to_string(),
        path: compile_jsonpath(path).unwrap(),
        count: None,
        value: Some(Check {
            ops: vec![CheckOp::Equals(value)],
        }),
        mode: MatchMode::All,
        severity: Severity::Failure,
    }
}

fn ids(ev: &Evaluation) -> Vec<&str> {
    ev.failures.iter().map(|f| f.assertion.as_str()).collect()
}

#[test]
fn default_expectation_is_2xx() {
    let ev = evaluate(&Expect::default(), &[], &response(200, "text/html", b"hi"));
    assert!(ev.failures.is_empty() && ev.error.is_none());
    let ev = evaluate(
        &Expect::default(),
        &[],
        &response(503, "text/html", b"down"),
    );
    assert_eq!(
        ev.failures,
        [Failure::new("status", "expected 2xx, found 503")]
    );
}

#[test]
fn body_is_not_decoded_when_nothing_needs_text() {
    let expect = Expect {
        status: vec![StatusPattern::Code(200)],
        ..Expect::default()
    };
    let ev = evaluate(&expect, &[], &response(200, "text/html", b"\xff\xfe"));
    assert!(ev.error.is_none());
    assert!(ev.failures.is_empty());
}

#[test]
fn invalid_utf8_is_an_error_but_other_assertions_still_run() {
    let expect = Expect {
        status: vec![StatusPattern::Code(200)],
        body: vec![Check {
            ops: vec![CheckOp::Contains("x".into())],
        }],
        html: vec![html_count("p", 1)],
        headers: vec![HeaderCheck {
            name: "content-type".into(),
            check: Check {
                ops: vec![CheckOp::Contains("json".into())],
            },
            severity: Severity::Failure,
        }],
        ..Expect::default()
    };
    let ev = evaluate(&expect, &[], &response(500, "text/html", b"<p>ok \xff</p>"));
    assert_eq!(
        ev.error.as_deref(),
        Some("undecodable body: invalid UTF-8 at byte 6")
    );
    assert_eq!(ids(&ev), ["status", "headers.content-type"]);
}

#[test]
fn declared_charset_is_honoured() {
    let expect = Expect {
        body: vec![Check {
            ops: vec![CheckOp::Contains("Grüße".into())],
        }],
        ..Expect::default()
    };
    let body = b"<p>Gr\xfc\xdfe</p>";
    let ev = evaluate(
        &expect,
        &[],
        &response(200, "text/html; charset=iso-8859-1", body),
    );
    assert!(ev.error.is_none() && ev.failures.is_empty(), "{ev:?}");
}

#[test]
fn malformed_json_is_an_error_and_html_still_runs() {
    let expect = Expect {
        html: vec![html_count("h1", 1)],
        json: vec![json_equals("$.status", json!("ok"))],
        ..Expect::default()
    };
    let ex = Extract {
        name: "depth".into(),
        source: ExtractSource::Json(compile_jsonpath("$.depth").unwrap()),
        regex: None,
    };
    let ev = evaluate(&expect, &[ex], &response(200, "text/html", b"<p>not json"));
    assert_eq!(
        ev.error.as_deref(),
        Some("undecodable body: invalid JSON: expected value at line 1 column 1")
    );
    // The JSON assertion and extract are not run (the error says why); HTML is.
    assert_eq!(
        ev.failures,
        [Failure::new(
            "html[0]",
            r#"html[0] "h1": expected count >= 1, found 0"#
        )]
    );
    assert!(ev.extracted.is_empty());
}

#[test]
fn documents_nested_too_deep_are_errors_not_crashes() {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let expect = Expect {
        json: vec![json_equals("$[0]", json!([]))],
        ..Expect::default()
    };
    let ev = evaluate(
        &expect,
        &[],
        &response(200, "application/json", deep_json.as_bytes()),
    );
    assert_eq!(
        ev.error.as_deref(),
        Some("undecodable body: invalid JSON: nested deeper than 128 levels at line 1 column 128")
    );

    // Both HTML paths: well-formed (streamable) and without end tags (the DOM).
    let closed = format!(
        "<!doctype html><html><body>{}<p>x</p>{}</body></html>",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    let open = "<div>".repeat(100_000);
    let expect = Expect {
        html: vec![html_count("div", 1)],
        ..Expect::default()
    };
    for page in [closed, open] {
        let started = std::time::Instant::now();
        let ev = evaluate(&expect, &[], &response(200, "text/html", page.as_bytes()));
        assert_eq!(
            ev.error.as_deref(),
            Some("undecodable body: HTML nested deeper than 512 elements")
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}

/// Issue 13: with html and json assertions on one response, the JSON error replaced the HTML
/// one; both are reported, HTML's first.
#[test]
fn html_and_json_errors_are_both_reported() {
    let expect = Expect {
        html: vec![html_count("div", 1)],
        json: vec![json_equals("$[0]", json!([]))],
        ..Expect::default()
    };
    let page = "<div>".repeat(1000);
    let ev = evaluate(&expect, &[], &response(200, "text/html", page.as_bytes()));
    assert_eq!(
        ev.error.as_deref(),
        Some(
            "undecodable body: HTML nested deeper than 512 elements; \
             invalid JSON: expected value at line 1 column 1"
        )
    );
    assert!(ev.failures.is_empty(), "{:?}", ev.failures);
}

#[test]
fn json_assertions_and_extracts_share_one_parse() {
    let expect = Expect {
        json: vec![
            json_equals("$.status", json!("ok")),
            json_equals("$.version", json!(2)),
        ],
        ..Expect::default()
    };
    let extract = [
        Extract {
            name: "queue_depth".into(),
            source: ExtractSource::Json(compile_jsonpath("$.queue.depth").unwrap()),
            regex: None,
        },
        Extract {
            name: "missing".into(),
            source: ExtractSource::Json(compile_jsonpath("$.nope").unwrap()),
            regex: None,
        },
    ];
    let body = br#"{"status": "ok", "version": 3, "queue": {"depth": 12}}"#;
    let ev = evaluate(&expect, &extract, &response(200, "application/json", body));
    assert!(ev.error.is_none());
    assert_eq!(
        ev.failures,
        [
            Failure::new(
                "json[0]",
                r#"json[0] "$.version": expected value to equal 2, found 3"#
            ),
            Failure::new("extract.missing", r#"no match for "$.nope""#),
        ]
    );
    assert_eq!(ev.extracted.get("queue_depth"), Some(&12.0));
    assert_eq!(ev.extracted.len(), 1);
}

#[test]
fn css_extracts_use_the_page() {
    let extract = [Extract {
        name: "products_listed".into(),
        source: ExtractSource::CssCount(compile_css("li").unwrap()),
        regex: None,
    }];
    let ev = evaluate(
        &Expect::default(),
        &extract,
        &response(200, "text/html", b"<ul><li>a<li>b</ul>"),
    );
    assert_eq!(ev.extracted.get("products_listed"), Some(&2.0));
}

#[test]
fn failures_come_in_contract_order() {
    let expect = Expect {
        status: vec![StatusPattern::Code(200)],
        max_duration: Some(Duration::from_millis(10)),
        headers: vec![HeaderCheck {
            name: "x-frame-options".into(),
            check: Check {
                ops: vec![CheckOp::Exists(true)],
            },
            severity: Severity::Failure,
        }],
        body: vec![Check {
            ops: vec![CheckOp::Contains("zzz".into())],
        }],
        tls: Some(TlsExpect {
            min_days_valid: 1,
            severity: Severity::Failure,
        }),
        html: vec![html_count("table", 1)],
        json: Vec::new(),
        max_duration_severity: Severity::Failure,
        body_warnings: Vec::new(),
        ..Expect::default()
    };
    let ev = evaluate(&expect, &[], &response(404, "text/html", b"<p>x</p>"));
    assert_eq!(
        ids(&ev),
        [
            "status",
            "max_duration",
            "headers.x-frame-options",
            "body",
            "tls",
            "html[0]"
        ]
    );
    assert_eq!(ev.failures[4].message, "not an https response");
}

#[test]
fn tls_uses_the_clock() {
    let mut r = response(200, "text/html", b"");
    r.final_url = "https://127.0.0.1/".parse().unwrap();
    let expect = Expect {
        tls: Some(TlsExpect {
            min_days_valid: 14,
            severity: Severity::Failure,
        }),
        ..Expect::default()
    };
    r.tls_not_after = Some(4_102_444_800); // 2100-01-01
    assert!(evaluate(&expect, &[], &r).failures.is_empty());
    r.tls_not_after = Some(946_684_800); // 2000-01-01
    let ev = evaluate(&expect, &[], &r);
    assert!(
        ev.failures[0].message.contains("expired")
            && ev.failures[0].message.ends_with("(2000-01-01T00:00:00Z)"),
        "{:?}",
        ev.failures
    );
}

#[test]
fn judge_all_any_and_empty() {
    let even = |n: i32, render: bool| match (n % 2 == 0, render) {
        (true, _) => Ok(()),
        (false, true) => Err(format!("{n} is odd")),
        (false, false) => Err(String::new()),
    };
    assert!(judge([2, 4].into_iter(), MatchMode::All, even).is_none());
    let j = judge([2, 3, 4, 5].into_iter(), MatchMode::All, even).unwrap();
    assert_eq!((j.index, j.message.as_str(), j.failed), (1, "3 is odd", 2));
    assert!(judge([1, 2].into_iter(), MatchMode::Any, even).is_none());
    let j = judge([1, 3].into_iter(), MatchMode::Any, even).unwrap();
    assert_eq!((j.index, j.failed), (0, 2));
    assert!(judge(std::iter::empty(), MatchMode::Any, even).is_none());
    assert!(judge(std::iter::empty(), MatchMode::All, even).is_none());
    // Only the first failure is asked for its message.
    let mut asked = Vec::new();
    let _ = judge([1, 3, 5].into_iter(), MatchMode::All, |n, render| {
        asked.push((n, render));
        Err(String::new())
    });
    assert_eq!(asked, [(1, true), (3, false), (5, false)]);
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_body_and_content_type(body in proptest::collection::vec(any::<u8>(), 0..300), charset in "[a-z0-9_-]{0,12}", text in ".{0,40}") {
            let expect = Expect {
                body: vec![Check { ops: vec![CheckOp::NotContains(text.clone())] }],
                html: vec![html_count("li", 1)],
                json: vec![json_equals("$..a", json!(text))],
                ..Expect::default()
            };
            let extract = [Extract {
                name: "n".into(),
                source: ExtractSource::CssText(compile_css("p").unwrap()),
                regex: None,
            }];
            let r = response(200, &format!("text/html; charset={charset}"), &body);
            let ev = evaluate(&expect, &extract, &r);
            // Either the body decoded (and the JSON parse may have failed) or it did not.
            if let Some(e) = &ev.error {
                prop_assert!(e.starts_with("undecodable body: "));
            }
        }
    }
}
