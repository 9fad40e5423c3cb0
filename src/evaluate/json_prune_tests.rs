use serde_json::{Value, json};

use super::*;
use crate::evaluate::json::query;
use crate::spec::exprs::compile_jsonpath;

fn need<'a>(paths: &[(&'a str, End)]) -> Need<'a> {
    let mut need = Need::default();
    for (path, end) in paths {
        need.add(path, *end);
    }
    need.seal();
    need
}

fn pruned(doc: &Value, paths: &[(&str, End)]) -> Value {
    parse(&doc.to_string(), &need(paths)).unwrap()
}

#[test]
fn steps_follow_names_wildcards_indexes_and_stop_at_the_rest() {
    use Step::{Each, Name};
    assert_eq!(steps("$"), (vec![], None));
    assert_eq!(steps("$.a.b_2"), (vec![Name("a"), Name("b_2")], None));
    assert_eq!(
        steps("$['a b'][\"c'd\"] [ 'e' ]"),
        (vec![Name("a b"), Name("c'd"), Name("e")], None)
    );
    assert_eq!(
        steps("$.items[*].price"),
        (vec![Name("items"), Each, Name("price")], None)
    );
    assert_eq!(
        steps("$.a.*[0][-1][1:3][::2]"),
        (vec![Name("a"), Each, Each, Each, Each, Each], None)
    );
    // Everything past these is the whole subtree.
    assert_eq!(steps("$.a..b"), (vec![Name("a")], Some("..b")));
    assert_eq!(
        steps("$.a[?@.b > 1].c"),
        (vec![Name("a")], Some("[?@.b > 1].c"))
    );
    assert_eq!(steps("$.a['b','c']"), (vec![Name("a")], Some("['b','c']")));
    assert_eq!(steps("$.a['b\\'c']"), (vec![Name("a")], Some("['b\\'c']")));
    assert_eq!(steps("$.a.ü"), (vec![Name("a")], Some(".ü")));
    assert_eq!(steps("$.aü"), (vec![], Some(".aü")));
    assert_eq!(steps(" $.a"), (vec![], Some(" $.a")));
}

#[test]
fn members_no_path_reaches_are_left_out() {
    let doc = json!({
        "status": "ok",
        "page": 3,
        "db": {"latency_ms": 12, "host": "x"},
        "items": [{"id": 1, "price": 2.5, "tags": ["a"]}, {"id": 2, "price": 3}],
    });
    assert_eq!(
        pruned(
            &doc,
            &[("$.status", End::Whole), ("$.db.latency_ms", End::Whole)]
        ),
        json!({"status": "ok", "db": {"latency_ms": 12}})
    );
    assert_eq!(
        pruned(&doc, &[("$.items[*].price", End::Whole)]),
        json!({"items": [{"price": 2.5}, {"price": 3}]})
    );
    // A type or length check keeps the shape: every element and key, nulls where no path goes.
    assert_eq!(
        pruned(&doc, &[("$.items", End::Shape), ("$.db", End::Shape)]),
        json!({"db": {"latency_ms": null, "host": null}, "items": [null, null]})
    );
    assert_eq!(
        pruned(
            &doc,
            &[("$.items", End::Shape), ("$.items[0].tags", End::Whole)]
        ),
        json!({"items": [{"tags": ["a"]}, {}]})
    );
    // A wildcard's need reaches the members named beside it.
    assert_eq!(
        pruned(
            &doc,
            &[("$.db.*", End::Shape), ("$['db'].host", End::Whole)]
        ),
        json!({"db": {"latency_ms": 12, "host": "x"}})
    );
    // A name on an array selects nothing, so none of the array is kept.
    assert_eq!(
        pruned(&doc, &[("$.items.id", End::Whole)]),
        json!({"items": []})
    );
    // A filter or descendant keeps the whole subtree from there.
    assert_eq!(
        pruned(&doc, &[("$.db[?@ > 1]", End::Whole)]),
        json!({"db": {"latency_ms": 12, "host": "x"}})
    );
    assert!(need(&[("$..price", End::Shape)]).is_whole());
    // A filter that queries the root needs all of it.
    assert!(need(&[("$.a[?@.b == $.c]", End::Whole)]).is_whole());
    assert!(!need(&[("$.a[?@.b == 'c']", End::Whole)]).is_whole());
    assert!(need(&[("$", End::Whole), ("$.a", End::Shape)]).is_whole());
}

#[test]
fn a_pruned_parse_fails_when_the_whole_parse_does() {
    let need = need(&[("$.a", End::Whole)]);
    let deep = format!(
        "{{\"a\": 1, \"b\": {}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(serde_json::from_str::<Value>(&deep).is_err());
    assert_eq!(
        parse(&deep, &need),
        None,
        "the recursion limit holds in skipped values"
    );
    for bad in [
        r#"{"a": 1, "b": [1, 2,]}"#,
        r#"{"a": 1, "b": "\ud800"}"#,
        r#"{"a": 1} x"#,
        r#"{"a": 1, "b": 1e999999}"#,
    ] {
        assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        assert_eq!(parse(bad, &need), None, "{bad}");
    }
    // serde_json's raw-value key is left to the whole parse.
    let raw = r#"{"b": {"$serde_json::private::RawValue": "[1]"}, "a": 1}"#;
    assert_eq!(parse(raw, &need), None);
    // Duplicate keys: the last one wins, as in the whole parse.
    let dup = r#"{"a": 1, "b": 0, "a": 2}"#;
    assert_eq!(parse(dup, &need), Some(json!({"a": 2})));
}

/// The JSONPath Compliance Test Suite (RFC 9535): every valid case's query, on its document
/// pruned for that query, gives the nodes the whole document gives (values for `Whole`; kinds
/// and lengths for `Shape`).
#[test]
fn the_compliance_suite_answers_the_same_on_pruned_documents() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/jsonpath-cts.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "suite missing: {e}"
            );
            eprintln!("skipping: {} not found: {e}", path.display());
            return;
        }
    };
    let suite: Value = serde_json::from_str(&text).unwrap();
    let valid: Vec<&Value> = suite["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["invalid_selector"] != Value::Bool(true))
        .collect();
    // Each selector on its own document, and on one document with every case's top-level
    // members (where most of what a path does not reach is pruned).
    let mut all = serde_json::Map::new();
    for case in &valid {
        if let Value::Object(members) = &case["document"] {
            all.extend(members.clone());
        }
    }
    let all = Value::Object(all);
    let (mut cases, mut smaller) = (0, 0);
    for (case, document) in valid
        .iter()
        .flat_map(|case| [(case, &case["document"]), (case, &all)])
    {
        let selector = case["selector"].as_str().unwrap();
        let compiled = compile_jsonpath(selector).unwrap();
        let document = document.to_string();
        let whole: Value = serde_json::from_str(&document).unwrap();
        let want = query(&compiled, &whole);
        for end in [End::Whole, End::Shape] {
            let need = need(&[(selector, end)]);
            let doc = parse(&document, &need).unwrap();
            let got = query(&compiled, &doc);
            cases += 1;
            smaller += usize::from(doc != whole);
            assert_eq!(got.len(), want.len(), "{selector} ({end:?})");
            for (g, w) in got.iter().zip(&want) {
                match end {
                    End::Whole => assert_eq!(g, w, "{selector}"),
                    End::Shape => assert_eq!(shape(g), shape(w), "{selector}"),
                }
            }
        }
    }
    println!("{cases} pruned queries, {smaller} on a smaller document");
    assert!(
        cases > 1500 && smaller > 150,
        "{cases} cases, {smaller} smaller"
    );
}

/// A node's kind and length, and a scalar's value.
fn shape(v: &Value) -> (u8, usize, Option<&Value>) {
    match v {
        Value::Array(a) => (0, a.len(), None),
        Value::Object(o) => (1, o.len(), None),
        scalar => (2, 0, Some(scalar)),
    }
}
