//! End-to-end alerting: the `dcrawl run` daemon as a process, a target on a local axum server
//! switched between 200 and 500, and real receivers on 127.0.0.1 (webhook recorders, aiosmtpd,
//! prometheus-alertmanager). Covers firing/resolved payloads and metrics, retries while a
//! receiver is down or hangs, the durable outbox across `kill -9`, and `dcrawl alert test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flaky.rs"]
mod flaky;
#[path = "support/receivers.rs"]
mod receivers;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use daemon_support::{Daemon, find_target};
use flaky::{Hook, Proc, Site, until};
use receivers::{Alertmanager, Mail, SmtpOptions, SmtpReceiver, WebhookReceiver, closed_port_url};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Deadline for anything that takes a few runs (targets run every second).
const SOON: Duration = Duration::from_secs(20);
/// Deadline for a retried delivery: the 5 s backoff (+20 % jitter), maybe doubled once, plus
/// the runs before it.
const RETRY: Duration = Duration::from_secs(40);
/// The `--external-url` the daemons get (it shows up in payloads as the status page).
const EXTERNAL: &str = "http://dcrawl.test:9813/";

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A temp dir with `specs/shop.yaml` and `alerts/alerts.yaml`.
struct Files {
    /// Holds the files.
    dir: tempfile::TempDir,
}

impl Files {
    fn new(spec: &str, alerts: &str) -> Files {
        let dir = tempfile::tempdir().unwrap();
        for (sub, text) in [("specs", spec), ("alerts", alerts)] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            let name = if sub == "specs" {
                "shop.yaml"
            } else {
                "alerts.yaml"
            };
            std::fs::write(dir.path().join(sub).join(name), text).unwrap();
        }
        Files { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// `--specs DIR --alerts DIR --external-url URL`.
    fn args(&self) -> Vec<OsString> {
        vec![
            "--specs".into(),
            self.path("specs").into(),
            "--alerts".into(),
            self.path("alerts").into(),
            "--external-url".into(),
            EXTERNAL.into(),
        ]
    }
}

/// Spec `shop` (labels team=web, severity=page), every second, targets as (name, url).
fn spec(targets: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "name: shop\nschedule: \"@every 1s\"\nlabels: {team: web, severity: page}\ntargets:\n",
    );
    for (name, url) in targets {
        s.push_str(&format!("  - name: {name}\n    url: {url}\n"));
    }
    s
}

/// One webhook channel `name` (JSON) and a route of every target to it after 2 failures.
fn webhook_alerts(name: &str, url: &str) -> String {
    format!(
        "channels:\n  {name}:\n    webhook: {{url: \"{url}\"}}\nroutes:\n  - channels: [{name}]\n    after: 2\n"
    )
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// The sum of the samples of `name` whose labels include all of `labels` (0 when none).
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let prefix = format!("{name}{{");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (set, value) = rest.split_once("} ")?;
            labels
                .iter()
                .all(|(k, v)| set.split(',').any(|p| p == format!("{k}=\"{v}\"")))
                .then(|| value.split(' ').next()?.parse::<f64>().ok())?
        })
        .sum()
}

/// An unlabelled sample (`dcrawl_notifications_pending`), if exposed.
fn plain(text: &str, name: &str) -> Option<f64> {
    daemon_support::sample(text, name)
}

fn checks(text: &str, target: &str, result: &str) -> f64 {
    metric(
        text,
        "dcrawl_checks_total",
        &[("spec", "shop"), ("target", target), ("result", result)],
    )
}

fn all_checks(text: &str, target: &str) -> f64 {
    metric(
        text,
        "dcrawl_checks_total",
        &[("spec", "shop"), ("target", target)],
    )
}

fn notifications(text: &str, channel: &str, result: &str) -> f64 {
    metric(
        text,
        "dcrawl_notifications_total",
        &[("channel", channel), ("result", result)],
    )
}

fn firing_gauge(text: &str, target: &str) -> Option<f64> {
    daemon_support::sample(
        text,
        &format!("dcrawl_alert_firing{{spec=\"shop\",target=\"{target}\"}}"),
    )
}

fn alert_field(doc: &Value, target: &str) -> Value {
    find_target(doc, "shop", target).map_or(Value::Null, |t| t["alert"].clone())
}

/// The JSON bodies of the requests a [`WebhookReceiver`] recorded.
fn bodies(r: &WebhookReceiver) -> Vec<Value> {
    r.all().iter().map(receivers::Received::json).collect()
}

fn with_status<'a>(bodies: &'a [Value], status: &str) -> Vec<&'a Value> {
    bodies.iter().filter(|b| b["status"] == status).collect()
}

fn parse_time(s: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------
// 1 + 2: webhook JSON and Slack

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_json_and_slack_notify_firing_once_and_resolved_once() {
    let t0 = Utc::now().trunc_subsecs(0);
    let site = Site::start(false).await;
    let hook = WebhookReceiver::start().await;
    let chat = WebhookReceiver::start().await;
    // No `after:`: the default is 2.
    let alerts = format!(
        "channels:\n  hook:\n    webhook: {{url: \"{}\"}}\n  chat:\n    webhook: {{url: \"{}\", format: slack}}\nroutes:\n  - match: {{spec: shop, team: web}}\n    channels: [hook, chat]\n",
        hook.url("/ok"),
        chat.url("/ok")
    );
    let files = Files::new(&spec(&[("home", &site.url)]), &alerts);
    let d = Daemon::start(files.args()).await;

    // Firing: the gauge, the status API and one notification per channel.
    d.until_metrics("dcrawl_alert_firing 1", SOON, |m| {
        firing_gauge(m, "home") == Some(1.0)
    })
    .await;
    d.until_status("alert firing in the status API", SOON, |doc| {
        alert_field(doc, "home") == "firing"
    })
    .await;
    d.until("a notification on each channel", SOON, || async {
        let (h, c) = (hook.all().len(), chat.all().len());
        if h >= 1 && c >= 1 {
            Ok(())
        } else {
            Err(format!("hook {h}, chat {c}"))
        }
    })
    .await;
    // Two more failed runs: still one notification each (no re-fire without `repeat`).
    let failed = checks(&d.metrics().await, "home", "failure");
    d.until_metrics("two more failed runs", SOON, |m| {
        checks(m, "home", "failure") >= failed + 2.0
    })
    .await;
    let sent = bodies(&hook);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let received = &hook.all()[0];
    assert!(
        received
            .header("content-type")
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        received.headers
    );
    let firing = &sent[0];
    assert_eq!(firing["version"], "1");
    assert_eq!(firing["status"], "firing");
    assert_eq!(firing["spec"], "shop");
    assert_eq!(firing["target"], "home");
    assert_eq!(firing["url"], site.url.as_str());
    assert_eq!(firing["labels"], json!({"team": "web", "severity": "page"}));
    let since = parse_time(&firing["since"]);
    assert!(
        since >= t0 && since <= Utc::now(),
        "since {since} not within the test (started {t0})"
    );
    // It fires on the second failed run, so the count is exactly `after`.
    assert_eq!(firing["consecutive_failures"], 2, "{firing}");
    assert_eq!(firing["result"], "failure");
    assert_eq!(firing["failures"][0]["assertion"], "status", "{firing}");
    let message = firing["failures"][0]["message"].as_str().unwrap();
    assert!(message.contains("500"), "{message}");
    assert_eq!(firing["status_page"], EXTERNAL);

    let slack = bodies(&chat);
    assert_eq!(slack.len(), 1, "{slack:#?}");
    let obj = slack[0].as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["text"], "{obj:?}");
    let text = obj["text"].as_str().unwrap();
    assert!(text.contains("[FIRING] shop/home"), "{text}");
    assert!(text.contains(&site.url), "{text}");

    // Recovery: one resolved notification per channel, the gauge and the API back to ok.
    site.set_up(true);
    d.until("a resolved notification on each channel", SOON, || async {
        let (h, c) = (hook.all().len(), chat.all().len());
        if h >= 2 && c >= 2 {
            Ok(())
        } else {
            Err(format!("hook {h}, chat {c}"))
        }
    })
    .await;
    d.until_metrics("dcrawl_alert_firing 0", SOON, |m| {
        firing_gauge(m, "home") == Some(0.0)
    })
    .await;
    d.until_status("alert ok in the status API", SOON, |doc| {
        alert_field(doc, "home") == "ok"
    })
    .await;
    let ok = checks(&d.metrics().await, "home", "success");
    d.until_metrics("two more successful runs", SOON, |m| {
        checks(m, "home", "success") >= ok + 2.0
    })
    .await;

    let sent = bodies(&hook);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(with_status(&sent, "firing").len(), 1, "{sent:#?}");
    let resolved = &sent[1];
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    assert_eq!(resolved["version"], "1");
    assert_eq!(resolved["spec"], "shop");
    assert_eq!(resolved["target"], "home");
    assert_eq!(resolved["labels"], firing["labels"]);
    assert_eq!(resolved["since"], firing["since"]);
    assert_eq!(resolved["result"], "success", "{resolved}");
    let slack = bodies(&chat);
    assert_eq!(slack.len(), 2, "{slack:#?}");
    let text = slack[1]["text"].as_str().unwrap();
    assert!(text.contains("[RESOLVED] shop/home"), "{text}");

    let m = d.metrics().await;
    assert_eq!(notifications(&m, "hook", "sent"), 2.0, "{m}");
    assert_eq!(notifications(&m, "chat", "sent"), 2.0, "{m}");
    assert_eq!(notifications(&m, "hook", "failed"), 0.0, "{m}");
    assert_eq!(plain(&m, "dcrawl_notifications_pending"), Some(0.0), "{m}");
    d.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 3: receiver down, then back

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_the_notification_once_it_is_back() {
    let site = Site::start(false).await;
    // Nothing listens on this port until the receiver "comes back" on it.
    let down = closed_port_url();
    let addr: SocketAddr = url::Url::parse(&down)
        .unwrap()
        .socket_addrs(|| None)
        .unwrap()[0];
    let files = Files::new(
        &spec(&[("home", &site.url)]),
        &webhook_alerts("hook", &down),
    );
    let d = Daemon::start(files.args()).await;

    let m = d
        .until_metrics("a failed delivery and one pending", SOON, |m| {
            notifications(m, "hook", "failed") >= 1.0
                && plain(m, "dcrawl_notifications_pending") == Some(1.0)
        })
        .await;
    assert_eq!(notifications(&m, "hook", "sent"), 0.0, "{m}");
    assert_eq!(firing_gauge(&m, "home"), Some(1.0), "{m}");
    let log = d.log();
    assert!(log.contains("will retry"), "{log}");

    // The receiver comes back on the same port.
    let hook = Hook::serve(TcpListener::bind(addr).await.unwrap(), 200);
    d.until_metrics("the retried notification sent", RETRY, |m| {
        notifications(m, "hook", "sent") == 1.0
            && plain(m, "dcrawl_notifications_pending") == Some(0.0)
    })
    .await;
    // A few more failed runs: the notification arrived exactly once.
    let failed = checks(&d.metrics().await, "home", "failure");
    d.until_metrics("two more failed runs", SOON, |m| {
        checks(m, "home", "failure") >= failed + 2.0
    })
    .await;
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["status"], "firing");
    assert_eq!(got[0]["target"], "home");
    assert_eq!(hook.rejected(), 0);

    // And the recovery is notified once, right away.
    site.set_up(true);
    d.until("the resolved notification", SOON, || async {
        let got = hook.accepted();
        if got.len() >= 2 {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    let got = hook.accepted();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[1]["status"], "resolved");
    // The counter follows the receiver's answer, a moment after the receiver saw the request.
    d.until_metrics("two notifications sent", SOON, |m| {
        notifications(m, "hook", "sent") == 2.0
    })
    .await;
    d.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 4: hanging receiver

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_delays_no_check_and_times_out_then_retries() {
    let broken = Site::start(false).await;
    let fine = Site::start(true).await;
    let hook = WebhookReceiver::start().await;
    let alerts = format!(
        "channels:\n  hang:\n    webhook: {{url: \"{}\"}}\nroutes:\n  - match: {{target: broken}}\n    channels: [hang]\n    after: 2\n",
        hook.url("/hang")
    );
    let files = Files::new(
        &spec(&[("broken", &broken.url), ("fine", &fine.url)]),
        &alerts,
    );
    let d = Daemon::start(files.args()).await;

    d.until(
        "the notification to reach the hanging receiver",
        SOON,
        || async {
            let n = hook.all().len();
            if n >= 1 { Ok(()) } else { Err(format!("{n}")) }
        },
    )
    .await;
    let m = d.metrics().await;
    let (fine0, broken0) = (all_checks(&m, "fine"), all_checks(&m, "broken"));
    // While the delivery hangs (it may take 10 s), both targets keep running every second.
    let m = d
        .until_metrics("three more runs of each target", SOON, |m| {
            all_checks(m, "fine") >= fine0 + 3.0 && all_checks(m, "broken") >= broken0 + 3.0
        })
        .await;
    assert_eq!(
        notifications(&m, "hang", "failed") + notifications(&m, "hang", "sent"),
        0.0,
        "the delivery should still be in flight: {m}"
    );
    assert_eq!(hook.all().len(), 1, "still the one hanging request");
    assert_eq!(checks(&m, "fine", "success"), all_checks(&m, "fine"), "{m}");

    // It times out, is counted as failed, stays pending and is retried after the backoff.
    let m = d
        .until_metrics("the delivery to time out", SOON, |m| {
            notifications(m, "hang", "failed") >= 1.0
        })
        .await;
    assert_eq!(plain(&m, "dcrawl_notifications_pending"), Some(1.0), "{m}");
    assert_eq!(notifications(&m, "hang", "sent"), 0.0, "{m}");
    let log = d.log();
    assert!(
        log.contains("timeout") && log.contains("will retry"),
        "{log}"
    );
    d.until("the retry to reach the receiver", RETRY, || async {
        let n = hook.all().len();
        if n >= 2 { Ok(()) } else { Err(format!("{n}")) }
    })
    .await;
    let got = bodies(&hook);
    assert_eq!(got[0], got[1], "the retry is the same notification");
    assert_eq!(got[0]["status"], "firing");
    assert_eq!(got[0]["target"], "broken");
    // SIGTERM with a delivery hanging: the shutdown is bounded and clean.
    d.stop().await;
}

/// Each notification is delivered on its own: while one receiver hangs, a notification queued
/// later for another channel is delivered at once, not after the hanging one times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_hold_up_later_notifications() {
    let first = Site::start(false).await;
    let second = Site::start(true).await;
    let hook = WebhookReceiver::start().await;
    let alerts = format!(
        "channels:\n  hang:\n    webhook: {{url: \"{}\"}}\n  quick:\n    webhook: {{url: \"{}\"}}\nroutes:\n  - match: {{target: first}}\n    channels: [hang]\n    after: 2\n  - match: {{target: second}}\n    channels: [quick]\n    after: 2\n",
        hook.url("/hang"),
        hook.url("/ok")
    );
    let files = Files::new(
        &spec(&[("first", &first.url), ("second", &second.url)]),
        &alerts,
    );
    let d = Daemon::start(files.args()).await;
    d.until(
        "the first alert to reach the hanging receiver",
        SOON,
        || async {
            let n = hook.all().iter().filter(|r| r.path == "/hang").count();
            if n >= 1 { Ok(()) } else { Err(format!("{n}")) }
        },
    )
    .await;
    // Now the second target breaks; its alert must not wait for the hanging delivery (10 s).
    second.set_up(false);
    let m = d
        .until_metrics("the quick channel to count as sent", SOON, |m| {
            notifications(m, "quick", "sent") >= 1.0
        })
        .await;
    assert_eq!(
        notifications(&m, "hang", "failed") + notifications(&m, "hang", "sent"),
        0.0,
        "the quick notification waited for the hanging delivery to end: {m}"
    );
    d.stop().await;
}

/// `dcrawl_notifications_pending` is "notifications waiting in the outbox": one whose delivery
/// is in flight (here: hanging for up to the 10 s timeout) has not been delivered yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pending_gauge_counts_a_notification_whose_delivery_is_in_flight() {
    let broken = Site::start(false).await;
    let hook = WebhookReceiver::start().await;
    let files = Files::new(
        &spec(&[("broken", &broken.url)]),
        &webhook_alerts("hang", hook.url("/hang").as_str()),
    );
    let d = Daemon::start(files.args()).await;
    d.until(
        "the notification to reach the hanging receiver",
        SOON,
        || async {
            let n = hook.all().len();
            if n >= 1 { Ok(()) } else { Err(format!("{n}")) }
        },
    )
    .await;
    // Before the 10 s timeout ends the attempt (after which the gauge is 1 anyway).
    d.until_metrics(
        "pending 1 while the delivery hangs",
        Duration::from_secs(8),
        |m| {
            plain(m, "dcrawl_notifications_pending") == Some(1.0)
                && notifications(m, "hang", "failed") == 0.0
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 5: kill -9 with a notification pending

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_a_pending_notification_delivers_it_once_after_restart() {
    let site = Site::start(false).await;
    let hook = Hook::start(500).await;
    let files = Files::new(
        &spec(&[("home", &site.url)]),
        &webhook_alerts("hook", &hook.url),
    );
    let state = tempfile::tempdir().unwrap();

    let mut first = Proc::start(&files.args(), files.dir.path(), state.path()).await;
    first
        .until_metrics("the firing notification failing and pending", SOON, |m| {
            notifications(m, "hook", "failed") >= 1.0
                && plain(m, "dcrawl_notifications_pending") == Some(1.0)
        })
        .await;
    first.kill9();
    let killed_at = Utc::now();
    let rejected = hook.rejected_bodies();
    assert!(!rejected.is_empty());
    assert!(hook.accepted().is_empty());

    // Restart on the same state with the receiver fixed; the target is still failing.
    hook.set_status(200);
    let second = Proc::start(&files.args(), files.dir.path(), state.path()).await;
    let log = second.log.clone();
    let context = move || log.lock().unwrap().clone();
    until(
        "the queued notification",
        RETRY,
        || async {
            let got = hook.accepted();
            if got.is_empty() {
                Err("nothing".into())
            } else {
                Ok(())
            }
        },
        &context,
    )
    .await;
    // Let the restarted daemon see the failure a few more times: no second firing.
    let m = second
        .until_metrics(
            "three failed runs after the restart, alert firing",
            SOON,
            |m| checks(m, "home", "failure") >= 3.0 && firing_gauge(m, "home") == Some(1.0),
        )
        .await;
    assert_eq!(notifications(&m, "hook", "sent"), 1.0, "{m}");
    assert_eq!(plain(&m, "dcrawl_notifications_pending"), Some(0.0), "{m}");
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["status"], "firing");
    assert_eq!(got[0]["target"], "home");
    // The one queued by the first daemon at its second failed run (the very payload it tried
    // before the kill), not a re-detection by the second daemon: that would have a later
    // `since` and a higher count (the streak is restored).
    assert_eq!(got[0], rejected[0], "the queued payload, unchanged");
    assert_eq!(got[0]["consecutive_failures"], 2, "{}", got[0]);
    // `since` (whole seconds, rounded down) is the first daemon's first failure, at least one
    // run (1 s) before the kill.
    let since = parse_time(&got[0]["since"]);
    assert!(
        since + chrono::Duration::seconds(1) <= killed_at,
        "since {since} is not from before the kill at {killed_at}"
    );
    let doc: Value = serde_json::from_str(&second.get("/api/v1/status").await).unwrap();
    assert_eq!(alert_field(&doc, "home"), "firing", "{doc}");

    // Recovery: exactly one resolved.
    site.set_up(true);
    until(
        "the resolved notification",
        SOON,
        || async {
            let got = hook.accepted();
            if got.len() >= 2 {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        },
        &context,
    )
    .await;
    second
        .until_metrics("two successful runs", SOON, |m| {
            checks(m, "home", "success") >= 2.0 && firing_gauge(m, "home") == Some(0.0)
        })
        .await;
    let got = hook.accepted();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[1]["status"], "resolved");
    assert_eq!(got[1]["since"], got[0]["since"]);
    assert_eq!(
        hook.rejected(),
        rejected.len(),
        "no failed attempt after the restart"
    );
    second.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 6: email

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_firing_and_resolved_through_the_daemon() {
    let Some(smtp) = SmtpReceiver::start(&SmtpOptions::default()) else {
        return;
    };
    let site = Site::start(false).await;
    let alerts = format!(
        "channels:\n  mail:\n    email:\n      smtp: {{host: 127.0.0.1, port: {}, tls: none}}\n      from: \"dcrawl <dcrawl@example.com>\"\n      to: [oncall@example.com]\nroutes:\n  - channels: [mail]\n    after: 2\n",
        smtp.port
    );
    let files = Files::new(&spec(&[("home", &site.url)]), &alerts);
    let d = Daemon::start(files.args()).await;

    d.until("the firing mail", SOON, || async {
        let n = smtp.mails().len();
        if n >= 1 { Ok(()) } else { Err(format!("{n}")) }
    })
    .await;
    let mail = Mail::parse(&smtp.mails()[0].raw);
    let subject = mail.header("subject");
    assert!(subject.starts_with("[FIRING] shop/home: "), "{subject}");
    assert!(subject.contains("500"), "{subject}");
    assert_eq!(
        smtp.mails()[0].meta["rcpt_tos"],
        json!(["oncall@example.com"])
    );

    site.set_up(true);
    d.until("the resolved mail", SOON, || async {
        let n = smtp.mails().len();
        if n >= 2 { Ok(()) } else { Err(format!("{n}")) }
    })
    .await;
    let ok = checks(&d.metrics().await, "home", "success");
    let m = d
        .until_metrics("two more successful runs", SOON, |m| {
            checks(m, "home", "success") >= ok + 2.0
        })
        .await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    let subject = Mail::parse(&mails[1].raw).header("subject").to_string();
    assert_eq!(subject, "[RESOLVED] shop/home");
    assert_eq!(notifications(&m, "mail", "sent"), 2.0, "{m}");
    d.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 7: Alertmanager

fn ours(a: &Value) -> bool {
    a["labels"]["alertname"] == "DcrawlTargetDown"
        && a["labels"]["spec"] == "shop"
        && a["labels"]["target"] == "home"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_shows_the_alert_while_firing_and_not_after_recovery() {
    let Some(am) = Alertmanager::start().await else {
        return;
    };
    let site = Site::start(false).await;
    let alerts = format!(
        "channels:\n  am:\n    alertmanager: {{url: \"{}\"}}\nroutes:\n  - channels: [am]\n    after: 2\n",
        am.base
    );
    let files = Files::new(&spec(&[("home", &site.url)]), &alerts);
    let d = Daemon::start(files.args()).await;

    let alert = d
        .until("the alert active in Alertmanager", SOON, || async {
            let all = am.alerts().await;
            match all.iter().find(|a| ours(a)) {
                Some(a) if a["status"]["state"] == "active" => Ok(a.clone()),
                _ => Err(format!("{all:?}")),
            }
        })
        .await;
    assert_eq!(
        alert["labels"],
        json!({"alertname": "DcrawlTargetDown", "spec": "shop", "target": "home",
               "team": "web", "severity": "page"})
    );
    assert_eq!(alert["generatorURL"], EXTERNAL);
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(summary.starts_with("shop/home is failing"), "{summary}");

    site.set_up(true);
    d.until("the alert no longer active", SOON, || async {
        let all = am.alerts().await;
        if all
            .iter()
            .any(|a| ours(a) && a["status"]["state"] == "active")
        {
            Err(format!("{all:?}"))
        } else {
            Ok(())
        }
    })
    .await;
    let m = d.metrics().await;
    assert_eq!(notifications(&m, "am", "sent"), 2.0, "{m}");
    assert_eq!(notifications(&m, "am", "failed"), 0.0, "{m}");
    d.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 8: dcrawl alert test

async fn alert_test(channel: &str, alerts: &Path) -> Output {
    let (channel, alerts) = (channel.to_string(), alerts.to_path_buf());
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_dcrawl"))
            .args(["alert", "test", "--channel", &channel, "--alerts"])
            .arg(alerts)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_test_sends_one_notification_and_reports_failures() {
    let hook = WebhookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.yaml");
    std::fs::write(
        &alerts,
        format!(
            "channels:\n  good:\n    webhook: {{url: \"{}\"}}\n  gone:\n    webhook: {{url: \"{}\"}}\n",
            hook.url("/ok"),
            closed_port_url()
        ),
    )
    .unwrap();

    let out = alert_test("good", &alerts).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("good"), "{stdout}");
    let got = bodies(&hook);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["version"], "1");
    assert_eq!(got[0]["status"], "firing");

    let out = alert_test("gone", &alerts).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("gone") && stdout.to_lowercase().contains("refused"),
        "the reason belongs on stdout: {stdout}"
    );

    let out = alert_test("nope", &alerts).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nope") && stderr.contains("good"),
        "{stderr}"
    );
    assert_eq!(hook.all().len(), 1, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_target_alerts_with_its_first_twenty_failing_urls_and_the_count() {
    // A seed page linking to 25 pages that do not exist.
    let links: String = (0..25)
        .map(|i| format!("<a href=\"/gone/{i}\">{i}</a>"))
        .collect();
    let page = format!("<html><body>{links}</body></html>");
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let hook = WebhookReceiver::start().await;
    let spec = format!(
        "name: shop\nschedule: \"@every 1s\"\ntargets:\n  - name: site\n    url: {base}/\n    crawl: {{robots: false, max_pages: 100}}\n"
    );
    let files = Files::new(&spec, &webhook_alerts("hook", hook.url("/ok").as_str()));
    let d = Daemon::start(files.args()).await;
    d.until("a firing notification", SOON, || async {
        if bodies(&hook).is_empty() {
            Err("none yet".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    let firing = &bodies(&hook)[0];
    assert_eq!(firing["status"], "firing", "{firing:#}");
    assert_eq!(firing["target"], "site");
    let failures = firing["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 21, "{firing:#}");
    for (i, f) in failures[..20].iter().enumerate() {
        assert_eq!(f["assertion"], "page.status", "{f}");
        let message = f["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{base}/gone/{i}: ")) && message.contains("found 404"),
            "{message}"
        );
        assert!(
            message.ends_with(&format!("(linked from {base}/)")),
            "{message}"
        );
    }
    assert_eq!(failures[20]["assertion"], "more");
    assert_eq!(failures[20]["message"], "and 5 more failures (25 in all)");
    // Page URLs never become metric labels.
    let metrics = d.metrics().await;
    assert!(!metrics.contains("/gone/"), "{metrics}");
    assert_eq!(
        metric(
            &metrics,
            "dcrawl_crawl_pages",
            &[("target", "site"), ("result", "failed")]
        ),
        25.0
    );
    d.stop().await;
}
