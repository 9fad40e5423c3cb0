//! Unit tests of the metrics registry and its exposition.
use super::*;
use crate::result::{Failure, Outcome};
use std::time::{Duration, SystemTime};

fn result(target: &str, outcome: Outcome) -> CheckResult {
    CheckResult {
        spec: "shop".into(),
        target: target.into(),
        url: "http://127.0.0.1/".into(),
        outcome,
        error: None,
        status: Some(200),
        duration: Duration::from_millis(42),
        failures: if outcome == Outcome::Failure {
            vec![Failure::new("html[0]", "x")]
        } else {
            vec![]
        },
        extracted: [("products_listed".to_string(), 3.0)].into_iter().collect(),
        response_size: Some(1234),
        tls_not_after: Some(1_900_000_000),
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        crawl: None,
        steps: None,
        rendered: None,
    }
}

#[test]
fn records_every_target_series_with_contract_names() {
    let m = Metrics::new();
    m.record(&result("home", Outcome::Failure));
    m.record_skipped("shop", "home", 2);
    m.record_crawl("shop", "home", 5, 1);
    m.set_alert_firing("shop", "home", true);
    m.record_notification("ops-hook", true);
    m.record_reload(true, 7);
    let text = m.encode_text();
    for needle in [
        "dcrawl_check_success{spec=\"shop\",target=\"home\"} 0",
        "dcrawl_check_duration_seconds_bucket{",
        "dcrawl_checks_total{spec=\"shop\",target=\"home\",result=\"failure\"} 1",
        "dcrawl_assertion_failures_total{spec=\"shop\",target=\"home\",assertion=\"html[0]\"} 1",
        "dcrawl_http_status_code{spec=\"shop\",target=\"home\"} 200",
        "dcrawl_response_size_bytes{spec=\"shop\",target=\"home\"} 1234",
        "dcrawl_last_run_timestamp_seconds{spec=\"shop\",target=\"home\"} 1800000000",
        "dcrawl_tls_cert_expiry_timestamp_seconds{spec=\"shop\",target=\"home\"} 1900000000",
        "dcrawl_extracted_value{spec=\"shop\",target=\"home\",name=\"products_listed\"} 3",
        "dcrawl_crawl_pages{spec=\"shop\",target=\"home\",result=\"failed\"} 1",
        "dcrawl_skipped_runs_total{spec=\"shop\",target=\"home\"} 2",
        "dcrawl_alert_firing{spec=\"shop\",target=\"home\"} 1",
        "dcrawl_notifications_total{channel=\"ops-hook\",result=\"sent\"} 1",
        "dcrawl_notifications_pending 0",
        "dcrawl_config_reload_success 1",
        "dcrawl_config_reload_timestamp_seconds ",
        "dcrawl_targets 7",
        "dcrawl_shard{index=\"0\",count=\"1\"} 1",
        "dcrawl_build_info{version=\"",
        "# TYPE dcrawl_checks_total counter",
        "# HELP dcrawl_checks_total Check runs",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(!text.contains("# EOF"));
    let om = m.encode_openmetrics();
    assert!(om.trim_end().ends_with("# EOF"));
    assert!(om.contains("# TYPE dcrawl_checks counter"));
}

#[test]
fn negotiates_content_type() {
    let m = Metrics::new();
    assert_eq!(
        m.encode_for(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
        ))
        .1,
        OPENMETRICS_CONTENT_TYPE
    );
    assert_eq!(m.encode_for(Some("text/plain")).1, TEXT_CONTENT_TYPE);
    assert_eq!(m.encode_for(None).1, TEXT_CONTENT_TYPE);
}

#[test]
fn removed_target_loses_every_series() {
    let m = Metrics::new();
    m.record(&result("home", Outcome::Failure));
    m.record(&result("other", Outcome::Success));
    m.record_crawl("shop", "home", 1, 1);
    m.record_skipped("shop", "home", 1);
    m.set_alert_firing("shop", "home", false);
    m.remove_target("shop", "home");
    let text = m.encode_text();
    assert!(!text.contains("target=\"home\""), "{text}");
    assert!(text.contains("target=\"other\""));
}

/// Issue 13 item 12: size, certificate expiry and extracted values kept the last value seen
/// while the target erred, passing a stale value for a current one. Each is that of the last
/// run; a run that did not measure one removes its series.
#[test]
fn values_a_run_did_not_measure_are_not_exposed() {
    let m = Metrics::new();
    let mut ok = result("home", Outcome::Success);
    ok.extracted.insert("price".into(), 9.5);
    m.record(&ok);
    let text = m.encode_text();
    for series in [
        "dcrawl_response_size_bytes{spec=\"shop\",target=\"home\"} 1234",
        "dcrawl_tls_cert_expiry_timestamp_seconds{spec=\"shop\",target=\"home\"} 1900000000",
        "dcrawl_extracted_value{spec=\"shop\",target=\"home\",name=\"products_listed\"} 3",
        "dcrawl_extracted_value{spec=\"shop\",target=\"home\",name=\"price\"} 9.5",
    ] {
        assert!(text.contains(series), "missing {series:?} in\n{text}");
    }

    // An error: no response, nothing measured.
    let mut error = result("home", Outcome::Error);
    error.status = None;
    error.response_size = None;
    error.tls_not_after = None;
    error.extracted.clear();
    m.record(&error);
    let text = m.encode_text();
    for gone in [
        "dcrawl_response_size_bytes{",
        "dcrawl_tls_cert_expiry_timestamp_seconds{",
        "dcrawl_extracted_value{",
    ] {
        assert!(!text.contains(gone), "{gone} still exposed:\n{text}");
    }
    assert!(text.contains("dcrawl_http_status_code{spec=\"shop\",target=\"home\"} 0"));
    assert!(text.contains("dcrawl_last_run_timestamp_seconds{spec=\"shop\",target=\"home\"} "));

    // A failure that found one value of two: that one is back, the other stays away.
    m.record(&result("home", Outcome::Failure));
    let text = m.encode_text();
    assert!(text.contains("name=\"products_listed\"} 3"), "{text}");
    assert!(!text.contains("name=\"price\""), "{text}");
    assert!(text.contains("dcrawl_response_size_bytes{spec=\"shop\",target=\"home\"} 1234"));
}

#[test]
fn a_warning_passes_and_maintenance_is_a_gauge_removed_with_the_target() {
    let m = Metrics::new();
    m.record(&result("home", Outcome::Warning));
    m.set_maintenance("shop", "home", true);
    m.set_maintenance("shop", "other", false);
    let text = m.encode_text();
    for needle in [
        "dcrawl_check_success{spec=\"shop\",target=\"home\"} 1",
        "dcrawl_checks_total{spec=\"shop\",target=\"home\",result=\"warning\"} 1",
        "dcrawl_maintenance{spec=\"shop\",target=\"home\"} 1",
        "dcrawl_maintenance{spec=\"shop\",target=\"other\"} 0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    m.remove_target("shop", "home");
    let text = m.encode_text();
    assert!(!text.contains("target=\"home\""), "{text}");
}

/// The per-target series come out as prometheus-client's own families write the same values
/// (the reference: a `Family` per metric, as dcrawl kept them before).
#[test]
fn target_series_encode_as_families_of_the_same_values_do() {
    use labels::ResultLabels;
    type Hist = Family<TargetLabels, Histogram, fn() -> Histogram>;
    fn hist() -> Histogram {
        Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.005, 2.0, 14,
        ))
    }
    let m = Metrics::new();
    let mut cart = result("cart", Outcome::Error);
    (cart.status, cart.response_size, cart.tls_not_after) = (None, None, None);
    cart.duration = Duration::from_secs(100);
    m.record(&result("home", Outcome::Failure));
    let mut again = result("home", Outcome::Success);
    again.duration = Duration::from_micros(7_500);
    m.record(&again);
    m.record(&cart);
    m.record_skipped("shop", "cart", 3);
    m.set_alert_firing("shop", "home", true);
    m.set_maintenance("shop", "cart", false);

    let t = |target: &str| TargetLabels {
        spec: "shop".into(),
        target: target.into(),
    };
    let mut reference = Registry::default();
    use targets::{
        CHECKS, DURATION, FIRING, LAST_RUN, MAINTENANCE, RENDER, SIZE, SKIPPED, STATUS, SUCCESS,
        TLS,
    };
    let gauge = |reference: &mut Registry, (name, help, _), set: &[(&str, i64)]| {
        let f: Family<TargetLabels, Gauge> = Family::default();
        for (target, v) in set {
            f.get_or_create(&t(target)).set(*v);
        }
        reference.register(name, help, f);
    };
    gauge(&mut reference, SUCCESS, &[("home", 1), ("cart", 0)]);
    let d: Hist = Family::new_with_constructor(hist);
    d.get_or_create(&t("home")).observe(0.042);
    d.get_or_create(&t("home")).observe(0.0075);
    d.get_or_create(&t("cart")).observe(100.0);
    reference.register(DURATION.0, DURATION.1, d);
    let c: Family<ResultLabels, Counter> = Family::default();
    for (target, r) in [("home", "failure"), ("home", "success"), ("cart", "error")] {
        c.get_or_create(&ResultLabels {
            spec: "shop".into(),
            target: target.into(),
            result: r.into(),
        })
        .inc();
    }
    reference.register(CHECKS.0, CHECKS.1, c);
    gauge(&mut reference, STATUS, &[("home", 200), ("cart", 0)]);
    gauge(&mut reference, SIZE, &[("home", 1234)]);
    let l: Family<TargetLabels, FloatGauge> = Family::default();
    l.get_or_create(&t("home")).set(1_800_000_000.0);
    l.get_or_create(&t("cart")).set(1_800_000_000.0);
    reference.register(LAST_RUN.0, LAST_RUN.1, l);
    gauge(&mut reference, TLS, &[("home", 1_900_000_000)]);
    reference.register(RENDER.0, RENDER.1, Hist::new_with_constructor(hist));
    let s: Family<TargetLabels, Counter> = Family::default();
    s.get_or_create(&t("cart")).inc_by(3);
    reference.register(SKIPPED.0, SKIPPED.1, s);
    gauge(&mut reference, FIRING, &[("home", 1)]);
    gauge(&mut reference, MAINTENANCE, &[("cart", 0)]);
    let mut want = String::new();
    prometheus_client::encoding::text::encode(&mut want, &reference).unwrap();

    let names: Vec<&str> = targets::FAMILIES.iter().map(|f| f.0).collect();
    let family = |line: &str| -> String {
        let name = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
            .unwrap_or(line);
        let name = name.split(['{', ' ']).next().unwrap_or("");
        ["_bucket", "_sum", "_count", "_total"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|n| names.contains(n)))
            .unwrap_or(name)
            .to_string()
    };
    let lines = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| names.contains(&family(l).as_str()))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let want = lines(&want);
    assert_eq!(
        want.len(),
        10 * 2 + 2 + 2 * 17 + 3 + 2 + 1 + 2 + 1 + 1 + 1 + 1
    );
    assert_eq!(lines(&m.encode_openmetrics()), want);
}
