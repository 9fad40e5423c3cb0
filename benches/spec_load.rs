//! Loading specs alone: YAML text of 10,000 targets through parsing, validation and compilation
//! (`dcrawl::spec::load_sources`), as `dcrawl check` and `dcrawl run` do at start and at reload.
//! The targets are in 10 files of 1,000, as `scripts/gen-site.py` writes them: one file of 10,000
//! targets with selectors breaches the YAML loader's node budget.
//!
//! Run: `cargo bench --bench spec_load` (throughput is in targets per second of one core).

// A benchmark whose fixture does not load must stop at once and say why.
#![allow(clippy::panic, reason = "benchmark fixtures")]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dcrawl::spec::{self, Source};

/// Targets in all.
const TARGETS: usize = 10_000;
/// Targets per spec file.
const PER_FILE: usize = 1_000;

/// Spec files of [`PER_FILE`] targets, [`TARGETS`] in all, on `@every 1m`; `expect` (YAML,
/// indented for a target) is added to each target, `url(i)` gives target `i`'s URL.
fn spec_files(url: impl Fn(usize) -> String, expect: &str) -> Vec<Source> {
    (0..TARGETS / PER_FILE)
        .map(|f| {
            let mut text = format!("name: bench-{f}\nschedule: \"@every 1m\"\ntargets:\n");
            for i in f * PER_FILE..(f + 1) * PER_FILE {
                let _ = write!(text, "  - name: t{i}\n    url: {}\n{expect}", url(i));
            }
            Source {
                name: format!("bench-{f}.yaml"),
                text,
            }
        })
        .collect()
}

fn load(c: &mut Criterion) {
    let cases = [
        (
            "10k_status_targets",
            spec_files(|i| format!("http://127.0.0.1:18080/health?t={i}"), ""),
        ),
        (
            "10k_html_targets",
            spec_files(
                |i| format!("http://127.0.0.1:18080/p/{}.html", i % 1000),
                "    expect:
      html:
        - css: \"ul.products > li\"
          count: 30
        - css: h1
          text: {contains: Shop}
        - css: a.logo
          attr: {href: /}
",
            ),
        ),
        (
            "10k_json_targets",
            spec_files(
                |i| format!("http://127.0.0.1:18080/j/{}.json", i % 1000),
                "    expect:
      json:
        - path: $.status
          value: ok
        - path: $.items
          value: {type: array, length: {min: 1}}
        - path: $.db.latency_ms
          value: {lt: 100}
        - path: $.items[*].price
          value: {type: number, gt: 0}
        - path: $.error
          count: 0
",
            ),
        ),
    ];
    let mut g = c.benchmark_group("spec_load");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TARGETS as u64));
    for (name, sources) in cases {
        match spec::load_sources(&sources, &spec::process_env) {
            Ok(config) if config.targets().count() == TARGETS => {}
            Ok(config) => panic!("{name}: {} targets loaded", config.targets().count()),
            Err(d) => panic!("{name}: the benchmark spec does not load:\n{d}"),
        }
        g.bench_function(name, |b| {
            b.iter(|| spec::load_sources(black_box(&sources), &spec::process_env));
        });
    }
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
