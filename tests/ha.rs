//! High availability: two replicas of one shard (two `dcrawl run` processes with the same specs
//! and alert routes, their own state directories and `--external-url`s, like two pods) check the
//! same failing target and both post its alert to one real Alertmanager, whose webhook receiver
//! on 127.0.0.1 is then notified once, not once per replica; the same for the recovery.
//!
//! Needs `prometheus-alertmanager` on PATH (Debian: `apt-get install prometheus-alertmanager`).
//! Without it the test prints why it is skipped and passes, except on CI (`CI=true`), where it
//! fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flaky.rs"]
mod flaky;
#[path = "support/receivers.rs"]
mod receivers;

use std::ffi::OsString;
use std::time::Duration;

use daemon_support::Daemon;
use flaky::{Hook, Site, until};
use receivers::Alertmanager;
use serde_json::{Value, json};

/// Deadline for anything that takes a few runs (the target runs every second).
const SOON: Duration = Duration::from_secs(30);
/// Alertmanager's `group_wait` and `group_interval`: it flushes an alert group this often.
const GROUP_INTERVAL: Duration = Duration::from_secs(1);
/// How long to keep listening for a duplicate after both replicas' posts were accepted: five
/// flushes of the group. A second notification, if Alertmanager were to send one, comes at the
/// first flush after the second post (the control at the end of the test measures that).
const QUIET: Duration = Duration::from_secs(5 * GROUP_INTERVAL.as_secs());

/// Alertmanager: every alert to one webhook, grouped per target, flushed every second, never
/// repeated within the test.
fn alertmanager_config(webhook: &str) -> String {
    format!(
        "route:\n  receiver: hook\n  group_by: [alertname, spec, target]\n  \
         group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: hook\n    webhook_configs:\n      \
         - url: \"{webhook}\"\n        send_resolved: true\n"
    )
}

/// Specs and alert routes shared by both replicas (one ConfigMap in Kubernetes).
struct Config {
    /// Holds `specs/` and `alerts/`.
    dir: tempfile::TempDir,
}

impl Config {
    /// Spec `shop` with one target `home` at `url`, every second; one route to Alertmanager
    /// firing after one failed run.
    fn new(url: &str, alertmanager: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            (
                "specs/shop.yaml",
                format!(
                    "name: shop\nschedule: \"@every 1s\"\nlabels: {{team: web}}\n\
                     targets:\n  - name: home\n    url: {url}\n"
                ),
            ),
            (
                "alerts/alerts.yaml",
                format!(
                    "channels:\n  am:\n    alertmanager: {{url: \"{alertmanager}\"}}\n\
                     routes:\n  - channels: [am]\n    after: 1\n"
                ),
            ),
        ];
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Config { dir }
    }

    /// The command line of one replica (the state directory is the daemon helper's own).
    fn args(&self, external_url: &str) -> Vec<OsString> {
        vec![
            "--specs".into(),
            self.dir.path().join("specs").into(),
            "--alerts".into(),
            self.dir.path().join("alerts").into(),
            "--external-url".into(),
            external_url.into(),
        ]
    }
}

/// `dcrawl_notifications_total{channel="am",result=RESULT}` (0 when absent).
fn am_notifications(metrics: &str, result: &str) -> f64 {
    let series = format!("dcrawl_notifications_total{{channel=\"am\",result=\"{result}\"}}");
    daemon_support::sample(metrics, &series).unwrap_or(0.0)
}

/// Wait until `replica` has had `n` posts accepted by Alertmanager.
async fn until_posted(replica: &Daemon, n: f64, what: &str) {
    replica
        .until_metrics(what, SOON, |m| am_notifications(m, "sent") >= n)
        .await;
}

/// Wait until the receiver has accepted `n` notifications; return them all.
async fn until_notified(hook: &Hook, n: usize, what: &str) -> Vec<Value> {
    until(
        what,
        SOON,
        || async {
            let got = hook.accepted();
            if got.len() >= n {
                Ok(got)
            } else {
                Err(format!("{got:?}"))
            }
        },
        String::new,
    )
    .await
}

/// The labels dcrawl gives the alert of shop/home: the same from every replica.
fn shop_home_labels() -> Value {
    json!({"alertname": "DcrawlTargetDown", "spec": "shop", "target": "home", "team": "web"})
}

/// Assert that `notification` (a webhook payload of Alertmanager) carries one alert, shop/home,
/// in `status`.
fn assert_one_alert(notification: &Value, status: &str) {
    assert_eq!(notification["status"], status, "{notification}");
    let alerts = notification["alerts"].as_array().unwrap();
    assert_eq!(
        alerts.len(),
        1,
        "one alert per target, not one per replica: {notification}"
    );
    assert_eq!(alerts[0]["status"], status, "{notification}");
    assert_eq!(alerts[0]["labels"], shop_home_labels(), "{notification}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_a_shard_notify_once_through_alertmanager() {
    let hook = Hook::start(200).await;
    let Some(am) = Alertmanager::start_with_config(&alertmanager_config(&hook.url)).await else {
        return;
    };
    let site = Site::start(false).await;
    let config = Config::new(&site.url, &am.base);
    let a = Daemon::start(config.args("http://dcrawl-a-0.test:9813/")).await;
    let b = Daemon::start(config.args("http://dcrawl-b-0.test:9813/")).await;
    let logs = || format!("replica a:\n{}\nreplica b:\n{}", a.log(), b.log());

    // Both replicas fire and Alertmanager accepts both posts; it notifies once.
    until_posted(&a, 1.0, "replica a posting the firing alert").await;
    until_posted(&b, 1.0, "replica b posting the firing alert").await;
    until_notified(&hook, 1, "the firing notification").await;
    tokio::time::sleep(QUIET).await;
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "{got:#?}\n{}", logs());
    assert_one_alert(&got[0], "firing");
    let active: Vec<Value> = am
        .alerts()
        .await
        .into_iter()
        .filter(|a| a["labels"]["target"] == "home")
        .collect();
    assert_eq!(active.len(), 1, "{active:#?}");
    assert_eq!(active[0]["labels"], shop_home_labels());

    // Recovery: both replicas post the resolved alert; one notification again.
    site.set_up(true);
    until_posted(&a, 2.0, "replica a posting the resolved alert").await;
    until_posted(&b, 2.0, "replica b posting the resolved alert").await;
    until_notified(&hook, 2, "the resolved notification").await;
    tokio::time::sleep(QUIET).await;
    let got = hook.accepted();
    assert_eq!(got.len(), 2, "{got:#?}\n{}", logs());
    assert_one_alert(&got[1], "resolved");
    for d in [&a, &b] {
        let m = d.metrics().await;
        assert_eq!(am_notifications(&m, "failed"), 0.0, "{m}");
    }

    // Control: an alert whose labels differ only by a replica label is another alert, and its
    // notification arrives within the window waited above, so that window would have caught a
    // duplicate had the replicas' label sets differed.
    let mut labels = shop_home_labels();
    labels["replica"] = "b".into();
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", am.base))
        .header("content-type", "application/json")
        .body(json!([{"labels": labels}]).to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let started = std::time::Instant::now();
    let got = until_notified(&hook, 3, "the notification of a differently labelled alert").await;
    let took = started.elapsed();
    eprintln!("a differently labelled alert was notified after {took:?}");
    assert!(took < QUIET, "took {took:?}");
    assert_eq!(got[2]["alerts"][0]["labels"]["replica"], "b", "{got:#?}");

    a.stop().await;
    b.stop().await;
}
