//! Arbitrary text as each expression a spec compiles (CSS selector, JSONPath, regex, schedule,
//! duration, size, `${VAR}` interpolation), and every compiled selector or path run on a small
//! fixed document: no panic, no hang, no unbounded allocation.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use dcrawl::evaluate::json::query;
use dcrawl::evaluate::{Engine, Options, evaluate_with};
use dcrawl::model::{CountRange, Expect, HtmlAssertion, MatchMode, Schedule};
use dcrawl::spec::exprs::{compile_css, compile_jsonpath, compile_regex};
use dcrawl::spec::interp::interpolate;
use dcrawl::spec::units::{parse_duration, parse_size};
use dcrawl_fuzz::{env, response};
use libfuzzer_sys::fuzz_target;

const HTML: &[u8] = b"<!doctype html><html><head><title>Shop</title></head><body>\
<nav><a href=\"/\">Home</a> <a href=\"/p\" class=\"x y\">P</a></nav>\
<ul class=\"products\"><li data-id=\"1\"><a href=\"/p/1\">One</a> \
<span class=\"price\">$1.00</span></li>\
<li data-id=\"2\"><a href=\"/p/2\">Two</a></li></ul>\
<table><tr><td>1</td><td>2</td></tr></table><p>a<b>b</b></p></body></html>";

static JSON: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::json!({
        "status": "ok", "items": [{"name": "A", "price": 1.5, "tags": ["a", "b"]}, {"name": "b"}],
        "nested": {"a": {"b": {"c": [1, 2, 3, null, true, "x"]}}}, "": {"": 0}
    })
});

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % 6 {
        0 => {
            if let Ok(css) = compile_css(&text) {
                let a = HtmlAssertion {
                    id: "html[0]".into(),
                    css,
                    count: CountRange::default(),
                    text: Some(Default::default()),
                    attrs: vec![("href".into(), Default::default())],
                    mode: MatchMode::All,
                    severity: Default::default(),
                };
                let expect = Expect {
                    html: vec![a],
                    ..Expect::default()
                };
                let page = response(HTML, "text/html; charset=utf-8");
                for engine in [Engine::Auto, Engine::Dom, Engine::Stream] {
                    let options = Options {
                        engine,
                        follow: None,
                    };
                    let _ = evaluate_with(&expect, &[], &page, options);
                }
            }
        }
        1 => {
            if let Ok(path) = compile_jsonpath(&text) {
                let _ = query(&path, &JSON);
            }
        }
        2 => {
            if let Ok(re) = compile_regex(&text) {
                let _ = re.is_match("The quick brown fox $12.99 jumps\n over the lazy dog");
            }
        }
        3 => {
            let (expr, tz) = text
                .split_once('|')
                .map_or((&*text, None), |(e, t)| (e, Some(t)));
            if let Ok(s) = Schedule::parse(expr, tz) {
                let start = Utc.with_ymd_and_hms(2026, 2, 28, 23, 59, 59).single();
                let mut at = start.unwrap_or_else(Utc::now);
                for _ in 0..3 {
                    match s.next_after(at) {
                        Some(next) => {
                            assert!(next > at, "next run not after {at}: {next}");
                            at = next;
                        }
                        None => break,
                    }
                }
            }
        }
        4 => {
            if let Ok(d) = parse_duration(&text) {
                let _ = d.checked_add(Duration::from_secs(1));
            }
            let _ = parse_size(&text);
        }
        _ => {
            let out = interpolate(&text, &env);
            if !text.contains("${") {
                assert_eq!(out.text, text, "text without `${{` changed");
                assert!(out.errors.is_empty() && out.from_env.is_empty());
            }
        }
    }
});
