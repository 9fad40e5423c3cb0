//! Reading the configuration files under the paths a user gave: files or folders, read
//! recursively and sorted, hidden entries skipped.

use std::path::{Path, PathBuf};

use super::{Diagnostic, Diagnostics, Source};

/// What a path that does not exist means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// A diagnostic at `PATH:1:1` (spec paths).
    Error,
    /// Nothing to read (alert paths are optional).
    Empty,
}

/// Read every `*.yaml`/`*.yml` under `paths` (files or folders, recursively, each folder's files
/// sorted). An unreadable path or file is a diagnostic at `PATH:1:1`; so is a folder with no
/// such file when `empty_folder` says what to print.
pub(crate) fn read_paths(
    paths: &[PathBuf],
    missing: Missing,
    empty_folder: Option<&str>,
) -> (Vec<Source>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut sources = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let files = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                collect_dir(path, 0, &mut found, &mut diags);
                found.sort();
                if let Some(message) = empty_folder.filter(|_| found.is_empty()) {
                    diags.push(Diagnostic::new(&shown, 1, 1, message));
                }
                found
            }
            Ok(_) => vec![path.clone()],
            Err(e) if missing == Missing::Empty && e.kind() == std::io::ErrorKind::NotFound => {
                continue;
            }
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
    (sources, diags)
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
