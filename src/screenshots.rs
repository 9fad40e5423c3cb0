//! The latest screenshot of each rendered target, kept in the state directory
//! (`STATE/screenshots/SPEC/TARGET.png`), served by the daemon at the same path under `/` and
//! linked from the status page and alerts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;

use crate::config::walk::SPEC_NAME;

/// Where screenshots live and which targets have one.
#[derive(Debug)]
pub struct Screenshots {
    /// `STATE/screenshots`.
    dir: PathBuf,
    /// (spec, target) of every screenshot written by this process or found at start.
    saved: Mutex<HashSet<(String, String)>>,
}

impl Screenshots {
    /// Screenshots under `state_dir`; the ones a previous run left are served too.
    pub fn new(state_dir: &Path) -> Screenshots {
        let dir = state_dir.join("screenshots");
        let mut saved = HashSet::new();
        for spec in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let spec_name = spec.file_name().to_string_lossy().into_owned();
            for file in std::fs::read_dir(spec.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = file.file_name().to_string_lossy().into_owned();
                if let Some(target) = name.strip_suffix(".png") {
                    saved.insert((spec_name.clone(), target.to_string()));
                }
            }
        }
        Screenshots {
            dir,
            saved: Mutex::new(saved),
        }
    }

    /// The URL path of a target's screenshot: `/screenshots/SPEC/TARGET.png`.
    pub fn url_path(spec: &str, target: &str) -> String {
        format!("/screenshots/{spec}/{target}.png")
    }

    /// Does `spec/target` have a screenshot?
    pub fn has(&self, spec: &str, target: &str) -> bool {
        self.saved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(spec.to_string(), target.to_string()))
    }

    /// Replace `spec/target`'s screenshot (written to a temporary file, then renamed, off the
    /// async workers). A write error is logged; the check's result stands.
    pub async fn save(&self, spec: &str, target: &str, png: Bytes) {
        let Some(file) = self.file(spec, target) else {
            return;
        };
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let tmp = file.with_extension("png.tmp");
            std::fs::write(&tmp, &png)?;
            std::fs::rename(&tmp, &file)
        })
        .await;
        match written {
            Ok(Ok(())) => {
                self.saved
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((spec.to_string(), target.to_string()));
            }
            Ok(Err(e)) => tracing::warn!(spec, target, error = %e, "cannot write a screenshot"),
            Err(e) => {
                tracing::warn!(spec, target, error = %e, "screenshot writer ended abnormally")
            }
        }
    }

    /// The PNG of `spec/target`, if there is one.
    pub async fn read(&self, spec: &str, target: &str) -> Option<Vec<u8>> {
        let file = self.file(spec, target)?;
        tokio::fs::read(file).await.ok()
    }

    /// The file of `spec/target`; `None` for names that are not spec or target names (so a
    /// request path can never leave the folder).
    fn file(&self, spec: &str, target: &str) -> Option<PathBuf> {
        (SPEC_NAME.matches(spec) && SPEC_NAME.matches(target))
            .then(|| self.dir.join(spec).join(format!("{target}.png")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn screenshots_are_kept_per_target_and_names_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let shots = Screenshots::new(dir.path());
        assert!(!shots.has("shop", "home"));
        shots
            .save("shop", "home", Bytes::from_static(b"\x89PNG"))
            .await;
        assert!(shots.has("shop", "home"));
        assert_eq!(
            shots.read("shop", "home").await.as_deref(),
            Some(&b"\x89PNG"[..])
        );
        assert_eq!(shots.read("..", "home").await, None);
        assert_eq!(shots.read("shop", "../../etc/passwd").await, None);
        // A new process finds what the last one left.
        assert!(Screenshots::new(dir.path()).has("shop", "home"));
    }
}
