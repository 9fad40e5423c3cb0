//! The deployment files for N shards x 2 replicas stay true: examples/kubernetes (two
//! StatefulSets, the headless Service, PodMonitor, PrometheusRule, kustomization) and
//! examples/prometheus/prometheus-sharded.yml with rules-ha.yml. A pod's command line, run here
//! on a folder laid out like a Kubernetes ConfigMap volume, takes its shard from the pod name,
//! and reloads when the kubelet swaps in new contents.
//!
//! promtool parts are skipped without promtool, except with `CI=true` (Debian: `apt-get install
//! prometheus`); `kubectl kustomize` runs when kubectl is on PATH.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;

#[path = "support/tools.rs"]
mod tools;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use tools::{on_path, promtool};

use daemon_support::{Daemon, sample};
use dcrawl::shard::Shard;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(examples().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every YAML document of an example file, as JSON values.
fn docs(rel: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The one document of `kind` named `name` in `rel`.
fn object(rel: &str, kind: &str, name: &str) -> Value {
    let all = docs(rel);
    let found: Vec<&Value> = all
        .iter()
        .filter(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{rel}: {kind}/{name}");
    found[0].clone()
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

/// Prometheus relabelling with `action: replace`: the anchored `regex` on `value` expanded to
/// `$1` (the default replacement), or `None` when it does not match (the label is not set).
fn relabel(regex: &str, value: &str) -> Option<String> {
    let re = regex::Regex::new(&format!("^(?:{regex})$")).unwrap();
    re.captures(value).map(|c| c[1].to_string())
}

// ---- the StatefulSets ------------------------------------------------------------------------

/// The container `dcrawl` of a StatefulSet's pod template.
fn container(sts: &Value) -> &Value {
    let containers = sts["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    &containers[0]
}

fn args(sts: &Value) -> Vec<String> {
    container(sts)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The value of `--name=VALUE` in `args`.
fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    let prefix = format!("--{name}=");
    let found: Vec<&str> = args
        .iter()
        .filter_map(|a| a.strip_prefix(&prefix))
        .collect();
    assert_eq!(found.len(), 1, "--{name} in {args:?}");
    found[0]
}

#[test]
fn two_statefulsets_run_every_shard_twice() {
    let a = object("kubernetes/statefulset.yaml", "StatefulSet", "dcrawl-a");
    let b = object("kubernetes/statefulset.yaml", "StatefulSet", "dcrawl-b");
    assert_eq!(docs("kubernetes/statefulset.yaml").len(), 2);

    // b is a with the letters swapped: same shards, same command line, same pod.
    let swapped = serde_json::to_string(&a)
        .unwrap()
        .replace("\"replica\":\"b\"", "\"replica\":\"\u{1}\"")
        .replace("\"replica\":\"a\"", "\"replica\":\"b\"")
        .replace("\"replica\":\"\u{1}\"", "\"replica\":\"a\"")
        .replace("\"dcrawl-a\"", "\"dcrawl-b\"");
    assert_eq!(serde_json::from_str::<Value>(&swapped).unwrap(), b);

    // N pods, shard = ordinal of N; the pod labels the selector, Service and monitor use.
    let n = a["spec"]["replicas"].as_u64().unwrap();
    assert!(n >= 2, "replicas: {n}");
    let args = args(&a);
    assert_eq!(args[0], "run");
    assert_eq!(flag(&args, "shard"), format!("auto/{n}"));
    assert_eq!(flag(&args, "listen"), "0.0.0.0:9813");
    let labels = &a["spec"]["template"]["metadata"]["labels"];
    assert_eq!(a["spec"]["selector"]["matchLabels"], *labels);
    assert_eq!(labels["app.kubernetes.io/name"], "dcrawl");
    assert_eq!(labels["replica"], "a");
    assert_eq!(a["spec"]["serviceName"], "dcrawl");
    // The replicas of a shard are kept apart: a avoids the nodes of b.
    let term = &a["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        [0]["podAffinityTerm"];
    assert_eq!(term["labelSelector"]["matchLabels"]["replica"], "b");
}

#[test]
fn the_pod_is_locked_down_probed_and_mounts_what_dcrawl_reads() {
    let sts = object("kubernetes/statefulset.yaml", "StatefulSet", "dcrawl-a");
    let pod = &sts["spec"]["template"]["spec"];
    let c = container(&sts);
    let args = args(&sts);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["runAsUser"], 10001,
        "examples/Dockerfile's user"
    );
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert!(c["resources"]["requests"]["cpu"].is_string());
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert_eq!(c["ports"][0]["name"], "http");
    assert_eq!(c["ports"][0]["containerPort"], 9813);
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(c[probe]["httpGet"]["path"], "/healthz", "{probe}");
        assert_eq!(c[probe]["httpGet"]["port"], "http", "{probe}");
    }
    // Every folder dcrawl reads or writes is a volume: the root file system is read-only.
    let mount = |path: &str| -> String {
        let mounts = c["volumeMounts"].as_array().unwrap();
        let m = mounts
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("nothing mounted at {path}"));
        m["name"].as_str().unwrap().to_string()
    };
    let volume = |name: String| -> Value {
        let volumes = pod["volumes"].as_array().unwrap();
        volumes.iter().find(|v| v["name"] == name).unwrap().clone()
    };
    let specs = volume(mount(flag(&args, "specs")));
    assert_eq!(specs["configMap"]["name"], "dcrawl-specs");
    let alerts = volume(mount(flag(&args, "alerts")));
    assert_eq!(alerts["configMap"]["name"], "dcrawl-alerts");
    // The state (alert state, outbox) is a volume per pod that outlives the pod.
    let state = mount(flag(&args, "state-dir"));
    let claims = sts["spec"]["volumeClaimTemplates"].as_array().unwrap();
    assert!(
        claims
            .iter()
            .any(|c| c["metadata"]["name"] == state.as_str())
    );
    assert!(
        volume(mount("/tmp")).get("emptyDir").is_some(),
        "SQLite's temp files"
    );
}

#[test]
fn service_monitor_and_budget_select_both_statefulsets() {
    let pods = object("kubernetes/statefulset.yaml", "StatefulSet", "dcrawl-b")["spec"]["template"]
        ["metadata"]["labels"]
        .clone();
    let selects = |selector: &Value| {
        let wanted = selector.as_object().unwrap();
        assert!(!wanted.is_empty());
        for (k, v) in wanted {
            assert_eq!(pods[k], *v, "selector {k}");
            assert_ne!(k, "replica", "must select both replicas");
        }
    };
    let svc = object("kubernetes/service.yaml", "Service", "dcrawl");
    assert_eq!(svc["spec"]["clusterIP"], "None", "headless");
    assert_eq!(svc["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(svc["spec"]["ports"][0]["name"], "http");
    assert_eq!(svc["spec"]["ports"][0]["port"], 9813);
    selects(&svc["spec"]["selector"]);
    let pdb = object(
        "kubernetes/poddisruptionbudget.yaml",
        "PodDisruptionBudget",
        "dcrawl",
    );
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    selects(&pdb["spec"]["selector"]["matchLabels"]);

    let pm = object("kubernetes/podmonitor.yaml", "PodMonitor", "dcrawl");
    selects(&pm["spec"]["selector"]["matchLabels"]);
    let job_label = pm["spec"]["jobLabel"].as_str().unwrap();
    assert_eq!(
        pods[job_label], "dcrawl",
        "rules match up{{job=\"dcrawl\"}}"
    );
    let endpoint = &pm["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["port"], "http");
    let rule = |target: &str| -> (String, String) {
        let all = endpoint["relabelings"].as_array().unwrap();
        let r = all.iter().find(|r| r["targetLabel"] == target).unwrap();
        assert_eq!(r["sourceLabels"].as_array().unwrap().len(), 1);
        let source = r["sourceLabels"][0].as_str().unwrap().to_string();
        (source, r["regex"].as_str().unwrap().to_string())
    };
    let (source, regex) = rule("replica");
    assert_eq!(source, "__meta_kubernetes_pod_controller_name");
    assert_eq!(relabel(&regex, "dcrawl-b").as_deref(), Some("b"));
    let (source, regex) = rule("shard");
    assert_eq!(source, "__meta_kubernetes_pod_name");
    assert_eq!(relabel(&regex, "dcrawl-b-12").as_deref(), Some("12"));
}

#[test]
fn kustomization_applies_every_manifest() {
    let k = &docs("kubernetes/kustomization.yaml")[0];
    let listed: Vec<&str> = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(examples().join("kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".yaml") && f != "kustomization.yaml")
        .collect();
    files.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, files);
    let Some(kubectl) = on_path("kubectl") else {
        eprintln!("skipped kubectl kustomize: kubectl is not installed");
        return;
    };
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(examples().join("kubernetes"))
        .output()
        .unwrap();
    assert_success(&out, "kubectl kustomize");
    let built: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let kinds: Vec<&str> = built.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "StatefulSet").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(built.len(), 6, "{kinds:?}");
    let image = |d: &Value| d["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    let sts: Vec<&Value> = built
        .iter()
        .filter(|d| d["kind"] == "StatefulSet")
        .collect();
    assert!(
        image(sts[0]).as_str().unwrap().contains('/'),
        "images: rewrites it"
    );
    assert_eq!(image(sts[0]), image(sts[1]));
}

// ---- Prometheus ------------------------------------------------------------------------------

/// The `groups` of a rule file.
fn groups(rel: &str) -> Vec<Value> {
    docs(rel)[0]["groups"].as_array().unwrap().clone()
}

/// `promtool check rules` on `groups` written to a temporary file; returns its stdout.
fn promtool_check_rules(promtool: &Path, groups: &[Value]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    std::fs::write(&file, serde_json::json!({ "groups": groups }).to_string()).unwrap();
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&out, "promtool check rules");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn prometheusrule_holds_the_rules_of_rules_yml_and_rules_ha_yml() {
    let pr = object("kubernetes/prometheusrule.yaml", "PrometheusRule", "dcrawl");
    let mut want = groups("prometheus/rules.yml");
    want.extend(groups("prometheus/rules-ha.yml"));
    let got = pr["spec"]["groups"].as_array().unwrap();
    assert_eq!(got, &want);
    let Some(promtool) = promtool() else { return };
    let rules: usize = got
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    let stdout = promtool_check_rules(&promtool, got);
    assert!(stdout.contains(&format!("{rules} rules found")), "{stdout}");
}

#[test]
fn ha_rules_alert_per_shard_and_their_unit_tests_pass() {
    let all = groups("prometheus/rules-ha.yml");
    let rules: Vec<&Value> = all
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    let names: Vec<&str> = rules.iter().map(|r| r["alert"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "DcrawlShardDown",
            "DcrawlShardCountMismatch",
            "DcrawlReplicasDisagree"
        ]
    );
    for r in &rules {
        assert!(r["for"].is_string(), "{}: no `for`", r["alert"]);
        let severity = r["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("warning" | "critical")),
            "{}",
            r["alert"]
        );
        for key in ["summary", "description"] {
            assert!(r["annotations"][key].is_string(), "{}: {key}", r["alert"]);
        }
    }
    assert!(
        rules[0]["expr"].as_str().unwrap().contains("by (shard)"),
        "DcrawlShardDown groups by the scrape config's shard label"
    );
    let Some(promtool) = promtool() else { return };
    promtool_check_rules(&promtool, &all);
    let out = Command::new(&promtool)
        .args(["test", "rules", "rules-ha_test.yml"])
        .current_dir(examples().join("prometheus"))
        .output()
        .unwrap();
    assert_success(&out, "promtool test rules rules-ha_test.yml");
}

#[test]
fn sharded_prometheus_config_labels_every_series_with_shard_and_replica() {
    let config = &docs("prometheus/prometheus-sharded.yml")[0];
    assert_eq!(
        config["rule_files"],
        serde_json::json!(["rules.yml", "rules-ha.yml"])
    );
    // Prometheus in HA: its own replica label, dropped from the alerts it sends.
    assert!(config["global"]["external_labels"]["prometheus_replica"].is_string());
    let drop = &config["alerting"]["alert_relabel_configs"][0];
    assert_eq!(drop["action"], "labeldrop");
    assert_eq!(drop["regex"], "prometheus_replica");

    let job = &config["scrape_configs"][0];
    assert_eq!(
        job["job_name"], "dcrawl",
        "rules match up{{job=\"dcrawl\"}}"
    );
    // The SRV records of the headless Service: _PORT-NAME._tcp.SERVICE.
    let svc = object("kubernetes/service.yaml", "Service", "dcrawl");
    let srv = format!(
        "_{}._tcp.dcrawl",
        svc["spec"]["ports"][0]["name"].as_str().unwrap()
    );
    assert_eq!(job["dns_sd_configs"][0]["names"][0], srv.as_str());
    assert_eq!(job["dns_sd_configs"][0]["type"], "SRV");
    let record = "dcrawl-b-12.dcrawl.monitoring.svc.cluster.local.";
    for (label, want) in [("replica", "b"), ("shard", "12"), ("pod", "dcrawl-b-12")] {
        let r = job["relabel_configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target_label"] == label)
            .unwrap_or_else(|| panic!("no relabelling sets {label}"));
        assert_eq!(r["source_labels"][0], "__meta_dns_srv_record_target");
        let got = relabel(r["regex"].as_str().unwrap(), record);
        assert_eq!(got.as_deref(), Some(want), "{label}");
    }

    let Some(promtool) = promtool() else { return };
    let out = Command::new(&promtool)
        .args(["check", "config"])
        .arg(examples().join("prometheus/prometheus-sharded.yml"))
        .output()
        .unwrap();
    assert_success(&out, "promtool check config prometheus-sharded.yml");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 rule files found"));
}

// ---- a pod's command line on a ConfigMap volume ----------------------------------------------

/// A folder laid out as the kubelet lays out a ConfigMap volume: every key is a symlink
/// `KEY -> ..data/KEY`, and `..data` a symlink to a hidden timestamped folder with the files.
struct ConfigMapVolume {
    /// The mount point.
    dir: PathBuf,
    /// Updates so far (names the timestamped folders).
    generation: u32,
}

impl ConfigMapVolume {
    fn create(dir: PathBuf, files: &[(&str, &str)]) -> ConfigMapVolume {
        std::fs::create_dir(&dir).unwrap();
        let mut volume = ConfigMapVolume { dir, generation: 0 };
        volume.update(files);
        volume
    }

    fn stamped(&self, generation: u32) -> String {
        format!("..2026_11_25_10_00_0{generation}.000000001")
    }

    /// Replace the contents the way the kubelet's atomic writer does: write a new timestamped
    /// folder, point `..data_tmp` at it and rename that over `..data`, link new keys, then
    /// remove the old folder.
    fn update(&mut self, files: &[(&str, &str)]) {
        use std::os::unix::fs::symlink;
        self.generation += 1;
        let new = self.stamped(self.generation);
        std::fs::create_dir(self.dir.join(&new)).unwrap();
        for (name, text) in files {
            std::fs::write(self.dir.join(&new).join(name), text).unwrap();
        }
        symlink(&new, self.dir.join("..data_tmp")).unwrap();
        std::fs::rename(self.dir.join("..data_tmp"), self.dir.join("..data")).unwrap();
        for (name, _) in files {
            let link = self.dir.join(name);
            if std::fs::symlink_metadata(&link).is_err() {
                symlink(format!("..data/{name}"), link).unwrap();
            }
        }
        if self.generation > 1 {
            std::fs::remove_dir_all(self.dir.join(self.stamped(self.generation - 1))).unwrap();
        }
    }
}

/// Spec `site` with these targets (run hourly: the test is about loading, not checking).
fn site_spec(targets: &[&String]) -> String {
    let mut s = String::from("name: site\nschedule: \"@every 1h\"\ntargets:\n");
    for t in targets {
        s.push_str(&format!("  - name: {t}\n    url: http://127.0.0.1:9/\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_command_line_takes_its_shard_and_reloads_a_swapped_configmap() {
    let sts = object("kubernetes/statefulset.yaml", "StatefulSet", "dcrawl-b");
    let n = u32::try_from(sts["spec"]["replicas"].as_u64().unwrap()).unwrap();
    let pod = "dcrawl-b-1";
    let shard = Shard::new(1, n).unwrap();
    let names = || (0..).map(|i| format!("t{i}"));
    let mine: Vec<String> = names().filter(|t| shard.owns("site", t)).take(2).collect();
    let other = names().find(|t| !shard.owns("site", t)).unwrap();

    let root = tempfile::tempdir().unwrap();
    let spec = site_spec(&[&mine[0], &other]);
    let mut specs = ConfigMapVolume::create(root.path().join("specs"), &[("site.yaml", &spec)]);
    ConfigMapVolume::create(root.path().join("alerts"), &[]);
    // The pod's arguments with its paths moved here; --listen and --state-dir are the helper's.
    let mut mapped: Vec<OsString> = Vec::new();
    for arg in args(&sts).iter().skip(1) {
        if arg.starts_with("--listen=") || arg.starts_with("--state-dir=") {
            continue;
        }
        let arg = arg
            .replace("/etc/dcrawl", &root.path().display().to_string())
            .replace("$(POD_NAME)", pod)
            .replace("$(POD_NAMESPACE)", "default");
        mapped.push(arg.into());
    }
    let d = Daemon::start_with_env(mapped, &[("HOSTNAME", pod)]).await;
    let m = d.metrics().await;
    let series = format!("dcrawl_shard{{index=\"1\",count=\"{n}\"}}");
    assert_eq!(sample(&m, &series), Some(1.0), "{m}");
    assert_eq!(sample(&m, "dcrawl_targets"), Some(1.0), "{m}");

    // kubectl apply of a changed ConfigMap: the kubelet swaps `..data`; dcrawl reloads.
    let spec = site_spec(&[&mine[0], &mine[1], &other]);
    specs.update(&[("site.yaml", &spec)]);
    let m = d
        .until_metrics(
            "the reload after the ..data swap",
            Duration::from_secs(15),
            |m| sample(m, "dcrawl_targets") == Some(2.0),
        )
        .await;
    assert_eq!(sample(&m, "dcrawl_config_reload_success"), Some(1.0), "{m}");
    d.stop().await;
}
