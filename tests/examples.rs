//! The ecosystem files under examples/ stay true: promtool accepts the Prometheus files and their
//! unit tests pass, every metric and label the dashboard and rules query is one dcrawl exports,
//! the dashboard is importable, and the systemd unit and Dockerfile run command lines dcrawl's
//! CLI accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/tools.rs"]
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};
use tools::{on_path, promtool};

use dcrawl::metrics::Metrics;
use dcrawl::result::{CheckResult, Failure, Outcome};
use serde::Deserialize;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(examples().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- what dcrawl exports -------------------------------------------------------------------

/// The text exposition after one result of each kind was recorded.
fn exposition() -> String {
    let m = Metrics::new();
    let result = |target: &str, outcome: Outcome| CheckResult {
        spec: "shop".into(),
        target: target.into(),
        url: "https://127.0.0.1/".into(),
        outcome,
        error: (outcome == Outcome::Error).then(|| "connection refused".into()),
        status: (outcome != Outcome::Error).then_some(200),
        duration: Duration::from_millis(120),
        failures: if outcome == Outcome::Failure {
            vec![Failure::new("html[0]", "expected count >= 10, found 3")]
        } else {
            vec![]
        },
        extracted: [("products_listed".to_string(), 3.0)].into_iter().collect(),
        response_size: Some(2048),
        tls_not_after: Some(1_900_000_000),
        started_at: SystemTime::now(),
        crawl: None,
        steps: None,
        rendered: None,
    };
    m.record(&result("home", Outcome::Success));
    m.record(&result("products", Outcome::Failure));
    m.record(&result("api", Outcome::Error));
    m.record(&result("slow", Outcome::Warning));
    m.record_skipped("shop", "home", 1);
    m.record_crawl("shop", "products", 10, 1);
    m.set_alert_firing("shop", "products", true);
    m.set_maintenance("shop", "home", true);
    m.record_notification("ops-hook", true);
    m.record_notification("ops-hook", false);
    m.set_notifications_pending(1);
    m.record_reload(true, 3);
    m.encode_text()
}

/// Sample name (`dcrawl_checks_total`, `..._bucket`) -> the label names its samples carry.
fn series_labels(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..end].to_string()).or_default();
        if line[end..].starts_with('{') {
            let (body, _) = split_braces(&line[end + 1..]).expect(line);
            labels.extend(matcher_labels(body).expect(line));
        }
    }
    out
}

// ---- a small PromQL scanner ------------------------------------------------------------------

/// Split `a="x}",b="y"} rest` at the `}` that is outside quotes.
fn split_braces(s: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '}') => return Some((&s[..i], &s[i + 1..])),
            (None, _) => {}
        }
    }
    None
}

/// Label names of `a="x", b=~"y"`; an error when anything else is in there.
fn matcher_labels(body: &str) -> Result<Vec<String>, String> {
    let re = regex::Regex::new(
        r#"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*(,|$)"#,
    )
    .unwrap();
    let mut rest = body;
    let mut names = Vec::new();
    while !rest.trim().is_empty() {
        let caps = re
            .captures(rest)
            .ok_or(format!("bad label matchers {body:?}"))?;
        names.push(caps[1].to_string());
        rest = &rest[caps[0].len()..];
    }
    Ok(names)
}

/// What one PromQL expression refers to.
#[derive(Debug, Default)]
struct Refs {
    /// `(metric, labels of its matchers)` for every `dcrawl_*` and `up` selector.
    selectors: Vec<(String, Vec<String>)>,
    /// Labels named in by/without/on/ignoring/group_left/group_right.
    grouping: Vec<String>,
}

fn scan(expr: &str) -> Result<Refs, String> {
    let ident = regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*").unwrap();
    let grouping = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let mut refs = Refs::default();
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        if matches!(c, '"' | '\'' | '`') {
            // A string literal: skip it whole.
            let end = rest[1..]
                .find(c)
                .ok_or(format!("unterminated string in {expr:?}"))?;
            rest = &rest[end + 2..];
        } else if c == '[' {
            // A range or subquery duration.
            rest = &rest[rest.find(']').ok_or(format!("unclosed [ in {expr:?}"))? + 1..];
        } else if c == '$' || c.is_ascii_digit() {
            let end = rest[1..].find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'));
            rest = &rest[end.map_or(rest.len(), |e| e + 1)..];
        } else if let Some(m) = ident.find(rest) {
            let word = m.as_str();
            let after = rest[m.end()..].trim_start();
            if word.starts_with("dcrawl_") || word == "up" {
                let mut labels = Vec::new();
                rest = after;
                if let Some(body) = after.strip_prefix('{') {
                    let (inner, tail) =
                        split_braces(body).ok_or(format!("unclosed {{ in {expr:?}"))?;
                    labels = matcher_labels(inner)?;
                    rest = tail;
                }
                refs.selectors.push((word.to_string(), labels));
                continue;
            }
            if grouping.contains(&word)
                && let Some(list) = after.strip_prefix('(')
            {
                let end = list.find(')').ok_or(format!("unclosed ( in {expr:?}"))?;
                refs.grouping.extend(
                    list[..end]
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from),
                );
            }
            rest = &rest[m.end()..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(refs)
}

/// Check one query against the exposition: every metric exists, and every label it matches on,
/// groups by or shows in its legend is one the metrics have (or Prometheus' job/instance).
fn check_query(
    series: &BTreeMap<String, BTreeSet<String>>,
    expr: &str,
    legend: &str,
    extra_labels: &[&str],
) -> Result<(), String> {
    check_scraped_query(series, expr, legend, extra_labels, &[])
}

/// Target labels the sharded scrape configs add (prometheus-sharded.yml, the PodMonitor).
const SHARDED_TARGET_LABELS: &[&str] = &["replica", "shard", "pod", "namespace"];

/// [`check_query`] where the scrape config also sets `scrape_labels` on every series.
fn check_scraped_query(
    series: &BTreeMap<String, BTreeSet<String>>,
    expr: &str,
    legend: &str,
    extra_labels: &[&str],
    scrape_labels: &[&str],
) -> Result<(), String> {
    let refs = scan(expr)?;
    if refs.selectors.is_empty() {
        return Err(format!("{expr:?} queries no dcrawl metric"));
    }
    let target_labels: BTreeSet<String> = ["job", "instance"]
        .iter()
        .chain(scrape_labels)
        .map(|l| l.to_string())
        .collect();
    let mut allowed = target_labels.clone();
    for (metric, matchers) in &refs.selectors {
        let own = if metric == "up" {
            &target_labels
        } else {
            series.get(metric).ok_or(format!(
                "{expr:?} uses {metric}, which dcrawl does not export (it has: {:?})",
                series.keys().collect::<Vec<_>>()
            ))?
        };
        for label in matchers {
            if !own.contains(label) && !target_labels.contains(label) {
                return Err(format!(
                    "{expr:?} matches {metric} on label {label:?}, which it lacks"
                ));
            }
        }
        allowed.extend(own.iter().cloned());
    }
    let legend_re = regex::Regex::new(r"\{\{\s*([a-zA-Z_]+)\s*\}\}").unwrap();
    let legend_labels = legend_re.captures_iter(legend).map(|c| c[1].to_string());
    let extra = extra_labels.iter().map(|s| s.to_string());
    for label in refs.grouping.into_iter().chain(legend_labels).chain(extra) {
        if !allowed.contains(&label) {
            return Err(format!(
                "{expr:?} refers to label {label:?}; its metrics have {allowed:?}"
            ));
        }
    }
    Ok(())
}

#[test]
fn scanner_rejects_what_does_not_exist() {
    let series = series_labels(&exposition());
    let ok = r#"sum by (spec, target) (increase(dcrawl_skipped_runs_total{spec=~"$spec"}[$__rate_interval]))"#;
    check_query(&series, ok, "{{spec}}/{{target}}", &[]).unwrap();
    check_query(&series, r#"up{job="dcrawl"} == 0"#, "{{instance}}", &[]).unwrap();
    check_query(
        &series,
        "histogram_quantile(0.9, sum by (le) (rate(dcrawl_check_duration_seconds_bucket[5m])))",
        "",
        &[],
    )
    .unwrap();
    for (expr, legend) in [
        ("dcrawl_checks", ""),                        // counter without _total
        ("dcrawl_check_duration_seconds", ""),        // histogram family, no sample
        ("dcrawl_check_sucess == 0", ""),             // typo
        (r#"dcrawl_check_success{result="ok"}"#, ""), // label the gauge lacks
        ("max by (spce) (dcrawl_check_success)", ""), // grouping typo
        ("sum by (le) (dcrawl_checks_total)", ""),    // le only on buckets
        ("dcrawl_notifications_pending", "{{spec}}"), // legend label it lacks
        ("vector(1)", ""),                            // no dcrawl metric at all
    ] {
        assert!(
            check_query(&series, expr, legend, &[]).is_err(),
            "accepted {expr:?}"
        );
    }
}

// ---- the dashboard ---------------------------------------------------------------------------

fn dashboard() -> Value {
    serde_json::from_str(&read("grafana/dcrawl-dashboard.json"))
        .expect("the dashboard is valid JSON")
}

/// Every panel, rows' nested panels included.
fn panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// (origin, expr, legend, labels the query needs besides its expr) of every dashboard query.
fn dashboard_queries(dash: &Value) -> Vec<(String, String, String, Vec<String>)> {
    let mut out = Vec::new();
    for p in panels(dash) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: target without expr", p["title"]));
            let legend = t["legendFormat"].as_str().unwrap_or("").to_string();
            out.push((
                format!("panel {}", p["title"]),
                expr.to_string(),
                legend,
                vec![],
            ));
        }
    }
    let label_values = regex::Regex::new(r"^label_values\((.+),\s*([a-zA-Z_]+)\)$").unwrap();
    for v in dash["templating"]["list"]
        .as_array()
        .expect("templating.list")
    {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .expect("variable query");
        let caps = label_values
            .captures(q)
            .unwrap_or_else(|| panic!("not label_values: {q}"));
        out.push((
            format!("variable {}", v["name"]),
            caps[1].to_string(),
            String::new(),
            vec![caps[2].to_string()],
        ));
    }
    out
}

#[test]
fn dashboard_queries_use_only_exported_metrics_and_labels() {
    let series = series_labels(&exposition());
    let queries = dashboard_queries(&dashboard());
    assert!(queries.len() > 20, "{} queries", queries.len());
    for (origin, expr, legend, extra) in &queries {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        check_query(&series, expr, legend, &extra).unwrap_or_else(|e| panic!("{origin}: {e}"));
    }
}

#[test]
fn dashboard_shows_every_contract_metric() {
    let used: BTreeSet<String> = dashboard_queries(&dashboard())
        .iter()
        .flat_map(|(_, expr, _, _)| scan(expr).unwrap().selectors.into_iter().map(|(m, _)| m))
        .collect();
    for family in [
        "dcrawl_check_success",
        "dcrawl_check_duration_seconds_bucket",
        "dcrawl_checks_total",
        "dcrawl_assertion_failures_total",
        "dcrawl_http_status_code",
        "dcrawl_response_size_bytes",
        "dcrawl_last_run_timestamp_seconds",
        "dcrawl_tls_cert_expiry_timestamp_seconds",
        "dcrawl_extracted_value",
        "dcrawl_crawl_pages",
        "dcrawl_skipped_runs_total",
        "dcrawl_alert_firing",
        "dcrawl_notifications_total",
        "dcrawl_notifications_pending",
        "dcrawl_config_reload_success",
        "dcrawl_config_reload_timestamp_seconds",
        "dcrawl_targets",
        "dcrawl_build_info",
        "dcrawl_shard",
    ] {
        assert!(
            used.contains(family),
            "the dashboard does not show {family}"
        );
    }
}

#[test]
fn dashboard_is_importable() {
    let dash = dashboard();
    assert!(dash["schemaVersion"].as_u64().unwrap() >= 39);
    assert!(dash["uid"].as_str().is_some_and(|u| !u.is_empty()) && dash["title"].is_string());
    let vars = dash["templating"]["list"].as_array().unwrap();
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no ${name}"))
    };
    assert_eq!(var("datasource")["type"], "datasource");
    assert_eq!(var("datasource")["query"], "prometheus");
    for name in ["spec", "target"] {
        assert_eq!(var(name)["type"], "query");
        assert!(
            var(name)["definition"]
                .as_str()
                .unwrap()
                .starts_with("label_values(")
        );
    }
    let ds = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
    let mut ids = BTreeSet::new();
    let mut boxes: Vec<(String, [u64; 4])> = Vec::new();
    for p in panels(&dash) {
        let title = p["title"].as_str().unwrap_or_default();
        let id = p["id"].as_u64().unwrap_or_else(|| panic!("{title}: no id"));
        assert!(ids.insert(id), "{title}: panel id {id} is not unique");
        let g = &p["gridPos"];
        let b = ["x", "y", "w", "h"].map(|k| {
            g[k].as_u64()
                .unwrap_or_else(|| panic!("{title}: gridPos.{k}"))
        });
        assert!(b[0] + b[2] <= 24, "{title}: wider than the grid");
        for (other, o) in &boxes {
            let apart = b[0] + b[2] <= o[0]
                || o[0] + o[2] <= b[0]
                || b[1] + b[3] <= o[1]
                || o[1] + o[3] <= b[1];
            assert!(apart, "{title} overlaps {other}");
        }
        boxes.push((title.to_string(), b));
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"], ds, "{title}: datasource");
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: no targets"));
        assert!(!targets.is_empty(), "{title}: no targets");
        let mut refs = BTreeSet::new();
        for t in targets {
            assert_eq!(t["datasource"], ds, "{title}: target datasource");
            assert!(
                refs.insert(t["refId"].as_str().unwrap()),
                "{title}: duplicate refId"
            );
        }
    }
    let types: BTreeSet<&str> = panels(&dash)
        .iter()
        .filter_map(|p| p["type"].as_str())
        .collect();
    for kind in ["stat", "table", "timeseries", "heatmap", "bargauge"] {
        assert!(types.contains(kind), "no {kind} panel");
    }
}

// ---- the alerting rules ----------------------------------------------------------------------

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Deserialize)]
struct RuleGroup {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn rules() -> RuleFile {
    serde_saphyr::from_str(&read("prometheus/rules.yml")).expect("rules.yml parses")
}

#[test]
fn rules_use_only_exported_metrics_and_labels() {
    let series = series_labels(&exposition());
    let file = rules();
    for rule in file.groups.iter().flat_map(|g| &g.rules) {
        check_query(&series, &rule.expr, "", &[]).unwrap_or_else(|e| panic!("{}: {e}", rule.alert));
    }
}

#[test]
fn ha_rules_use_only_exported_metrics_and_labels() {
    let series = series_labels(&exposition());
    let file: RuleFile =
        serde_saphyr::from_str(&read("prometheus/rules-ha.yml")).expect("rules-ha.yml parses");
    let exprs: Vec<&str> = file
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .map(|r| r.expr.as_str())
        .collect();
    assert!(!exprs.is_empty());
    for expr in exprs {
        check_scraped_query(&series, expr, "", &[], SHARDED_TARGET_LABELS).unwrap();
        // Without the sharded scrape config's labels the shard rule would be meaningless.
        if expr.contains("(shard)") {
            assert!(check_query(&series, expr, "", &[]).is_err(), "{expr}");
        }
    }
}

#[test]
fn rules_cover_the_documented_alerts() {
    let file = rules();
    let all: Vec<(&str, &Rule)> = file
        .groups
        .iter()
        .flat_map(|g| g.rules.iter().map(move |r| (g.name.as_str(), r)))
        .collect();
    let names: BTreeSet<&str> = all.iter().map(|(_, r)| r.alert.as_str()).collect();
    for name in [
        "DcrawlTargetDown",
        "DcrawlTlsCertExpiringSoon",
        "DcrawlTlsCertExpiringVerySoon",
        "DcrawlConfigReloadFailed",
        "DcrawlNotificationsStuck",
        "DcrawlSkippedRuns",
        "DcrawlDown",
    ] {
        assert!(names.contains(name), "no alert {name}");
    }
    for (group, r) in all {
        let severity = r.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("warning" | "critical")),
            "{}: severity",
            r.alert
        );
        assert!(
            r.for_.is_some(),
            "{}: no `for`, a single bad scrape would page",
            r.alert
        );
        for key in ["summary", "description"] {
            let text = r
                .annotations
                .get(key)
                .unwrap_or_else(|| panic!("{}: no {key}", r.alert));
            if group == "dcrawl-targets" {
                assert!(
                    text.contains("$labels.spec") && text.contains("$labels.target"),
                    "{}: {key}",
                    r.alert
                );
            }
        }
        if r.expr.contains("dcrawl_check_success") || r.expr.contains("dcrawl_tls_cert_expiry") {
            // Replicas checking the same target must yield one alert, not one each.
            assert!(
                r.expr.contains("max by (spec, target)"),
                "{}: {}",
                r.alert,
                r.expr
            );
        }
    }
}

// ---- promtool --------------------------------------------------------------------------------

#[test]
fn promtool_accepts_rules_and_config() {
    let Some(promtool) = promtool() else { return };
    let dir = examples().join("prometheus");
    let out = run(Command::new(&promtool)
        .args(["check", "rules"])
        .arg(dir.join("rules.yml")));
    assert_success(&out, "promtool check rules");
    let out = run(Command::new(&promtool)
        .args(["check", "config"])
        .arg(dir.join("prometheus.yml")));
    assert_success(&out, "promtool check config");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 rule files found"),
        "rule_files"
    );
}

#[test]
fn promtool_rule_unit_tests_pass() {
    let Some(promtool) = promtool() else { return };
    let out = run(Command::new(&promtool)
        .args(["test", "rules", "rules_test.yml"])
        .current_dir(examples().join("prometheus")));
    assert_success(&out, "promtool test rules");
}

#[test]
fn dashboard_queries_are_valid_promql() {
    let Some(promtool) = promtool() else { return };
    // promtool parses PromQL in rule files: turn each query into a recording rule, with
    // Grafana's variables replaced by what they expand to.
    let var = regex::Regex::new(r"\$\{?[a-zA-Z_]+\}?").unwrap();
    let rules: Vec<Value> = dashboard_queries(&dashboard())
        .iter()
        .enumerate()
        .map(|(i, (_, expr, _, _))| {
            let expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m");
            serde_json::json!({"record": format!("dashboard:query_{i}"), "expr": var.replace_all(&expr, ".*")})
        })
        .collect();
    let file = serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dashboard-rules.yml");
    std::fs::write(&path, file.to_string()).unwrap();
    let out = run(Command::new(&promtool).args(["check", "rules"]).arg(&path));
    assert_success(&out, "promtool check rules (the dashboard's queries)");
}

#[test]
fn exposition_passes_promtool_check_metrics() {
    let Some(promtool) = promtool() else { return };
    use std::io::Write;
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success(&out, "promtool check metrics");
}

// ---- systemd unit and Dockerfile -------------------------------------------------------------

/// `Key=value` lines of the unit (comments dropped; a key may repeat).
fn unit_keys() -> Vec<(String, String)> {
    read("systemd/dcrawl.service")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn unit_value(key: &str) -> String {
    let keys = unit_keys();
    let found = keys.iter().find(|(k, _)| k == key);
    found
        .unwrap_or_else(|| panic!("the unit has no {key}="))
        .1
        .clone()
}

/// Run a command line of the examples with its paths moved into `dir`; return the output.
fn run_example_cli(args: &[String], dir: &Path) -> Output {
    let mapped: Vec<String> = args
        .iter()
        .map(|a| {
            let a = a
                .replace(
                    "/etc/dcrawl/specs",
                    &dir.join("specs").display().to_string(),
                )
                .replace(
                    "/etc/dcrawl/alerts",
                    &dir.join("alerts").display().to_string(),
                )
                .replace("/var/lib/dcrawl", &dir.join("state").display().to_string());
            // Only loopback here: nothing binds anyway (the configuration is rejected first).
            if a.ends_with(":9813") {
                "127.0.0.1:0".to_string()
            } else {
                a
            }
        })
        .collect();
    run(Command::new(env!("CARGO_BIN_EXE_dcrawl")).args(&mapped))
}

/// A folder with specs/ (holding `spec`), alerts/ and state/.
fn config_dir(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["specs", "alerts", "state"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("specs/site.yaml"), spec).unwrap();
    dir
}

const GOOD_SPEC: &str = "name: site\ntargets:\n  - name: home\n    url: http://127.0.0.1:9/\n";
const BAD_SPEC: &str = "name: Not Valid\ntargets: []\n";

/// `run` with an invalid configuration exits 2 with FILE:LINE:COLUMN diagnostics, before it binds;
/// a usage error (an unknown flag) would say so instead.
fn assert_run_args_accepted(args: &[String]) {
    assert_eq!(args.first().map(String::as_str), Some("run"), "{args:?}");
    let dir = config_dir(BAD_SPEC);
    let out = run_example_cli(args, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains("site.yaml:1:"),
        "{args:?} was not accepted: {stderr}"
    );
    assert!(!stderr.contains("Usage:"), "{args:?}: {stderr}");
}

#[test]
fn systemd_unit_runs_dcrawl_as_documented() {
    assert_eq!(unit_value("StateDirectory"), "dcrawl");
    assert_eq!(unit_value("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(unit_value("Restart"), "on-failure");
    assert_eq!(unit_value("ProtectSystem"), "strict");
    assert_eq!(unit_value("NoNewPrivileges"), "yes");
    assert_eq!(unit_value("DynamicUser"), "yes");
    assert!(unit_value("EnvironmentFile").ends_with("/etc/dcrawl/dcrawl.env"));
    let start: Vec<String> = unit_value("ExecStart")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(start[0], "/usr/local/bin/dcrawl");
    for pair in [
        ["--specs", "/etc/dcrawl/specs"],
        ["--alerts", "/etc/dcrawl/alerts"],
        ["--state-dir", "/var/lib/dcrawl"],
    ] {
        assert!(
            start.windows(2).any(|w| w == pair),
            "ExecStart lacks {pair:?}"
        );
    }
    assert_run_args_accepted(&start[1..]);

    let pre: Vec<String> = unit_value("ExecStartPre")
        .split_whitespace()
        .map(String::from)
        .collect();
    let dir = config_dir(GOOD_SPEC);
    let out = run_example_cli(&pre[1..], dir.path());
    assert_success(&out, "ExecStartPre");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 targets, 0 channels, 0 routes OK"));
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let Some(analyze) = on_path("systemd-analyze") else {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("dcrawl.service");
    let text = read("systemd/dcrawl.service")
        .replace("/usr/local/bin/dcrawl", env!("CARGO_BIN_EXE_dcrawl"));
    std::fs::write(&unit, text).unwrap();
    let out = run(Command::new(analyze).arg("verify").arg(&unit));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_success(&out, "systemd-analyze verify");
    // Unknown keys are only warned about; any remark on the unit is a mistake in it.
    assert!(!stderr.contains("dcrawl.service"), "{stderr}");
}

#[test]
fn dockerfile_builds_and_runs_as_documented() {
    let text = read("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let instr = |name: &str| -> Vec<&str> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .collect()
    };
    let from = instr("FROM");
    assert_eq!(from, ["rust:1-bookworm AS build", "debian:bookworm-slim"]);
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("ca-certificates"));
    assert_eq!(instr("EXPOSE"), ["9813"]);
    let user = instr("USER");
    assert!(
        user.len() == 1 && !user[0].starts_with("root") && !user[0].starts_with('0'),
        "{user:?}"
    );
    assert!(
        instr("HEALTHCHECK").is_empty(),
        "no curl in the image: /healthz is for the orchestrator"
    );
    let json_list = |name: &str| -> Vec<String> {
        let v = instr(name);
        assert_eq!(v.len(), 1, "{name}");
        serde_json::from_str(v[0]).unwrap_or_else(|e| panic!("{name} is not exec form: {e}"))
    };
    assert_eq!(json_list("ENTRYPOINT"), ["/usr/local/bin/dcrawl"]);
    let cmd = json_list("CMD");
    assert!(
        cmd.windows(2).any(|w| w == ["--listen", "0.0.0.0:9813"]),
        "{cmd:?}"
    );
    assert_run_args_accepted(&cmd);
    // The build context is the repository root: --locked needs the lock file in it.
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.lock")
            .is_file()
    );
    let ignore = read("Dockerfile.dockerignore");
    assert!(
        ignore.lines().any(|l| l.trim() == "target/"),
        "target/ would be sent as context"
    );
}
