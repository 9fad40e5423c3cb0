//! Arbitrary bytes as a spec file, through the loader and validator `dcrawl validate` uses:
//! no panic, no hang, no unbounded allocation; a rejected file gets positioned diagnostics.
#![no_main]

use dcrawl::spec::{Source, load_sources};
use dcrawl_fuzz::{check_diagnostics, env, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = Source {
        name: "specs/fuzz.yaml".into(),
        text: text(data),
    };
    match load_sources(std::slice::from_ref(&source), &env) {
        Ok(config) => assert_eq!(config.specs.len(), 1, "one file, one spec"),
        Err(d) => check_diagnostics(&source.name, &source.text, &d),
    }
});
