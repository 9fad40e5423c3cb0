//! Arbitrary bytes as a response body, evaluated against fixed JSONPath assertions and
//! extractions: no panic, no hang, no unbounded allocation; a body that is not JSON is an
//! `error`, never a failure.
#![no_main]

use std::sync::LazyLock;

use dcrawl::evaluate::Engine;
use dcrawl::model::Config;
use dcrawl_fuzz::{evaluate, fixed_config, response, target};
use libfuzzer_sys::fuzz_target;

const SPEC: &str = r#"
name: fuzz
targets:
  - name: json
    url: http://127.0.0.1:8080/api
    expect:
      body: {not_contains: Exception}
      json:
        - path: $.status
          value: ok
        - path: $.items
          value: {type: array, length: {min: 1, max: 10}, empty: false}
        - path: $.items[*].price
          value: {type: number, gt: 0, le: 1e9}
        - path: $..name
          value: {matches: '^[A-Z]', not_contains: x, length: {max: 40}}
          match: any
        - path: "$.items[?@.price > 10 && @.tags[0] == 'a']"
          count: {max: 5}
        - path: $.a.b.c
          value: {exists: false}
        - path: $[*][*]
          value: {one_of: [1, "1", true, null, 2.5]}
          match: any
        - path: "$..[?length(@) > 2]"
          count: {max: 100000}
        - path: "$..[?match(@.name, '[a-z]+') || search(@.id, '^x')]"
          value: {type: object}
        - path: $.error
          count: 0
        - path: "$[-1:0:-2]"
          value: {not_equals: 0, ge: -5}
        - path: "$..*"
          value: {type: string, empty: false}
          match: any
        - path: "$.db.latency_ms"
          value: {lt: 100, equals: "42"}
    extract:
      - name: depth
        path: $.queue.depth
      - name: first_price
        path: $.items[0].price
        regex: '([0-9]+)'
"#;

static CONFIG: LazyLock<Config> = LazyLock::new(|| fixed_config(SPEC));

fuzz_target!(|data: &[u8]| {
    let ev = evaluate(
        target(&CONFIG, "json"),
        &response(data, "application/json"),
        Engine::Auto,
        None,
    );
    if ev.error.is_some() {
        assert!(
            ev.extracted.is_empty(),
            "values extracted from an undecodable body"
        );
    }
});
