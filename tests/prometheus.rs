//! End-to-end with a real Prometheus: it scrapes `dcrawl run` and sees the verdicts; `promtool
//! check metrics` finds nothing wrong with the exposition.
//!
//! Needs the `prometheus` and `promtool` binaries on PATH (Debian: `apt-get install prometheus`).
//! Without them the test prints why it is skipped and passes, except on CI (`CI=true`), where it
//! fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;
mod support;

#[path = "support/tools.rs"]
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tools::on_path;

use daemon_support::{Daemon, write_atomic};
use serde_json::Value;

/// How long Prometheus may take to start, scrape and answer with the expected values.
const PROMETHEUS_DEADLINE: Duration = Duration::from_secs(60);

/// The tools, or `None` (skip) when they are missing outside CI; on CI a missing tool fails.
fn tools() -> Option<(PathBuf, PathBuf)> {
    match (on_path("prometheus"), on_path("promtool")) {
        (Some(p), Some(t)) => Some((p, t)),
        _ => {
            let why =
                "prometheus and promtool must be on PATH (Debian: apt-get install prometheus)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server scraping one target every second; killed on drop.
struct Prometheus {
    /// The process.
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Its log (stderr), for failure messages.
    log: Arc<Mutex<String>>,
    /// Config file and TSDB; removed on drop.
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(binary: &PathBuf, scrape: std::net::SocketAddr) -> Prometheus {
        Prometheus::start_with(binary, &format!("      - targets: ['{scrape}']\n"))
    }

    /// Scrape the `static_configs` entries `targets` (YAML list items) as job `dcrawl`.
    fn start_with(binary: &PathBuf, targets: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: dcrawl\n    static_configs:\n{targets}"
            ),
        )
        .unwrap();
        let port = free_port();
        let mut child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The single value `query` returns now, if it returns exactly one series.
    async fn query_one(&self, http: &reqwest::Client, query: &str) -> Result<f64, String> {
        match self.query(http, query).await?.as_slice() {
            [(_, value)] => Ok(*value),
            other => Err(format!("{query}: {other:?}")),
        }
    }

    /// Every series `query` returns now: (its labels, its value).
    async fn query(
        &self,
        http: &reqwest::Client,
        query: &str,
    ) -> Result<Vec<(Value, f64)>, String> {
        let url =
            url::Url::parse_with_params(&format!("{}/api/v1/query", self.base), [("query", query)])
                .unwrap();
        let response = http.get(url).send().await.map_err(|e| e.to_string())?;
        let body = response.text().await.map_err(|e| e.to_string())?;
        let doc: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        let result = doc["data"]["result"]
            .as_array()
            .ok_or_else(|| format!("{query}: {doc}"))?;
        result
            .iter()
            .map(|r| {
                let value = r["value"][1].as_str().and_then(|v| v.parse().ok());
                Ok((
                    r["metric"].clone(),
                    value.ok_or_else(|| format!("{query}: {doc}"))?,
                ))
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `promtool check metrics` on `text`: its complaints, one per line (empty = clean).
fn promtool_problems(promtool: &PathBuf, text: &str) -> Vec<String> {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut problems: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    // 0: clean; 3: lint problems (listed). Anything else is a failure to parse or run.
    if !matches!(out.status.code(), Some(0 | 3))
        || (out.status.code() == Some(3) && problems.is_empty())
    {
        problems.push(format!("promtool exited with {}", out.status));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_verdicts() {
    let Some((prometheus, promtool)) = tools() else {
        return;
    };
    let shop = support::serve(dcrawl::demo::site::router(None)).await;
    let shop = shop.as_str().trim_end_matches('/');
    let dir = tempfile::tempdir().unwrap();
    write_atomic(
        &dir.path().join("shop.yaml"),
        &format!(
            "name: shop\nschedule: \"@every 1s\"\ntargets:\n  - name: ok\n    url: {shop}/api/health\n\
             \x20 - name: bad\n    url: {shop}/products/7\n    expect:\n      html:\n        - css: span.price\n"
        ),
    );
    let d = Daemon::start_on(dir.path()).await;
    let prom = Prometheus::start(&prometheus, d.addr);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let wanted = [
        ("dcrawl_check_success{target=\"ok\"}", 1.0),
        ("dcrawl_check_success{target=\"bad\"}", 0.0),
        ("up{job=\"dcrawl\"}", 1.0),
    ];
    let started = Instant::now();
    loop {
        let mut last = Vec::new();
        for (query, value) in wanted {
            match prom.query_one(&http, query).await {
                Ok(v) if v == value => {}
                Ok(v) => last.push(format!("{query} = {v}, want {value}")),
                Err(e) => last.push(e),
            }
        }
        if last.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < PROMETHEUS_DEADLINE,
            "Prometheus did not see the expected values within {PROMETHEUS_DEADLINE:?}: {last:?}\n\
             Prometheus log:\n{}\ndcrawl log:\n{}",
            prom.log(),
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Prometheus ingested the full exposition, not just the success gauge.
    let checks = prom
        .query_one(
            &http,
            "dcrawl_checks_total{target=\"bad\",result=\"failure\"}",
        )
        .await
        .unwrap();
    assert!(checks >= 1.0, "{checks}");

    // The classic text format passes promtool's parser and linter as is.
    let text = d.metrics().await;
    let problems = promtool_problems(&promtool, &text);
    assert!(problems.is_empty(), "{problems:?}\n{text}");

    // promtool 2.42 parses OpenMetrics input with the classic text parser: there the HELP of
    // a counter family names `dcrawl_checks` while its samples are `dcrawl_checks_total`, so it
    // reports `dcrawl_checks_total no help text` although OpenMetrics is followed exactly. Only
    // that message, and only for counters whose family has a HELP line, is ignored.
    let om = d
        .get_with("/metrics", &[("accept", "application/openmetrics-text")])
        .await
        .text()
        .await
        .unwrap();
    let counters: BTreeSet<String> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .filter(|name| om.contains(&format!("# HELP {name} ")))
        .map(|name| format!("{name}_total no help text"))
        .collect();
    let problems: Vec<String> = promtool_problems(&promtool, &om)
        .into_iter()
        .filter(|p| !counters.contains(p.trim()))
        .collect();
    assert!(problems.is_empty(), "{problems:?}\n{om}");

    drop(prom);
    d.stop().await;
}

/// The expression of the first query of the dashboard panel titled `title`, with the
/// dashboard's variables set to "All".
fn dashboard_expr(title: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/grafana/dcrawl-dashboard.json"
    );
    let dash: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panel = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel {title:?}"));
    let expr = panel["targets"][0]["expr"].as_str().unwrap();
    expr.replace("$spec", ".*").replace("$target", ".*")
}

/// The `expr` of alerting rule `alert` in examples/prometheus/`file`.
fn rule_expr(file: &str, alert: &str) -> String {
    let path = format!("{}/examples/prometheus/{file}", env!("CARGO_MANIFEST_DIR"));
    let rules: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let found = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .find(|r| r["alert"] == alert)
        .unwrap_or_else(|| panic!("no rule {alert} in {file}"));
    found["expr"].as_str().unwrap().to_string()
}

/// `{label: value}` of each series -> its value, for comparing query results.
fn by_label(series: &[(Value, f64)], label: &str) -> BTreeMap<String, f64> {
    series
        .iter()
        .map(|(m, v)| (m[label].as_str().unwrap_or_default().to_string(), *v))
        .collect()
}

/// Two shards, each run by two replicas (`--shard I/2`, four processes), scraped by one
/// Prometheus with the `replica` and `shard` labels of examples/prometheus/prometheus-sharded.yml:
/// the dashboard and the alerting rules count every target once, not once per replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_rules_count_each_target_once_across_shards_and_replicas() {
    let Some((prometheus, _)) = tools() else {
        return;
    };
    let shop = support::serve(dcrawl::demo::site::router(None)).await;
    let shop = shop.as_str().trim_end_matches('/');
    let (good, bad) = (["ok-0", "ok-1", "ok-2", "ok-3"], ["bad-0", "bad-1"]);
    let mut spec = String::from("name: shop\nschedule: \"@every 1s\"\ntargets:\n");
    for t in good {
        spec.push_str(&format!("  - name: {t}\n    url: {shop}/api/health\n"));
    }
    for t in bad {
        spec.push_str(&format!(
            "  - name: {t}\n    url: {shop}/products/7\n    expect:\n      html:\n        - css: span.price\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    write_atomic(&dir.path().join("shop.yaml"), &spec);
    let owned = |i: u32| {
        let shard = dcrawl::shard::Shard::new(i, 2).unwrap();
        good.iter()
            .chain(&bad)
            .filter(|t| shard.owns("shop", t))
            .count() as f64
    };
    assert!(owned(0) > 0.0 && owned(1) > 0.0, "both shards have targets");

    let mut daemons = Vec::new();
    let mut targets = String::new();
    for replica in ["a", "b"] {
        for shard in 0..2 {
            let d = Daemon::start([
                "--specs".into(),
                dir.path().as_os_str().to_owned(),
                "--shard".into(),
                format!("{shard}/2").into(),
            ])
            .await;
            targets.push_str(&format!(
                "      - targets: ['{}']\n        labels: {{replica: {replica}, shard: '{shard}'}}\n",
                d.addr
            ));
            daemons.push(d);
        }
    }
    let prom = Prometheus::start_with(&prometheus, &targets);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let per_shard = BTreeMap::from([("0".to_string(), owned(0)), ("1".to_string(), owned(1))]);
    let replicas = BTreeMap::from([("0".to_string(), 2.0), ("1".to_string(), 2.0)]);
    let bad_targets: BTreeMap<String, f64> = bad.iter().map(|t| (t.to_string(), 0.0)).collect();
    let started = Instant::now();
    loop {
        let mut wrong = Vec::new();
        for (title, want) in [
            ("Targets", 6.0),
            ("Targets OK", 4.0),
            ("Targets failing", 2.0),
        ] {
            match prom.query_one(&http, &dashboard_expr(title)).await {
                Ok(v) if v == want => {}
                other => wrong.push(format!("panel {title}: {other:?}, want {want}")),
            }
        }
        for (query, label, want) in [
            (dashboard_expr("Targets per shard"), "index", &per_shard),
            (dashboard_expr("Replicas per shard"), "index", &replicas),
            (
                rule_expr("rules.yml", "DcrawlTargetDown"),
                "target",
                &bad_targets,
            ),
        ] {
            match prom.query(&http, &query).await {
                // One series per shard or target: none repeated for each replica.
                Ok(series) if series.len() == want.len() && by_label(&series, label) == *want => {}
                other => wrong.push(format!("{query}: {other:?}, want {want:?}")),
            }
        }
        if wrong.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < PROMETHEUS_DEADLINE,
            "not within {PROMETHEUS_DEADLINE:?}: {wrong:#?}\nPrometheus log:\n{}",
            prom.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Every shard is up and no HA rule fires while all four agree.
    let up = prom
        .query(&http, "max by (shard) (up{job=\"dcrawl\"})")
        .await
        .unwrap();
    assert_eq!(
        by_label(&up, "shard"),
        replicas.keys().map(|k| (k.clone(), 1.0)).collect()
    );
    for alert in [
        "DcrawlShardDown",
        "DcrawlShardCountMismatch",
        "DcrawlReplicasDisagree",
    ] {
        let fired = prom
            .query(&http, &rule_expr("rules-ha.yml", alert))
            .await
            .unwrap();
        assert!(fired.is_empty(), "{alert}: {fired:?}");
    }
    drop(prom);
    for d in daemons {
        d.stop().await;
    }
}
