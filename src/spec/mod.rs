//! Loading specs: YAML text -> positioned tree -> validated, compiled [`Config`].
//!
//! Stage 1 parses each file into a spanned generic tree (syntax errors, duplicate keys and alias
//! budgets abort that file only). Stage 2 walks the tree against the schema and compiles every
//! value (interpolating `${VAR}`), collecting every problem as a positioned [`Diagnostic`].

pub(crate) mod compile;
mod crawl;
pub mod depends;
mod expect;
mod extract;
pub mod keys;
pub mod reference;
mod render;
mod steps;
pub(crate) mod walk;

use std::path::PathBuf;

pub use crate::config::{Diagnostic, Diagnostics, EnvLookup, Source, process_env};
pub use crate::model::{exprs, schedule};
pub use reference::reference_markdown;
pub use steps::parse_template;

use crate::config::{files, yaml};
use crate::model::Config;

/// Read every `*.yaml`/`*.yml` under `paths` (files or folders, recursively, sorted) and load them.
///
/// A missing path or unreadable file is a diagnostic at `PATH:1:1`, and so is finding no spec
/// file at all. Every problem of every file is reported at once, sorted by file and position.
pub fn load_paths(paths: &[PathBuf], env: EnvLookup<'_>) -> Result<Config, Diagnostics> {
    let empty = "no spec files (*.yaml, *.yml) in this folder";
    let (sources, mut diags) = files::read_paths(paths, files::Missing::Error, Some(empty));
    if paths.is_empty() {
        diags.push(Diagnostic::new("specs", 1, 1, "no spec paths given"));
    }
    if sources.is_empty() && !diags.is_empty() {
        diags.sort();
        return Err(diags);
    }
    diags.combine(load_sources(&sources, env))
}

/// Load already-read sources (used by `load_paths`, the demo and tests).
///
/// Spec names must be unique across sources: a duplicate is reported at the later one, naming
/// the first's `file:line`. With no sources at all this is an error too.
///
/// Positions are needed only for errors, and a positioned parse costs several times an
/// unpositioned one: the sources are loaded from unpositioned trees first, and only when that
/// finds a problem are they loaded again from positioned trees, whose diagnostics are the ones
/// returned. Nothing but messages reads a position, so both loads find problems alike.
pub fn load_sources(sources: &[Source], env: EnvLookup<'_>) -> Result<Config, Diagnostics> {
    load_with(sources, env, yaml::parse_unpositioned)
        .or_else(|_| load_with(sources, env, yaml::parse))
}

/// [`load_sources`] with the given YAML parser. With more than one file and more than one
/// core, one thread per core parses the files (thread `k` of `n` parses files `k`, `k + n`, …)
/// while this one compiles them in order (at most two parsed trees wait per thread, so memory
/// stays that of a few files). Parsing is most of loading: one parsing thread was the whole
/// wall time of a load of 20 files.
fn load_with(sources: &[Source], env: EnvLookup<'_>, parse: Parse) -> Result<Config, Diagnostics> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(sources.len()).min(8);
    if threads < 2 {
        let trees = sources.iter().map(|s| parse(&s.name, &s.text));
        return compile_all(sources, trees, env);
    }
    std::thread::scope(|scope| {
        let receivers: Vec<_> = (0..threads)
            .map(|k| {
                let (tx, rx) = std::sync::mpsc::sync_channel(2);
                scope.spawn(move || {
                    for s in sources.iter().skip(k).step_by(threads) {
                        if tx.send(parse(&s.name, &s.text)).is_err() {
                            return;
                        }
                    }
                });
                rx
            })
            .collect();
        let trees = sources.iter().enumerate().map(|(i, s)| {
            receivers[i % threads].recv().unwrap_or_else(|_| {
                Err(Diagnostic::new(
                    &s.name,
                    1,
                    1,
                    "internal error: the parsing thread stopped before this file",
                ))
            })
        });
        compile_all(sources, trees, env)
    })
}

/// A YAML parser: positioned or not.
type Parse = fn(&str, &str) -> Result<crate::config::yaml::Node, Diagnostic>;

/// Compile the parsed `trees` of `sources` (in the same order) and check across them.
fn compile_all(
    sources: &[Source],
    trees: impl Iterator<Item = Result<crate::config::yaml::Node, Diagnostic>>,
    env: EnvLookup<'_>,
) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut config = Config::default();
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    let mut found = depends::Found::default();
    if sources.is_empty() {
        diags.push(Diagnostic::new(
            "specs",
            1,
            1,
            "no spec files found (*.yaml, *.yml)",
        ));
    }
    for (source, tree) in sources.iter().zip(trees) {
        let root = match tree {
            Ok(root) => root,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let mut ctx = walk::Walk::new(&source.name, env);
        let compiled = compile::spec(&mut ctx, &root, &source.name);
        found.declared.append(&mut ctx.ext.found.declared);
        found.pending.append(&mut ctx.ext.found.pending);
        if let Some((spec, pos)) = compiled {
            if let Some((_, file, line)) = seen.iter().find(|(n, _, _)| *n == spec.name) {
                ctx.err(
                    pos,
                    format!(
                        "duplicate spec name {:?} (first defined at {file}:{line})",
                        spec.name
                    ),
                );
            } else {
                seen.push((spec.name.clone(), source.name.clone(), pos.line));
                config.specs.push(spec);
            }
        }
        // Messages may quote values that came from the environment: never print them back.
        let secrets: Vec<String> = ctx
            .secrets
            .iter()
            .filter(|s| s.chars().count() >= 3)
            .cloned()
            .collect();
        for mut d in ctx.diags {
            d.message = crate::model::redact(&d.message, &secrets);
            diags.push(d);
        }
    }
    for d in depends::check(&found.declared, &found.pending) {
        diags.push(d);
    }
    if diags.is_empty() {
        Ok(config)
    } else {
        diags.sort();
        Err(diags)
    }
}
