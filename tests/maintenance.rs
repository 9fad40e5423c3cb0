//! A maintenance window through the daemon: it starts (by a reload of the alert files) while an
//! alert fires and ends while the target still fails. Nothing is notified during it; exactly
//! one notification follows it. The status API, the status page and `dcrawl_maintenance` show
//! the window while it is on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flaky.rs"]
mod flaky;

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use daemon_support::{Daemon, find_target, sample, write_atomic};
use flaky::{Hook, Site};
use serde_json::Value;

const SOON: Duration = Duration::from_secs(20);
const GAUGE: &str = "dcrawl_maintenance{spec=\"shop\",target=\"home\"}";

fn window(doc: &Value) -> Value {
    find_target(doc, "shop", "home").map_or(Value::Null, |t| t["maintenance"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_over_a_firing_alert_notifies_once_after_it_and_never_in_it() {
    let site = Site::start(false).await;
    let hook = Hook::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let (specs, alerts) = (dir.path().join("specs"), dir.path().join("alerts"));
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::create_dir_all(&alerts).unwrap();
    std::fs::write(
        specs.join("shop.yaml"),
        format!(
            "name: shop\nschedule: \"@every 1s\"\nlabels: {{team: web}}\ntargets:\n  - name: home\n    url: {}\n",
            site.url
        ),
    )
    .unwrap();
    let routes = format!(
        "channels:\n  hook: {{webhook: {{url: \"{}\"}}}}\nroutes:\n  - channels: [hook]\n    after: 1\n",
        hook.url
    );
    let alert_file = alerts.join("alerts.yaml");
    std::fs::write(&alert_file, &routes).unwrap();
    let d = Daemon::start([
        "--specs".into(),
        specs.into_os_string(),
        "--alerts".into(),
        alerts.into_os_string(),
    ])
    .await;
    d.until("the alert to fire", SOON, || async {
        let n = hook.accepted().len();
        if n == 1 {
            Ok(())
        } else {
            Err(format!("{n} notifications"))
        }
    })
    .await;
    assert_eq!(sample(&d.metrics().await, GAUGE), Some(0.0));

    // A window from a minute ago to 8 s from now, by a reload.
    let end = Utc::now() + chrono::Duration::seconds(8);
    let start = Utc::now() - chrono::Duration::minutes(1);
    let until = end.to_rfc3339_opts(SecondsFormat::Secs, true);
    write_atomic(
        &alert_file,
        &format!(
            "{routes}maintenance:\n  - name: deploy\n    match: {{team: web}}\n    start: \"{}\"\n    end: \"{until}\"\n",
            start.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
    );
    let doc = d
        .until_status("the window on the status API", SOON, |doc| {
            !window(doc).is_null()
        })
        .await;
    assert_eq!(
        window(&doc),
        serde_json::json!({"name": "deploy", "until": until})
    );
    assert_eq!(sample(&d.metrics().await, GAUGE), Some(1.0));
    let page = d.text("/").await;
    assert!(page.contains("maintenance deploy until"), "{page}");
    let in_window = hook.accepted().len();
    assert_eq!(in_window, 1, "{:?}", hook.accepted());
    // Nothing is notified while the window is on, though the target keeps failing.
    let last_second = Instant::now()
        + (end - Utc::now() - chrono::Duration::seconds(1))
            .to_std()
            .unwrap_or_default();
    while Instant::now() < last_second {
        assert_eq!(hook.accepted().len(), 1, "notified in the window");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.until_status("the window to end", SOON, |doc| window(doc).is_null())
        .await;
    d.until("one notification after the window", SOON, || async {
        let n = hook.accepted().len();
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} notifications"))
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = hook.accepted();
    assert_eq!(all.len(), 2, "exactly one after the window: {all:?}");
    assert_eq!(all[1]["status"], "firing");
    assert_eq!(all[1]["repeat"], true, "a reminder that it still fires");
    assert_eq!(all[1]["since"], all[0]["since"]);
    assert_eq!(sample(&d.metrics().await, GAUGE), Some(0.0));
    let t = find_target(&d.status().await, "shop", "home").unwrap();
    assert_eq!(t["alert"], "firing");
    d.stop().await;
}
