//! Silences end to end: `dcrawl silence` against a running daemon behind a bearer token
//! (`--web-config`), notifications held while a silence is on and sent when it is expired; a
//! restart during a silence (the held notification is delivered once, after it ends); an alert
//! that fires and resolves under a silence never pages; and the API's answers to bad requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
#[path = "support/flaky.rs"]
mod flaky;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use daemon_support::{Daemon, find_target};
use flaky::{Hook, Proc, Site, until};
use serde_json::{Value, json};

const SOON: Duration = Duration::from_secs(20);
const TOKEN: &str = "s1lence-t0ken-of-the-day";

/// A temp dir with `specs/shop.yaml` (one target on `url`, every second) and
/// `alerts/alerts.yaml` (every target to `hook` after 2 failures).
fn files(url: &str, hook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["specs", "alerts"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("specs/shop.yaml"),
        format!("name: shop\nschedule: \"@every 1s\"\nlabels: {{team: web}}\ntargets:\n  - name: home\n    url: {url}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alerts/alerts.yaml"),
        format!("channels:\n  hook: {{webhook: {{url: \"{hook}\"}}}}\nroutes:\n  - channels: [hook]\n    after: 2\n"),
    )
    .unwrap();
    dir
}

fn args(dir: &Path) -> Vec<OsString> {
    vec![
        "--specs".into(),
        dir.join("specs").into(),
        "--alerts".into(),
        dir.join("alerts").into(),
    ]
}

/// `dcrawl silence ARGS --url BASE`: (exit code, stdout, stderr).
fn silence(base: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = assert_cmd::Command::cargo_bin("dcrawl")
        .unwrap()
        .env_remove("DCRAWL_TOKEN")
        .env_remove("DCRAWL_PASSWORD")
        .arg("silence")
        .args(args)
        .args(["--url", base])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn statuses(hook: &Hook) -> Vec<String> {
    hook.accepted()
        .iter()
        .map(|b| b["status"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_from_the_cli_holds_notifications_until_it_is_expired() {
    let site = Site::start(true).await;
    let hook = Hook::start(200).await;
    let dir = files(&site.url, &hook.url);
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("bearer_tokens: [\"{TOKEN}\"]\n")).unwrap();
    let mut a = args(dir.path());
    a.extend(["--web-config".into(), web.into_os_string()]);
    let d = Daemon::start(a).await;

    // Without the token the daemon refuses, and says what it wants.
    let (code, _, err) = silence(&d.base, &["--match", "spec=shop", "--for", "30m"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("401") && err.contains("--token"), "{err}");
    let (code, out, err) = silence(
        &d.base,
        &[
            "--match",
            "spec=shop",
            "--match",
            "target=~ho.*",
            "--for",
            "30m",
            "--comment",
            "deploying the shop",
            "--token",
            TOKEN,
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let id = out
        .strip_prefix("silence ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(
        out.contains("created: spec=\"shop\" target=~\"ho.*\" until "),
        "{out}"
    );
    let (code, listed, err) = silence(&d.base, &["--list", "--token", TOKEN]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        listed.contains(&id) && listed.contains("deploying the shop"),
        "{listed}"
    );

    // The target fails under the silence: its alert fires (and says so), nothing is sent.
    site.set_up(false);
    let client = reqwest::Client::new();
    let status = |client: reqwest::Client, base: String| async move {
        let r = client
            .get(format!("{base}/api/v1/status"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        serde_json::from_str::<Value>(&r.text().await.unwrap()).unwrap()
    };
    until(
        "the alert firing under the silence",
        SOON,
        || async {
            let doc = status(client.clone(), d.base.clone()).await;
            let t = find_target(&doc, "shop", "home").unwrap_or_default();
            if t["alert"] == "firing" && t["silenced"]["id"] == id.as_str() {
                Ok(())
            } else {
                Err(t.to_string())
            }
        },
        || d.log(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(hook.accepted().is_empty(), "{:?}", hook.accepted());

    // Expired: the alert still fires, so it is sent now, once.
    let (code, out, err) = silence(&d.base, &["--expire", &id, "--token", TOKEN]);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), format!("silence {id} expired\n").as_str()),
        "{err}"
    );
    d.until("the held notification", SOON, || async {
        let s = statuses(&hook);
        if s.is_empty() {
            Err("nothing".into())
        } else {
            Ok(())
        }
    })
    .await;
    let (code, listed, _) = silence(&d.base, &["--list", "--token", TOKEN]);
    assert_eq!((code, listed.as_str()), (Some(0), "no active silences\n"));
    let (code, _, err) = silence(&d.base, &["--expire", &id, "--token", TOKEN]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("404") && err.contains("no active silence"),
        "{err}"
    );
    // No silence: the recovery is sent as usual.
    site.set_up(true);
    d.until("the recovery", SOON, || async {
        let s = statuses(&hook);
        if s.len() >= 2 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(statuses(&hook), ["firing", "resolved"]);
    let first = &hook.accepted()[0];
    assert_eq!(first["repeat"], false);
    d.stop().await;
}

/// POST a silence of `spec: shop` for `duration` to `base`; its id.
async fn post_silence(base: &str, duration: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/silences"))
        .header("content-type", "application/json")
        .body(
            json!({"matchers": {"spec": "shop"}, "duration": duration, "comment": "test"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    doc["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_silence_delivers_the_held_notification_once_after_it() {
    let site = Site::start(false).await;
    let hook = Hook::start(200).await;
    let dir = files(&site.url, &hook.url);
    let state = dir.path().join("state");
    let a = args(dir.path());
    let first = Proc::start(&a, dir.path(), &state).await;
    let id = post_silence(&first.base, "12s").await;
    // The alert fires under the silence (two failures at 1 s apart).
    until(
        "the alert firing",
        SOON,
        || async {
            let m = first.get("/metrics").await;
            if m.contains("dcrawl_alert_firing{spec=\"shop\",target=\"home\"} 1") {
                Ok(())
            } else {
                Err(String::new())
            }
        },
        || first.log(),
    )
    .await;
    first.stop().await;
    assert!(hook.accepted().is_empty(), "{:?}", hook.accepted());

    let second = Proc::start(&a, dir.path(), &state).await;
    let listed: Value = serde_json::from_str(&second.get("/api/v1/silences").await).unwrap();
    assert_eq!(listed["silences"][0]["id"], id.as_str(), "{listed}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        hook.accepted().is_empty(),
        "sent under the silence: {:?}",
        hook.accepted()
    );
    until(
        "the held notification after the silence",
        Duration::from_secs(30),
        || async {
            let s = statuses(&hook);
            if s.is_empty() {
                Err("nothing".into())
            } else {
                Ok(())
            }
        },
        || second.log(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = hook.accepted();
    assert_eq!(all.len(), 1, "exactly once: {all:?}");
    assert_eq!(all[0]["status"], "firing");
    assert_eq!(all[0]["spec"], "shop");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_fires_and_resolves_under_a_silence_never_pages() {
    let site = Site::start(false).await;
    let hook = Hook::start(200).await;
    let dir = files(&site.url, &hook.url);
    let d = Daemon::start(args(dir.path())).await;
    let id = post_silence(&d.base, "8s").await;
    d.until_status("firing under the silence", SOON, |doc| {
        find_target(doc, "shop", "home").is_some_and(|t| t["alert"] == "firing")
    })
    .await;
    site.set_up(true);
    d.until_status("resolved under the silence", SOON, |doc| {
        find_target(doc, "shop", "home").is_some_and(|t| t["alert"] == "ok")
    })
    .await;
    d.until_status("the silence to end", SOON, |doc| {
        find_target(doc, "shop", "home").is_some_and(|t| t["silenced"].is_null())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(hook.accepted().is_empty(), "{id}: {:?}", hook.accepted());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_silences_api_checks_what_it_is_sent() {
    let site = Site::start(true).await;
    let hook = Hook::start(200).await;
    let dir = files(&site.url, &hook.url);
    let d = Daemon::start(args(dir.path())).await;
    let url = format!("{}/api/v1/silences", d.base);
    let http = reqwest::Client::new();
    let post = |body: String, content_type: &'static str| {
        http.post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let r = post(
        "{\"matchers\": {\"spec\": \"shop\"}, \"duration\": \"1m\"}".into(),
        "text/plain",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 415);
    for (body, says) in [
        ("{\"matchers\": {}, \"duration\": \"1m\"}", "empty"),
        (
            "{\"matchers\": {\"spec\": \"shop\"}, \"duration\": \"soon\"}",
            "duration",
        ),
        (
            "{\"matchers\": {\"9x\": \"a\"}, \"duration\": \"1m\"}",
            "invalid matcher key",
        ),
        ("not json", "not JSON"),
    ] {
        let r = post(body.into(), "application/json").await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let doc: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert!(
            doc["error"].as_str().unwrap().contains(says),
            "{body}: {doc}"
        );
    }
    // A body over 64 KiB is refused unread.
    let big = format!(
        "{{\"matchers\": {{\"spec\": \"{}\"}}, \"duration\": \"1m\"}}",
        "a".repeat(70_000)
    );
    let r = post(big, "application/json").await.unwrap();
    assert_eq!(r.status(), 413);
    // The other endpoints take no POST.
    let r = http
        .post(format!("{}/api/v1/status", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = http
        .delete(format!("{url}/no-such-id"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let listed = http.get(&url).send().await.unwrap().text().await.unwrap();
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed, json!({"silences": []}));
    d.stop().await;
}
