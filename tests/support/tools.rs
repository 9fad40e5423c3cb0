//! External tools the tests run (promtool): found on PATH, or skipped with a reason outside CI.
#![allow(dead_code)]

use std::path::PathBuf;

/// `name` on PATH, if it is there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// promtool, or None (with the reason printed) when it is missing outside CI.
pub fn promtool() -> Option<PathBuf> {
    let found = on_path("promtool");
    if found.is_none() {
        let why = "promtool is not installed (Debian: apt-get install prometheus)";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI=true: {why}");
        eprintln!("skipped: {why}");
    }
    found
}
