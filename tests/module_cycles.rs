//! The top-level modules of `src/` import each other without a cycle: the module tree reads like
//! the data flow (load -> model -> fetch -> evaluate -> page check -> results -> metrics and
//! alerts), and a module never reaches back into one that depends on it.
//!
//! This reads the sources as text: every `crate::NAME` outside comments and unit tests is an
//! edge from the module whose file it is in to the module `NAME`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// Is this file only compiled for unit tests?
fn is_test_file(file: &Path) -> bool {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem == "tests" || stem.ends_with("_tests")
}

/// `module -> (dependency -> first place that uses it)`.
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let Some(from) = module_of(src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        // Inline unit tests come last in a file.
        let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if name != from && modules.contains(&name) {
                    edges
                        .entry(from.clone())
                        .or_default()
                        .entry(name)
                        .or_insert_with(|| format!("{}:{}", file.display(), n + 1));
                }
            }
        }
    }
    edges
}

/// A cycle through `start`, as the places that make it, if there is one.
fn cycle_from(
    edges: &BTreeMap<String, BTreeMap<String, String>>,
    start: &str,
    at: &str,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> bool {
    for (next, place) in edges.get(at).into_iter().flatten() {
        path.push(format!("{at} -> {next} ({place})"));
        if next == start {
            return true;
        }
        if seen.insert(next.clone()) && cycle_from(edges, start, next, path, seen) {
            return true;
        }
        path.pop();
    }
    false
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    assert!(
        edges.get("page").is_some_and(|d| d.contains_key("fetch")),
        "the scan found no edge page -> fetch: it reads nothing"
    );
    for start in edges.keys() {
        let mut path = Vec::new();
        let mut seen = BTreeSet::new();
        if cycle_from(&edges, start, start, &mut path, &mut seen) {
            panic!("import cycle:\n  {}", path.join("\n  "));
        }
    }
}
