//! JSON assertions: counts, matched nothing, value checks, all/any with node locations.

use serde_json::{Value, json};

use super::*;
use crate::model::exprs::compile_jsonpath;
use crate::model::{Check, CheckOp, CountRange, Expect, JsonType, MatchMode, Severity};

fn doc() -> Value {
    json!({
        "status": "ok",
        "db": {"latency_ms": 250},
        "items": [{"price": 3}, {"price": -1}, {"price": 7}, {"price": 0}],
        "error": null
    })
}

fn assertion(path: &str, value: Option<Vec<CheckOp>>) -> JsonAssertion {
    JsonAssertion {
        id: "json[0]".to_string(),
        path: compile_jsonpath(path).unwrap(),
        count: None,
        value: value.map(|ops| Check { ops }),
        mode: MatchMode::All,
        severity: Severity::Failure,
    }
}

fn run_on(a: &JsonAssertion) -> Option<String> {
    assert(a, &doc()).map(|f| {
        assert_eq!(f.assertion, a.id);
        f.message
    })
}

#[test]
fn scalar_value_passes_and_fails() {
    assert_eq!(
        run_on(&assertion(
            "$.status",
            Some(vec![CheckOp::Equals(json!("ok"))])
        )),
        None
    );
    let mut a = assertion("$.db.latency_ms", Some(vec![CheckOp::Lt(100.0)]));
    a.id = "json[2]".to_string();
    assert_eq!(
        run_on(&a).unwrap(),
        r#"json[2] "$.db.latency_ms": expected value to be < 100, found 250"#
    );
}

#[test]
fn arrays_typed_and_sized() {
    let ops = vec![
        CheckOp::Type(JsonType::Array),
        CheckOp::Length(CountRange {
            min: Some(1),
            max: None,
        }),
    ];
    assert_eq!(run_on(&assertion("$.items", Some(ops))), None);
    let ops = vec![CheckOp::Type(JsonType::Array)];
    assert_eq!(
        run_on(&assertion("$.db", Some(ops))).unwrap(),
        r#"json[0] "$.db": expected value to be of type array, found {"latency_ms":250} (object)"#
    );
}

#[test]
fn matched_nothing_unless_absence_is_accepted() {
    assert_eq!(
        run_on(&assertion("$.missing", None)).unwrap(),
        r#"json[0] "$.missing": matched nothing"#
    );
    assert_eq!(
        run_on(&assertion(
            "$.missing",
            Some(vec![CheckOp::Equals(json!(1))])
        ))
        .unwrap(),
        r#"json[0] "$.missing": matched nothing"#
    );
    assert_eq!(
        run_on(&assertion("$.missing", Some(vec![CheckOp::Exists(false)]))),
        None
    );
    // A present null is not absent.
    assert_eq!(
        run_on(&assertion("$.error", Some(vec![CheckOp::Exists(false)]))).unwrap(),
        r#"json[0] "$.error": expected value to be absent, found null"#
    );
    assert_eq!(run_on(&assertion("$.status", None)), None);
}

#[test]
fn counts() {
    let mut a = assertion("$.missing", None);
    a.count = Some(CountRange::exactly(0));
    assert_eq!(run_on(&a), None);
    let mut a = assertion("$.status", None);
    a.count = Some(CountRange::exactly(0));
    assert_eq!(
        run_on(&a).unwrap(),
        r#"json[0] "$.status": expected count 0, found 1"#
    );
    let mut a = assertion("$.items[*]", None);
    a.count = Some(CountRange {
        min: Some(5),
        max: Some(10),
    });
    assert_eq!(
        run_on(&a).unwrap(),
        r#"json[0] "$.items[*]": expected count between 5 and 10, found 4"#
    );
    // With an explicit count that allows zero, value checks are vacuous.
    let mut a = assertion("$.nothing[*]", Some(vec![CheckOp::Gt(0.0)]));
    a.count = Some(CountRange {
        min: None,
        max: Some(3),
    });
    assert_eq!(run_on(&a), None);
}

#[test]
fn every_node_must_pass_by_default() {
    let a = assertion(
        "$.items[*].price",
        Some(vec![CheckOp::Type(JsonType::Number), CheckOp::Gt(0.0)]),
    );
    assert_eq!(
        run_on(&a).unwrap(),
        r#"json[0] "$.items[*].price": expected value to be > 0, found -1 at $['items'][1]['price'] (2 of 4 failed)"#
    );
    let a = assertion("$.items[*].price", Some(vec![CheckOp::Ge(-1.0)]));
    assert_eq!(run_on(&a), None);
}

#[test]
fn any_node_may_pass() {
    let mut a = assertion("$.items[*].price", Some(vec![CheckOp::Gt(5.0)]));
    a.mode = MatchMode::Any;
    assert_eq!(run_on(&a), None);
    a.value = Some(Check {
        ops: vec![CheckOp::Gt(50.0)],
    });
    assert_eq!(
        run_on(&a).unwrap(),
        r#"json[0] "$.items[*].price": none of 4 nodes passed; at $['items'][0]['price']: expected value to be > 50, found 3"#
    );
}

#[test]
fn query_returns_nodes_in_order() {
    let d = doc();
    let p = compile_jsonpath("$.items[?@.price > 0].price").unwrap();
    let got: Vec<&Value> = query(&p, &d);
    assert_eq!(got, [&json!(3), &json!(7)]);
}

/// `document`: a passing target gets the pruned tree; a failing one the whole document, so its
/// message is the one the whole document gives.
#[test]
fn a_failure_on_the_pruned_tree_is_judged_on_the_whole_document() {
    let text = doc().to_string();
    let shape = assertion("$.items", Some(vec![CheckOp::Type(JsonType::Array)]));
    let expect = Expect {
        json: vec![shape],
        ..Expect::default()
    };
    let (pruned, failures) = document(&text, &expect, &[]).unwrap();
    assert_eq!(failures, vec![]);
    assert_eq!(pruned, json!({"items": [null, null, null, null]}));

    let wrong = assertion("$.items", Some(vec![CheckOp::Type(JsonType::Object)]));
    let want = run_on(&wrong).unwrap();
    assert!(want.contains("\"price\""), "{want}");
    let expect = Expect {
        json: vec![wrong],
        ..Expect::default()
    };
    let (whole, failures) = document(&text, &expect, &[]).unwrap();
    assert_eq!(whole, doc());
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].message, want);
    // Not JSON: the whole parse's error.
    let err = document("{\"items\": [1,]}", &expect, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        serde_json::from_str::<Value>("{\"items\": [1,]}")
            .unwrap_err()
            .to_string()
    );
}
