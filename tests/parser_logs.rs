//! The HTML parser's own log events (html5ever warns "foster parenting not implemented" on
//! misnested table markup, a note about its internals, not about the page) never reach the
//! user at the default level, nor with a general `RUST_LOG`; only a `RUST_LOG` that names
//! `html5ever` shows them (issue 13). Through the real binary against a page served on
//! 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assert_cmd::Command;
use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// Misnested table markup: the `<p>` and its text are foster-parented out of the table.
const PAGE: &str = "<!doctype html><title>t</title><table><tr><td>a</td></tr><p>moved</p>\
    <b>bold<tr><td>b</td></tr></table><p>after</p>";

/// The page's URL, served from a background runtime.
fn serve_page() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let router = Router::new().route("/", get(|| async { Html(PAGE) }));
            tx.send(support::serve(router).await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap().to_string()
}

/// `dcrawl check --specs DIR [--format FORMAT]` with `RUST_LOG` set to `rust_log` (or unset).
fn check(dir: &std::path::Path, format: &str, rust_log: Option<&str>) -> (String, String) {
    let mut cmd = Command::cargo_bin("dcrawl").unwrap();
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let out = cmd
        .args(["check", "--format", format, "--specs"])
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn html5ever_warnings_are_not_shown_unless_asked_for() {
    let url = serve_page();
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "name: tables\ntargets:\n  - name: page\n    url: {url}\n    expect:\n      html:\n        \
         - css: \"body > p\"\n          count: 2\n        - css: td\n          count: 2\n"
    );
    std::fs::write(dir.path().join("tables.yaml"), spec).unwrap();

    for rust_log in [
        None,
        Some("warn"),
        Some("debug"),
        Some("trace,dcrawl=debug"),
    ] {
        for format in ["text", "json"] {
            let (stdout, stderr) = check(dir.path(), format, rust_log);
            for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
                assert!(
                    !out.contains("html5ever") && !out.contains("foster"),
                    "RUST_LOG={rust_log:?} --format {format}: {name} has the parser's logs:\n{out}"
                );
            }
        }
    }

    // Asked for by name: shown (on stderr, stdout stays the JSON document).
    let (stdout, stderr) = check(dir.path(), "json", Some("html5ever=warn"));
    assert!(
        stderr.contains("html5ever::tree_builder") && stderr.contains("foster parenting"),
        "{stderr}"
    );
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
}
