//! Loading specs: YAML text -> positioned tree -> validated, compiled [`Config`].
//!
//! Stage 1 parses each file into a spanned generic tree (syntax errors, duplicate keys and alias
//! budgets abort that file only). Stage 2 walks the tree against the schema and compiles every
//! value (interpolating `${VAR}`), collecting every problem as a positioned [`Diagnostic`].

pub mod diag;
pub mod exprs;
pub mod schedule;
pub mod units;

use std::path::PathBuf;

pub use diag::{Diagnostic, Diagnostics};

use crate::model::Config;

/// Looks up an environment variable (`std::env::var` in production, a map in tests and demo).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One spec file's text with the name used in messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file as the user named it.
    pub name: String,
    /// Its contents.
    pub text: String,
}

/// Read every `*.yaml`/`*.yml` under `paths` (files or folders, recursively, sorted) and load them.
pub fn load_paths(paths: &[PathBuf], env: EnvLookup<'_>) -> Result<Config, Diagnostics> {
    let _ = (paths, env);
    Err(Diagnostics::default())
}

/// Load already-read sources (used by `load_paths`, the demo and tests).
pub fn load_sources(sources: &[Source], env: EnvLookup<'_>) -> Result<Config, Diagnostics> {
    let _ = (sources, env);
    Err(Diagnostics::default())
}
