//! End-to-end: `--shard I/N` splits the targets between processes — every target checked by
//! exactly one shard, evenly, crawl targets whole — while every shard validates everything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use daemon_support::{Daemon, sample, write_atomic};
use dcrawl::shard::{Shard, bucket};
use serde_json::Value;

/// Deadline for a reload to show.
const SOON: Duration = Duration::from_secs(20);

/// (spec, target).
type Id = (String, String);

/// Answers every path: a directory-like path (`/x/`) is a page linking to `a` and `b` below
/// it, anything else a leaf page; no robots.txt.
async fn site(uri: Uri) -> Response {
    match uri.path() {
        "/robots.txt" => StatusCode::NOT_FOUND.into_response(),
        p if p.ends_with('/') => {
            Html("<!doctype html><html><body><a href=\"a\">a</a> <a href=\"b\">b</a></body></html>")
                .into_response()
        }
        _ => Html("<!doctype html><html><body><p>leaf</p></body></html>").into_response(),
    }
}

/// The site on 127.0.0.1 from a background runtime (usable from blocking tests); its base URL.
fn serve_site() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let url = support::serve(Router::new().fallback(site)).await;
            tx.send(url.as_str().trim_end_matches('/').to_string())
                .unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// Write `specs` spec files `spec-NN.yaml` of `targets` targets each (`t000`...) into `dir`,
/// checked hourly (so that the tests read which targets a shard owns, not results); every
/// `crawl_every`-th target (when not 0) is a crawl target. Returns every id.
fn write_specs(
    dir: &Path,
    base: &str,
    specs: usize,
    targets: usize,
    crawl_every: usize,
) -> Vec<Id> {
    let mut ids = Vec::new();
    for s in 0..specs {
        let spec = format!("spec-{s:02}");
        let mut text = format!("name: {spec}\nschedule: \"@every 1h\"\ntargets:\n");
        for t in 0..targets {
            let target = format!("t{t:03}");
            if crawl_every > 0 && t.is_multiple_of(crawl_every) {
                text.push_str(&format!(
                    "  - name: {target}\n    url: {base}/{spec}/{target}/\n    crawl: {{max_depth: 1}}\n"
                ));
            } else {
                text.push_str(&format!(
                    "  - name: {target}\n    url: {base}/{spec}/{target}\n"
                ));
            }
            ids.push((spec.clone(), target));
        }
        write_atomic(&dir.join(format!("{spec}.yaml")), &text);
    }
    ids
}

/// The (spec, target) ids a status document lists.
fn status_ids(doc: &Value) -> Vec<Id> {
    doc["specs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let spec = s["name"].as_str().unwrap().to_string();
            s["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (spec.clone(), t["name"].as_str().unwrap().to_string()))
        })
        .collect()
}

/// The `dcrawl_shard` sample lines of a metrics text.
fn shard_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("dcrawl_shard{"))
        .collect()
}

fn args(specs: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut v = vec![OsString::from("--specs"), specs.as_os_str().to_owned()];
    v.extend(extra.iter().map(OsString::from));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_check_each_of_3000_targets_exactly_once() {
    let base = serve_site();
    let dir = tempfile::tempdir().unwrap();
    let all = write_specs(dir.path(), &base, 30, 100, 0);
    assert_eq!(all.len(), 3000);
    let (d0, d1, d2) = tokio::join!(
        Daemon::start(args(dir.path(), &["--shard", "0/3"])),
        Daemon::start(args(dir.path(), &["--shard", "1/3"])),
        Daemon::start(args(dir.path(), &["--shard", "2/3"])),
    );
    let mut owner: BTreeMap<Id, u32> = BTreeMap::new();
    let mut shares = Vec::new();
    for (index, d) in [(0u32, &d0), (1, &d1), (2, &d2)] {
        let doc = d.status().await;
        let ids = status_ids(&doc);
        for id in &ids {
            if let Some(other) = owner.insert(id.clone(), index) {
                panic!("{id:?} is checked by shards {other} and {index}");
            }
            assert_eq!(bucket(&id.0, &id.1, 3), index, "{id:?}");
        }
        let n = ids.len();
        shares.push(n);
        assert!((800..=1200).contains(&n), "shard {index}/3 has {n} of 3000");
        assert_eq!(
            doc["shard"],
            serde_json::json!({"index": index, "count": 3, "targets": n, "targets_total": 3000})
        );
        let metrics = d.metrics().await;
        assert_eq!(sample(&metrics, "dcrawl_targets"), Some(n as f64));
        assert_eq!(
            shard_series(&metrics),
            vec![format!("dcrawl_shard{{index=\"{index}\",count=\"3\"}} 1")]
        );
        assert!(
            d.log()
                .contains(&format!("shard {index}/3: {n} of 3000 targets")),
            "{}",
            d.log()
        );
        // The page escapes `/` as `&#x2f;`.
        let page = d.text("/").await.replace("&#x2f;", "/");
        assert!(page.contains(&format!("shard {index}/3: {n} of 3000 targets")));
    }
    let owned: BTreeSet<&Id> = owner.keys().collect();
    assert_eq!(
        owned,
        all.iter().collect(),
        "every target has exactly one shard"
    );
    eprintln!("shares of 3000 targets over 3 shards: {shares:?}");
    tokio::join!(d0.stop(), d1.stop(), d2.stop());
}

#[test]
fn a_fourth_shard_takes_about_a_quarter_and_nothing_moves_between_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_specs(dir.path(), "http://127.0.0.1:9", 30, 100, 0);
    let config = dcrawl::spec::load_paths(&[dir.path().to_path_buf()], &|_| None).unwrap();
    let owner = |count: u32| -> BTreeMap<Id, u32> {
        (0..count)
            .flat_map(|i| {
                let kept = Shard::new(i, count).unwrap().select(&config);
                kept.targets()
                    .map(|t| ((t.spec.clone(), t.name.clone()), i))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (three, four) = (owner(3), owner(4));
    assert_eq!(three.len(), all.len());
    assert_eq!(four.len(), all.len());
    let moved: Vec<&Id> = all.iter().filter(|id| three[*id] != four[*id]).collect();
    for id in &moved {
        assert_eq!(
            four[*id], 3,
            "{id:?} moved from shard {} to {}",
            three[*id], four[*id]
        );
    }
    // A quarter is 750; 4 standard deviations of a fair split are 95.
    let fraction = moved.len() as f64 / all.len() as f64;
    eprintln!(
        "3 -> 4 shards: {} of 3000 targets moved ({fraction:.3})",
        moved.len()
    );
    assert!((650..=850).contains(&moved.len()), "{} moved", moved.len());
}

/// `dcrawl ARGS` with extra environment variables; (exit code, stdout, stderr).
fn dcrawl(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let workdir = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("dcrawl").unwrap();
    cmd.env_remove("RUST_LOG")
        .env_remove("DCRAWL_SHARD")
        .env("NO_COLOR", "1")
        .current_dir(workdir.path())
        .timeout(Duration::from_secs(60))
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_shard_is_a_usage_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write_specs(dir.path(), "http://127.0.0.1:9", 1, 3, 0);
    let specs = dir.path().to_str().unwrap();
    for (flag, env, want) in [
        (
            Some("3/3"),
            vec![],
            "shard index 3 is not below the shard count 3: shards are numbered 0 to 2",
        ),
        (Some("a/2"), vec![], "expected I/N with 0 <= I < N"),
        (
            None,
            vec![("DCRAWL_SHARD", "0/0")],
            "the shard count N must be a whole number of at least 1",
        ),
        (
            Some("auto/3"),
            vec![("HOSTNAME", "web")],
            "cannot take a StatefulSet ordinal from \"web\"",
        ),
        (
            Some("auto/3"),
            vec![("HOSTNAME", "dcrawl-3")],
            "pod \"dcrawl-3\" has ordinal 3, not below the shard count 3",
        ),
    ] {
        let mut args = vec!["run", "--specs", specs, "--listen", "127.0.0.1:0"];
        if let Some(flag) = flag {
            args.extend(["--shard", flag]);
        }
        let (code, _, stderr) = dcrawl(&args, &env);
        assert_eq!(code, Some(2), "{flag:?} {env:?}: {stderr}");
        assert!(stderr.contains(want), "{flag:?} {env:?}: {stderr}");
        assert!(stderr.contains("--shard <I/N>"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shard_comes_from_dcrawl_shard_or_the_statefulset_pod_name() {
    let dir = tempfile::tempdir().unwrap();
    let all = write_specs(dir.path(), "http://127.0.0.1:9", 3, 20, 0);
    let owned = |index: u32, count: u32| {
        all.iter()
            .filter(|(s, t)| bucket(s, t, count) == index)
            .count()
    };
    let specs = [OsString::from("--specs"), dir.path().as_os_str().to_owned()];
    let (by_env, by_pod) = tokio::join!(
        Daemon::start_with_env(specs.clone(), &[("DCRAWL_SHARD", "1/2")]),
        Daemon::start_with_env(
            specs
                .iter()
                .cloned()
                .chain(["--shard".into(), "auto/3".into()]),
            &[("HOSTNAME", "dcrawl-2")]
        ),
    );
    for (d, index, count) in [(&by_env, 1, 2), (&by_pod, 2, 3)] {
        let metrics = d.metrics().await;
        assert_eq!(
            shard_series(&metrics),
            vec![format!(
                "dcrawl_shard{{index=\"{index}\",count=\"{count}\"}} 1"
            )]
        );
        let n = owned(index, count);
        assert_eq!(sample(&metrics, "dcrawl_targets"), Some(n as f64));
        assert_eq!(status_ids(&d.status().await).len(), n);
    }
    tokio::join!(by_env.stop(), by_pod.stop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shard_validates_everything_and_reloads_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_specs(dir.path(), "http://127.0.0.1:9", 2, 15, 0);
    let d = Daemon::start(args(dir.path(), &["--shard", "0/2"])).await;
    let share = |ids: &[Id]| ids.iter().filter(|(s, t)| bucket(s, t, 2) == 0).count() as f64;
    assert_eq!(
        sample(&d.metrics().await, "dcrawl_targets"),
        Some(share(&first))
    );

    // An error in a spec whose targets all belong to the other shard is still an error here.
    let other: Vec<String> = (0..40)
        .map(|t| format!("t{t:03}"))
        .filter(|t| bucket("extra", t, 2) == 1)
        .collect();
    let mut text = String::from("name: extra\ntargets:\n");
    for t in &other {
        text.push_str(&format!("  - name: {t}\n    url: http://127.0.0.1:9/{t}\n"));
    }
    write_atomic(
        &dir.path().join("extra.yaml"),
        &format!("{text}    bogus_key: 1\n"),
    );
    d.until_metrics("the invalid spec is rejected", SOON, |m| {
        sample(m, "dcrawl_config_reload_success") == Some(0.0)
    })
    .await;
    assert!(d.log().contains("bogus_key"), "{}", d.log());

    // Valid again, with targets for both shards: this shard takes its part of the new total.
    let more = write_specs(dir.path(), "http://127.0.0.1:9", 3, 15, 0);
    write_atomic(&dir.path().join("extra.yaml"), &text);
    let total = more.len() + other.len();
    let want = share(&more);
    let metrics = d
        .until_metrics("the fixed specs are loaded", SOON, |m| {
            sample(m, "dcrawl_config_reload_success") == Some(1.0)
                && sample(m, "dcrawl_targets") == Some(want)
        })
        .await;
    assert_eq!(
        shard_series(&metrics),
        vec!["dcrawl_shard{index=\"0\",count=\"2\"} 1"]
    );
    let doc = d.status().await;
    assert_eq!(doc["shard"]["targets_total"], total);
    assert!(status_ids(&doc).iter().all(|(s, _)| s != "extra"));
    assert!(
        d.log()
            .contains(&format!("shard 0/2: {want} of {total} targets")),
        "{}",
        d.log()
    );
    d.stop().await;
}

#[test]
fn check_shard_splits_a_ci_run_and_keeps_crawl_targets_whole() {
    let base = serve_site();
    let dir = tempfile::tempdir().unwrap();
    let all = write_specs(dir.path(), &base, 3, 10, 2);
    let specs = dir.path().to_str().unwrap();
    let mut seen: BTreeMap<Id, u32> = BTreeMap::new();
    for index in 0..3u32 {
        let shard = format!("{index}/3");
        let (code, stdout, stderr) = dcrawl(
            &[
                "check", "--specs", specs, "--shard", &shard, "--format", "json",
            ],
            &[("DCRAWL_SHARD", "0/1")],
        );
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        let doc: Value = serde_json::from_str(&stdout).unwrap();
        for r in doc["results"].as_array().unwrap() {
            let id = (
                r["spec"].as_str().unwrap().to_string(),
                r["target"].as_str().unwrap().to_string(),
            );
            assert_eq!(bucket(&id.0, &id.1, 3), index, "{id:?}");
            let t: usize = id.1[1..].parse().unwrap();
            if t.is_multiple_of(2) {
                // A crawl target: its seed and both pages it links to, all in this shard.
                let pages: Vec<&str> = r["pages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["url"].as_str().unwrap())
                    .collect();
                let seed = format!("{base}/{}/{}/", id.0, id.1);
                assert_eq!(
                    pages,
                    vec![seed.clone(), format!("{seed}a"), format!("{seed}b")]
                );
            }
            assert!(seen.insert(id.clone(), index).is_none(), "{id:?} twice");
        }
    }
    assert_eq!(
        seen.len(),
        all.len(),
        "every target checked by exactly one shard"
    );
}
