//! Loading specs: YAML text -> positioned tree -> validated, compiled [`Config`].
//!
//! Stage 1 parses each file into a spanned generic tree (syntax errors, duplicate keys and alias
//! budgets abort that file only). Stage 2 walks the tree against the schema and compiles every
//! value (interpolating `${VAR}`), collecting every problem as a positioned [`Diagnostic`].

pub(crate) mod compile;
mod crawl;
pub mod diag;
mod expect;
pub mod exprs;
pub mod interp;
pub mod keys;
pub mod reference;
pub mod schedule;
pub mod units;
pub(crate) mod walk;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use compile::is_credential_header;
pub use diag::{Diagnostic, Diagnostics};
pub use reference::reference_markdown;

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
///
/// A missing path or unreadable file is a diagnostic at `PATH:1:1`, and so is finding no spec
/// file at all. Every problem of every file is reported at once, sorted by file and position.
pub fn load_paths(paths: &[PathBuf], env: EnvLookup<'_>) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut sources = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let files = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                collect_dir(path, 0, &mut found, &mut diags);
                found.sort();
                if found.is_empty() {
                    diags.push(Diagnostic::new(
                        &shown,
                        1,
                        1,
                        "no spec files (*.yaml, *.yml) in this folder",
                    ));
                }
                found
            }
            Ok(_) => vec![path.clone()],
            Err(e) => {
                diags.push(Diagnostic::new(&shown, 1, 1, format!("cannot read: {e}")));
                continue;
            }
        };
        for file in files {
            let name = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => sources.push(Source { name, text }),
                Err(e) => diags.push(Diagnostic::new(name, 1, 1, format!("cannot read: {e}"))),
            }
        }
    }
    if paths.is_empty() {
        diags.push(Diagnostic::new("specs", 1, 1, "no spec paths given"));
    }
    if sources.is_empty() && !diags.is_empty() {
        diags.sort();
        return Err(diags);
    }
    diags.combine(load_sources(&sources, env))
}

/// Deepest folder nesting followed (guards against symlink loops).
pub(crate) const MAX_DIR_DEPTH: usize = 32;

/// Collect `*.yaml`/`*.yml` files under `dir` (paths keep the user's prefix: `specs/a/b.yaml`).
///
/// Entries whose name starts with `.` are skipped: a Kubernetes ConfigMap volume holds each file
/// three times (`shop.yaml` -> `..data/shop.yaml` -> `..2025_01_01_.../shop.yaml`), and editors
/// leave hidden swap and backup files.
pub(crate) fn collect_dir(
    dir: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
    diags: &mut Diagnostics,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let shown = dir.display().to_string();
            diags.push(Diagnostic::new(shown, 1, 1, format!("cannot read: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
        if is_dir {
            if depth < MAX_DIR_DEPTH {
                collect_dir(&path, depth + 1, out, diags);
            }
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Load already-read sources (used by `load_paths`, the demo and tests).
///
/// Spec names must be unique across sources: a duplicate is reported at the later one, naming
/// the first's `file:line`. With no sources at all this is an error too.
pub fn load_sources(sources: &[Source], env: EnvLookup<'_>) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut config = Config::default();
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    if sources.is_empty() {
        diags.push(Diagnostic::new(
            "specs",
            1,
            1,
            "no spec files found (*.yaml, *.yml)",
        ));
    }
    for source in sources {
        let root = match yaml::parse(&source.name, &source.text) {
            Ok(root) => root,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let mut ctx = walk::Ctx::new(&source.name, env);
        let compiled = compile::spec(&mut ctx, &root, &source.name);
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
    if diags.is_empty() {
        Ok(config)
    } else {
        diags.sort();
        Err(diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder laid out like a Kubernetes ConfigMap volume: the visible file is a symlink
    /// through `..data` into a hidden timestamped folder.
    #[cfg(unix)]
    #[test]
    fn a_configmap_volume_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let stamped = dir.path().join("..2025_01_01_00_00_00.000000001");
        std::fs::create_dir(&stamped).unwrap();
        std::fs::write(stamped.join("shop.yaml"), "name: shop\n").unwrap();
        let link =
            |to: &str, at: &str| std::os::unix::fs::symlink(to, dir.path().join(at)).unwrap();
        link("..2025_01_01_00_00_00.000000001", "..data");
        link("..data/shop.yaml", "shop.yaml");
        std::fs::write(dir.path().join(".shop.yaml.swp"), "x").unwrap();
        let (mut found, mut diags) = (Vec::new(), Diagnostics::default());
        collect_dir(dir.path(), 0, &mut found, &mut diags);
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(found, [dir.path().join("shop.yaml")]);
    }
}
