//! `depends_on` through the daemon: a chain of three targets over two spec files (`shop/home`
//! needs `core/api`, which needs `core/db`) fails at once, and only the root alerts; the others
//! are shown as blocked. When the root recovers, the next one in the chain fires, the last stays
//! blocked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flaky.rs"]
mod flaky;

use std::time::Duration;

use daemon_support::{Daemon, find_target};
use flaky::{Hook, Site};
use serde_json::Value;

const SOON: Duration = Duration::from_secs(20);

/// (status, spec/target) of every notification the hook accepted.
fn told(hook: &Hook) -> Vec<(String, String)> {
    hook.accepted()
        .iter()
        .map(|b| {
            (
                b["status"].as_str().unwrap_or("").to_string(),
                format!(
                    "{}/{}",
                    b["spec"].as_str().unwrap_or(""),
                    b["target"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

fn blocked_by(doc: &Value, spec: &str, target: &str) -> Value {
    find_target(doc, spec, target).map_or(Value::Null, |t| t["blocked_by"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_chain_of_three_failing_targets_only_the_root_alerts() {
    let db = Site::start(false).await;
    let rest = Site::start(false).await;
    let hook = Hook::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let (specs, alerts) = (dir.path().join("specs"), dir.path().join("alerts"));
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::create_dir_all(&alerts).unwrap();
    std::fs::write(
        specs.join("core.yaml"),
        format!(
            "name: core\nschedule: \"@every 1s\"\ntargets:\n  - name: db\n    url: {}\n  - name: api\n    url: {}\n    depends_on: [core/db]\n",
            db.url, rest.url
        ),
    )
    .unwrap();
    std::fs::write(
        specs.join("shop.yaml"),
        format!(
            "name: shop\nschedule: \"@every 1s\"\ntargets:\n  - name: home\n    url: {}\n    depends_on: [core/api]\n",
            rest.url
        ),
    )
    .unwrap();
    std::fs::write(
        alerts.join("alerts.yaml"),
        format!(
            "channels:\n  hook: {{webhook: {{url: \"{}\"}}}}\nroutes:\n  - channels: [hook]\n    after: 2\n",
            hook.url
        ),
    )
    .unwrap();
    let d = Daemon::start([
        "--specs".into(),
        specs.into_os_string(),
        "--alerts".into(),
        alerts.into_os_string(),
    ])
    .await;

    d.until("core/db to fire", SOON, || async {
        let t = told(&hook);
        if t.is_empty() {
            Err("nothing yet".into())
        } else {
            Ok(())
        }
    })
    .await;
    // Let the dependents run on well past `after` failures each.
    let doc = d
        .until_status("both dependents blocked after 5 runs", SOON, |doc| {
            ["core/api", "shop/home"].iter().all(|id| {
                let (s, t) = id.split_once('/').unwrap();
                find_target(doc, s, t).is_some_and(|t| {
                    t["history"].as_array().is_some_and(|h| h.len() >= 5)
                        && !t["blocked_by"].is_null()
                })
            })
        })
        .await;
    assert_eq!(blocked_by(&doc, "core", "api"), "core/db");
    assert_eq!(blocked_by(&doc, "shop", "home"), "core/api");
    assert_eq!(blocked_by(&doc, "core", "db"), Value::Null);
    let api = find_target(&doc, "core", "api").unwrap();
    assert_eq!(api["result"], "failure");
    assert_eq!(api["alert"], "pending", "{api}");
    // The page escapes `/` as `&#x2f;`.
    let page = d.text("/").await.replace("&#x2f;", "/");
    assert!(page.contains("blocked by core/db"), "{page}");
    assert!(page.contains("blocked by core/api"), "{page}");
    assert_eq!(told(&hook), [("firing".into(), "core/db".into())]);

    // The root recovers: it resolves, the next in the chain fires, the last stays blocked.
    db.set_up(true);
    d.until("core/api to fire", SOON, || async {
        let t = told(&hook);
        if t.iter().any(|(s, id)| s == "firing" && id == "core/api") {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
    d.until_status("shop/home blocked by core/api", SOON, |doc| {
        blocked_by(doc, "shop", "home") == "core/api" && blocked_by(doc, "core", "api").is_null()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut t = told(&hook);
    t.sort();
    assert_eq!(
        t,
        [
            ("firing".into(), "core/api".into()),
            ("firing".into(), "core/db".into()),
            ("resolved".into(), "core/db".into()),
        ]
    );
    d.stop().await;
}
