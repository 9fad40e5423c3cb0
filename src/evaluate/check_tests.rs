//! Every operation of the check vocabulary, passing and failing, on each kind of subject.

use serde_json::{Value, json};

use super::*;
use crate::model::CountRange;

fn check(op: CheckOp) -> Check {
    Check { ops: vec![op] }
}

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap()
}

/// The message of running `op` on `subject`, or "ok".
fn on(op: CheckOp, subject: Subject<'_>) -> String {
    match run(&check(op), subject) {
        Ok(()) => "ok".to_string(),
        Err(m) => m.message("value"),
    }
}

fn text(s: &str) -> Subject<'_> {
    Subject::Text(s)
}

fn js(v: &Value) -> Subject<'_> {
    Subject::Json(v)
}

#[test]
fn equals_on_text() {
    assert_eq!(on(CheckOp::Equals(json!("ok")), text("ok")), "ok");
    assert_eq!(
        on(CheckOp::Equals(json!("ok")), text("down")),
        r#"expected value to equal "ok", found "down""#
    );
    // A numeric string equals its number; booleans are read from their text.
    assert_eq!(on(CheckOp::Equals(json!(200)), text("200")), "ok");
    assert_eq!(on(CheckOp::Equals(json!(1.5)), text(" 1.50 ")), "ok");
    assert_eq!(
        on(CheckOp::Equals(json!(200)), text("two hundred")),
        r#"expected value to equal 200, found "two hundred""#
    );
    assert_eq!(on(CheckOp::Equals(json!(true)), text("true")), "ok");
    assert_eq!(
        on(CheckOp::Equals(json!(false)), text("true")),
        "expected value to equal false, found \"true\""
    );
    assert_eq!(
        on(CheckOp::Equals(json!(null)), text("null")),
        "expected value to equal null, found \"null\""
    );
}

#[test]
fn equals_on_json() {
    let v = json!(100);
    assert_eq!(on(CheckOp::Equals(json!(100.0)), js(&v)), "ok");
    assert_eq!(
        on(CheckOp::Equals(json!(101)), js(&v)),
        "expected value to equal 101, found 100"
    );
    // JSON keeps its types: the string "100" is not the number 100.
    let s = json!("100");
    assert_eq!(
        on(CheckOp::Equals(json!(100)), js(&s)),
        r#"expected value to equal 100, found "100""#
    );
    let nested = json!({"a": [1, 2.0, {"b": null}]});
    assert_eq!(
        on(
            CheckOp::Equals(json!({"a": [1.0, 2, {"b": null}]})),
            js(&nested)
        ),
        "ok"
    );
    assert_eq!(
        on(CheckOp::Equals(json!({"a": []})), js(&nested)),
        r#"expected value to equal {"a":[]}, found {"a":[1,2.0,{"b":null}]}"#
    );
    let b = json!(true);
    assert_eq!(on(CheckOp::Equals(json!(true)), js(&b)), "ok");
}

#[test]
fn not_equals() {
    assert_eq!(on(CheckOp::NotEquals(json!("down")), text("ok")), "ok");
    assert_eq!(
        on(CheckOp::NotEquals(json!(3)), text("3.0")),
        r#"expected value not to equal 3, found "3.0""#
    );
    let v = json!(null);
    assert_eq!(
        on(CheckOp::NotEquals(json!(null)), js(&v)),
        "expected value not to equal null, found null"
    );
    assert_eq!(on(CheckOp::NotEquals(json!(0)), js(&v)), "ok");
}

#[test]
fn contains_on_text_and_json() {
    let op = || CheckOp::Contains("Shop".into());
    assert_eq!(on(op(), text("Our Shop")), "ok");
    assert_eq!(
        on(op(), text("Welcome")),
        r#"expected value to contain "Shop", found "Welcome""#
    );
    let s = json!("the Shop");
    assert_eq!(on(op(), js(&s)), "ok");
    // Numbers and booleans by their text form.
    let n = json!(12345);
    assert_eq!(on(CheckOp::Contains("234".into()), js(&n)), "ok");
    assert_eq!(
        on(CheckOp::Contains("9".into()), js(&n)),
        r#"expected value to contain "9", found 12345"#
    );
    let b = json!(true);
    assert_eq!(on(CheckOp::Contains("ru".into()), js(&b)), "ok");
    // Arrays: an element equal to the value.
    let a = json!(["a", 3, true]);
    assert_eq!(on(CheckOp::Contains("a".into()), js(&a)), "ok");
    assert_eq!(on(CheckOp::Contains("3".into()), js(&a)), "ok");
    assert_eq!(on(CheckOp::Contains("true".into()), js(&a)), "ok");
    assert_eq!(
        on(CheckOp::Contains("b".into()), js(&a)),
        r#"expected value to contain "b", found ["a",3,true]"#
    );
    // Objects: a key.
    let o = json!({"id": 1});
    assert_eq!(on(CheckOp::Contains("id".into()), js(&o)), "ok");
    assert_eq!(
        on(CheckOp::Contains("name".into()), js(&o)),
        r#"expected value to contain "name", found {"id":1}"#
    );
    let null = json!(null);
    assert_eq!(
        on(op(), js(&null)),
        r#"expected value to contain "Shop", found null (not text or an array)"#
    );
}

#[test]
fn not_contains_shows_where_it_was_found() {
    let op = || CheckOp::NotContains("Exception".into());
    assert_eq!(on(op(), text("all good")), "ok");
    let body = format!(
        "{}Unhandled Exception at line 3{}",
        "<p>".repeat(40),
        "</p>".repeat(40)
    );
    assert_eq!(
        on(op(), text(&body)),
        format!(
            "expected value not to contain \"Exception\", found \"…p><p><p><p><p><p><p>Unhandled Exception at line 3</p></p></p></p></p></p></p></p…\"",
        )
    );
    let a = json!(["x", "Exception"]);
    assert_eq!(
        on(op(), js(&a)),
        r#"expected value not to contain "Exception", found ["x","Exception"]"#
    );
    let ok = json!(["x"]);
    assert_eq!(on(op(), js(&ok)), "ok");
    let null = json!(null);
    assert_eq!(
        on(op(), js(&null)),
        r#"expected value not to contain "Exception", found null (not text or an array)"#
    );
}

#[test]
fn matches_and_not_matches() {
    let price = || CheckOp::Matches(re(r"^\$\d+\.\d\d$"));
    assert_eq!(on(price(), text("$12.99")), "ok");
    assert_eq!(
        on(price(), text("12.99 EUR")),
        r#"expected value to match /^\$\d+\.\d\d$/, found "12.99 EUR""#
    );
    let s = json!("$1.00");
    assert_eq!(on(price(), js(&s)), "ok");
    let n = json!(404);
    assert_eq!(on(CheckOp::Matches(re("^4\\d\\d$")), js(&n)), "ok");
    let arr = json!([1]);
    assert_eq!(
        on(price(), js(&arr)),
        r#"expected value to match /^\$\d+\.\d\d$/, found [1] (not text)"#
    );
    assert_eq!(on(CheckOp::NotMatches(re("(?i)error")), text("fine")), "ok");
    assert_eq!(
        on(
            CheckOp::NotMatches(re("(?i)error")),
            text("fatal ERROR here")
        ),
        r#"expected value not to match /(?i)error/, found "fatal ERROR here""#
    );
    let obj = json!({});
    assert_eq!(
        on(CheckOp::NotMatches(re("x")), js(&obj)),
        "expected value not to match /x/, found {} (not text)"
    );
}

#[test]
fn one_of() {
    let op = || CheckOp::OneOf(vec![json!("ok"), json!("degraded"), json!(1)]);
    assert_eq!(on(op(), text("degraded")), "ok");
    assert_eq!(on(op(), text("1")), "ok");
    assert_eq!(
        on(op(), text("down")),
        r#"expected value to be one of ["ok", "degraded", 1], found "down""#
    );
    let n = json!(1.0);
    assert_eq!(on(op(), js(&n)), "ok");
    let f = json!(false);
    assert_eq!(
        on(op(), js(&f)),
        r#"expected value to be one of ["ok", "degraded", 1], found false"#
    );
}

#[test]
fn numeric_comparisons() {
    assert_eq!(on(CheckOp::Lt(100.0), text("99.5")), "ok");
    assert_eq!(
        on(CheckOp::Lt(100.0), text("100")),
        r#"expected value to be < 100, found "100""#
    );
    assert_eq!(on(CheckOp::Le(100.0), text("+100")), "ok");
    assert_eq!(
        on(CheckOp::Gt(0.0), text("-1")),
        r#"expected value to be > 0, found "-1""#
    );
    assert_eq!(on(CheckOp::Ge(0.5), text(" 0.5 ")), "ok");
    assert_eq!(
        on(CheckOp::Lt(100.0), text("1,000")),
        r#"expected value to be < 100, found "1,000" (not a number)"#
    );
    assert_eq!(
        on(CheckOp::Gt(1.0), text("NaN")),
        r#"expected value to be > 1, found "NaN" (not a number)"#
    );
    let n = json!(250);
    assert_eq!(
        on(CheckOp::Lt(100.0), js(&n)),
        "expected value to be < 100, found 250"
    );
    assert_eq!(on(CheckOp::Ge(250.0), js(&n)), "ok");
    let s = json!("42");
    assert_eq!(on(CheckOp::Gt(41.5), js(&s)), "ok");
    let b = json!(true);
    assert_eq!(
        on(CheckOp::Le(1.0), js(&b)),
        "expected value to be <= 1, found true (not a number)"
    );
}

#[test]
fn types() {
    assert_eq!(on(CheckOp::Type(JsonType::String), text("5")), "ok");
    assert_eq!(
        on(CheckOp::Type(JsonType::Number), text("5")),
        r#"expected value to be of type number, found "5" (string)"#
    );
    for (v, t) in [
        (json!(null), JsonType::Null),
        (json!(true), JsonType::Boolean),
        (json!(1), JsonType::Number),
        (json!("s"), JsonType::String),
        (json!([]), JsonType::Array),
        (json!({}), JsonType::Object),
    ] {
        assert_eq!(on(CheckOp::Type(t), js(&v)), "ok", "{v}");
    }
    let a = json!([1]);
    assert_eq!(
        on(CheckOp::Type(JsonType::Object), js(&a)),
        "expected value to be of type object, found [1] (array)"
    );
}

#[test]
fn lengths() {
    let at_least_one = || {
        CheckOp::Length(CountRange {
            min: Some(1),
            max: None,
        })
    };
    assert_eq!(on(at_least_one(), text("é")), "ok");
    assert_eq!(
        on(at_least_one(), text("")),
        r#"expected value to have length >= 1, found "" (length 0)"#
    );
    assert_eq!(
        on(CheckOp::Length(CountRange::exactly(3)), text("héé")),
        "ok"
    );
    let a = json!([1, 2]);
    assert_eq!(on(CheckOp::Length(CountRange::exactly(2)), js(&a)), "ok");
    assert_eq!(
        on(
            CheckOp::Length(CountRange {
                min: Some(3),
                max: Some(5)
            }),
            js(&a)
        ),
        "expected value to have length between 3 and 5, found [1,2] (length 2)"
    );
    let o = json!({"a": 1});
    assert_eq!(on(CheckOp::Length(CountRange::exactly(1)), js(&o)), "ok");
    let s = json!("abc");
    assert_eq!(
        on(
            CheckOp::Length(CountRange {
                min: None,
                max: Some(2)
            }),
            js(&s)
        ),
        r#"expected value to have length <= 2, found "abc" (length 3)"#
    );
    let n = json!(7);
    assert_eq!(
        on(at_least_one(), js(&n)),
        "expected value to have length >= 1, found 7 (has no length)"
    );
}

#[test]
fn emptiness() {
    assert_eq!(on(CheckOp::Empty(true), text("")), "ok");
    assert_eq!(
        on(CheckOp::Empty(true), text(" x")),
        r#"expected value to be empty, found " x""#
    );
    assert_eq!(
        on(CheckOp::Empty(false), text("")),
        r#"expected value not to be empty, found """#
    );
    for v in [json!(""), json!([]), json!({}), json!(null)] {
        assert_eq!(on(CheckOp::Empty(true), js(&v)), "ok", "{v}");
        assert!(on(CheckOp::Empty(false), js(&v)).starts_with("expected value not to be empty"));
    }
    for v in [
        json!(0),
        json!(false),
        json!([0]),
        json!({"a": null}),
        json!(" "),
    ] {
        assert_eq!(on(CheckOp::Empty(false), js(&v)), "ok", "{v}");
    }
}

#[test]
fn existence() {
    assert_eq!(on(CheckOp::Exists(true), text("")), "ok");
    assert_eq!(on(CheckOp::Exists(false), Subject::Absent), "ok");
    assert_eq!(
        on(CheckOp::Exists(true), Subject::Absent),
        "expected value to exist, but it is absent"
    );
    assert_eq!(
        on(CheckOp::Exists(false), text("DENY")),
        r#"expected value to be absent, found "DENY""#
    );
    let null = json!(null);
    assert_eq!(on(CheckOp::Exists(true), js(&null)), "ok");
}

#[test]
fn every_other_op_fails_on_an_absent_subject() {
    let ops = vec![
        CheckOp::Equals(json!("x")),
        CheckOp::NotEquals(json!("x")),
        CheckOp::Contains("x".into()),
        CheckOp::NotContains("x".into()),
        CheckOp::Matches(re("x")),
        CheckOp::NotMatches(re("x")),
        CheckOp::OneOf(vec![json!(1)]),
        CheckOp::Lt(1.0),
        CheckOp::Le(1.0),
        CheckOp::Gt(1.0),
        CheckOp::Ge(1.0),
        CheckOp::Type(JsonType::Null),
        CheckOp::Length(CountRange::exactly(0)),
        CheckOp::Empty(true),
        CheckOp::Empty(false),
    ];
    for op in ops {
        let expected = format!("expected value {}, but it is absent", describe(&op));
        assert_eq!(on(op, Subject::Absent), expected);
    }
    assert_eq!(
        on(CheckOp::NotContains("Exception".into()), Subject::Absent),
        r#"expected value not to contain "Exception", but it is absent"#
    );
}

#[test]
fn all_ops_must_hold_and_the_first_failure_is_reported() {
    let c = Check {
        ops: vec![
            CheckOp::Type(JsonType::Number),
            CheckOp::Gt(0.0),
            CheckOp::Lt(10.0),
        ],
    };
    let ok = json!(5);
    assert!(run(&c, js(&ok)).is_ok());
    let neg = json!(-3);
    let m = run(&c, js(&neg)).unwrap_err();
    assert_eq!(m.message("price"), "expected price to be > 0, found -3");
    let big = json!(30);
    assert_eq!(run(&c, js(&big)).unwrap_err().expected(), "to be < 10");
    assert!(run(&Check::default(), Subject::Absent).is_ok());
}

#[test]
fn numbers_are_parsed_strictly() {
    assert_eq!(parse_number(" +1.5 "), Some(1.5));
    assert_eq!(parse_number("-2"), Some(-2.0));
    assert_eq!(parse_number("1e3"), Some(1000.0));
    assert_eq!(parse_number("1,000"), None);
    assert_eq!(parse_number("12 EUR"), None);
    assert_eq!(parse_number("inf"), None);
    assert_eq!(parse_number(""), None);
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    fn every_op(needle: &str) -> Vec<CheckOp> {
        vec![
            CheckOp::Equals(json!(needle)),
            CheckOp::NotEquals(json!(1)),
            CheckOp::Contains(needle.to_string()),
            CheckOp::NotContains(needle.to_string()),
            CheckOp::Matches(re("[a-z]+")),
            CheckOp::NotMatches(re(r"\d")),
            CheckOp::OneOf(vec![json!(needle), json!(true)]),
            CheckOp::Lt(1.0),
            CheckOp::Ge(-1.0),
            CheckOp::Type(JsonType::String),
            CheckOp::Length(CountRange::exactly(3)),
            CheckOp::Empty(false),
            CheckOp::Exists(false),
        ]
    }

    proptest! {
        #[test]
        fn any_text_and_needle(text in any::<String>(), needle in any::<String>(), at in any::<usize>()) {
            for op in every_op(&needle) {
                let c = check(op);
                if let Err(m) = run(&c, Subject::Text(&text)) {
                    prop_assert!(m.message("value").starts_with("expected value "));
                }
                let v = json!([text.clone(), {"k": needle.clone()}, 1.5, null]);
                if let Err(m) = run(&c, Subject::Json(&v)) {
                    prop_assert!(m.message("node").starts_with("expected node "));
                }
            }
            let shown = show::excerpt(&text, at);
            prop_assert!(shown.chars().count() <= show::MAX_SHOWN * 6 + 4);
        }
    }
}
