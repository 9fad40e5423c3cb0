//! Arbitrary bytes as an alert routing file, through the loader `dcrawl validate` uses: no
//! panic, no hang, no unbounded allocation; a rejected file gets positioned diagnostics.
#![no_main]

use dcrawl::alert::config::load_sources;
use dcrawl::spec::Source;
use dcrawl_fuzz::{check_diagnostics, env, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Source {
        name: "alerts/fuzz.yaml".into(),
        text: text(data),
    };
    if let Err(d) = load_sources(std::slice::from_ref(&source), &env) {
        check_diagnostics(&source.name, &source.text, &d);
    }
});
