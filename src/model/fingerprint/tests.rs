//! Issue 13 item 8: target identity at reload was a hash of `format!("{target:?}")`, which
//! ties it to `Debug` (and so keeps secrets in `Debug`). Every field must count, and equal
//! definitions compiled separately must be equal.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde_json::json;

use super::super::*;

const SPEC: &str = r#"
name: s
schedule: "*/5 * * * *"
timezone: Europe/Berlin
targets:
  - name: full
    url: "https://h.example/p?q=${TOKEN}"
    method: POST
    headers: {Authorization: "Bearer ${TOKEN}", Accept: text/html}
    body: "raw ${TOKEN}"
    timeout: 2s
    retries: 1
    max_body: 2048
    follow_redirects: 3
    tls_verify: false
    expect:
      status: [200, "3xx"]
      max_duration: 800ms
      headers: {content-type: {contains: text/html}}
      body: {not_contains: Exception}
      tls: {min_days_valid: 14}
      html:
        - css: "ul > li"
          count: {min: 10}
          text: {matches: '^\d+$'}
          attr: {href: "/"}
          match: any
      json:
        - path: $.items
          value: {type: array, length: {min: 1}, gt: 0, one_of: [1, 2]}
          count: {max: 5}
    extract:
      - name: price
        css: span.price
        text: true
        regex: '([0-9]+)'
      - name: width
        css: img
        attr: width
      - name: depth
        path: $.depth
  - name: crawl
    url: https://h.example/
    crawl:
      follow: "a.next"
      sitemap: https://h.example/sitemap.xml
      include: ['^https://h\.example/']
      exclude: ['\.pdf$']
      max_depth: 2
      max_pages: 50
      concurrency: 2
      robots: false
    expect_each:
      html: [{css: span.price}]
"#;

fn load() -> (Target, Target) {
    let source = crate::spec::Source {
        name: "s.yaml".into(),
        text: SPEC.into(),
    };
    let env = |name: &str| (name == "TOKEN").then(|| "tok-123456".to_string());
    let config = crate::spec::load_sources(&[source], &env).unwrap();
    let mut targets = config.targets().cloned();
    (targets.next().unwrap(), targets.next().unwrap())
}

#[test]
fn equal_definitions_have_equal_fingerprints() {
    let (full, crawl) = load();
    let (again, crawl_again) = load();
    assert_eq!(full.fingerprint(), again.fingerprint());
    assert_eq!(crawl.fingerprint(), crawl_again.fingerprint());
    assert_eq!(full.fingerprint(), full.clone().fingerprint());
    assert_ne!(full.fingerprint(), crawl.fingerprint());
}

type Change = (&'static str, fn(&mut Target));

fn css(source: &str) -> CssSelector {
    CssSelector {
        source: source.into(),
        selector: Arc::new(scraper::Selector::parse(source).unwrap()),
        fast: None,
    }
}

fn crawl_of(t: &mut Target) -> &mut Crawl {
    Arc::make_mut(t.crawl.as_mut().unwrap())
}

/// One change to each field of a target, its expectations and extractions.
const TARGET_CHANGES: &[Change] = &[
    ("spec", |t| t.spec = "other".into()),
    ("name", |t| t.name = "other".into()),
    ("url", |t| {
        t.url = url::Url::parse("https://h.example/other").unwrap()
    }),
    ("method", |t| t.method = reqwest::Method::PUT),
    ("header value", |t| t.headers[1].1 = "text/plain".into()),
    ("header added", |t| {
        t.headers.push(("X-A".into(), "1".into()))
    }),
    ("body text", |t| {
        t.body = Some(RequestBody::Raw("other".into()))
    }),
    ("body json", |t| {
        t.body = Some(RequestBody::Json(json!("raw tok-123456")))
    }),
    ("body dropped", |t| t.body = None),
    ("schedule", |t| {
        t.schedule = Schedule::parse("*/10 * * * *", Some("Europe/Berlin")).unwrap()
    }),
    ("timezone", |t| {
        t.schedule = Schedule::parse("*/5 * * * *", Some("UTC")).unwrap()
    }),
    ("timeout", |t| t.timeout = Duration::from_secs(3)),
    ("retries", |t| t.retries = 2),
    ("max_body", |t| t.max_body = 4096),
    ("follow_redirects", |t| t.follow_redirects = 4),
    ("tls_verify", |t| t.tls_verify = true),
    ("secrets", |t| {
        t.secrets = vec!["tok-999999".to_string()].into()
    }),
    ("status", |t| t.expect.status.pop().map_or((), drop)),
    ("status severity", |t| {
        t.expect.status_severity = Severity::Warning
    }),
    ("console_errors severity", |t| {
        t.expect.console_errors_severity = Severity::Warning
    }),
    ("failed_requests severity", |t| {
        t.expect.failed_requests_severity = Severity::Warning
    }),
    ("max_duration", |t| t.expect.max_duration = None),
    ("header check name", |t| {
        t.expect.headers[0].name = "x-other".into()
    }),
    ("header check", |t| {
        t.expect.headers[0].check.ops[0] = CheckOp::Contains("json".into())
    }),
    ("body check", |t| {
        t.expect.body[0].ops[0] = CheckOp::NotContains("Error".into())
    }),
    ("tls", |t| {
        t.expect.tls = Some(TlsExpect {
            min_days_valid: 15,
            severity: Default::default(),
        })
    }),
    ("html id", |t| t.expect.html[0].id = "other".into()),
    ("html css", |t| t.expect.html[0].css = css("ol > li")),
    ("html count", |t| {
        t.expect.html[0].count = CountRange::exactly(10)
    }),
    ("html text", |t| t.expect.html[0].text = None),
    ("html attr", |t| t.expect.html[0].attrs[0].0 = "src".into()),
    ("html mode", |t| t.expect.html[0].mode = MatchMode::All),
    ("json id", |t| t.expect.json[0].id = "other".into()),
    ("json path", |t| {
        t.expect.json[0].path.source = "$.other".into();
    }),
    ("json count", |t| t.expect.json[0].count = None),
    ("json value type", |t| {
        t.expect.json[0].value.as_mut().unwrap().ops[0] = CheckOp::Type(JsonType::Object)
    }),
    ("json value number", |t| {
        t.expect.json[0].value.as_mut().unwrap().ops[2] = CheckOp::Gt(1.0)
    }),
    ("json value list", |t| {
        t.expect.json[0].value.as_mut().unwrap().ops[3] = CheckOp::OneOf(vec![json!(1)])
    }),
    ("json value op kind", |t| {
        t.expect.json[0].value.as_mut().unwrap().ops[2] = CheckOp::Ge(0.0)
    }),
    ("json mode", |t| t.expect.json[0].mode = MatchMode::Any),
    ("check regex", |t| {
        t.expect.html[0].text.as_mut().unwrap().ops[0] =
            CheckOp::Matches(Regex::new(r"^\w+$").unwrap())
    }),
    ("extract name", |t| t.extract[0].name = "other".into()),
    ("extract kind", |t| {
        t.extract[0].source = ExtractSource::CssCount(css("span.price"))
    }),
    ("extract attr", |t| {
        t.extract[1].source = ExtractSource::CssAttr(css("img"), "height".into())
    }),
    ("extract path", |t| {
        if let ExtractSource::Json(p) = &mut t.extract[2].source {
            p.source = "$.other".into();
        }
    }),
    ("extract regex", |t| t.extract[0].regex = None),
    ("extract dropped", |t| drop(t.extract.pop())),
];

/// One change to each field of a crawl.
const CRAWL_CHANGES: &[Change] = &[
    ("follow", |t| crawl_of(t).follow = css("a[href]")),
    ("sitemap", |t| crawl_of(t).sitemap = None),
    ("include", |t| crawl_of(t).include.clear()),
    ("exclude", |t| {
        crawl_of(t).exclude[0] = Regex::new(r"\.zip$").unwrap()
    }),
    ("max_depth", |t| crawl_of(t).max_depth = 3),
    ("max_pages", |t| crawl_of(t).max_pages = 51),
    ("concurrency", |t| crawl_of(t).concurrency = 3),
    ("robots", |t| crawl_of(t).robots = true),
    ("expect_each", |t| crawl_of(t).expect_each.html.clear()),
    ("no crawl", |t| t.crawl = None),
];

#[test]
fn changing_any_field_changes_the_fingerprint() {
    let (full, crawl) = load();
    for (base, changes) in [(&full, TARGET_CHANGES), (&crawl, CRAWL_CHANGES)] {
        for (what, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert_ne!(
                changed.fingerprint(),
                base.fingerprint(),
                "changing {what} left the fingerprint alone"
            );
        }
    }
}
