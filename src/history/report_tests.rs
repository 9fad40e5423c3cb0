//! `dcrawl report` in every format, over the hand-computed series of [`super::tests`] and a
//! second target that never failed.

use chrono::{DateTime, Utc};

use super::ingest::Ingest;
use super::range::Range;
use super::report::{self, CSV_HEADER, Format};
use super::tests::{NOW, T0, run, written};
use super::{Db, Run};

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// The report of 10:00 to now over shop/home (the series) and shop/api (always up).
fn report() -> report::Report {
    let dir = tempfile::tempdir().unwrap();
    drop(written(dir.path()));
    let mut ingest = Ingest::new(Db::open(dir.path()).unwrap()).unwrap();
    let api: Vec<Run> = (0..24)
        .map(|i| Run {
            target: "api".into(),
            ..run(i * 60, "success", 20 + i, false)
        })
        .collect();
    ingest.apply(&api).unwrap();
    let db = Db::open_read_only(dir.path()).unwrap();
    let range = Range {
        from: at(T0 - 50 * 60_000),
        to: at(NOW),
    };
    report::build(&db, range, None, None, at(NOW)).unwrap()
}

#[test]
fn text() {
    insta::assert_snapshot!(report::render(&report(), Format::Text));
}

#[test]
fn json_has_every_field() {
    let doc: serde_json::Value =
        serde_json::from_str(&report::render(&report(), Format::Json)).unwrap();
    assert_eq!(doc["from"], "2026-11-25T10:00:00Z");
    assert_eq!(doc["to"], "2026-11-25T11:13:30Z");
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(
        targets
            .iter()
            .map(|t| format!(
                "{}/{}",
                t["spec"].as_str().unwrap(),
                t["target"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        ["shop/api", "shop/home"]
    );
    let home = &targets[1];
    assert_eq!(home["range"]["uptime_percent"], 73.6842);
    assert_eq!(home["range"]["up_seconds"], 420.0);
    assert_eq!(home["range"]["down_seconds"], 150.0);
    assert_eq!(home["range"]["maintenance_seconds"], 120.0);
    assert_eq!(home["range"]["runs"], 11);
    assert_eq!(home["range"]["failed_runs"], 3);
    assert_eq!(home["uptime"]["24h"], 73.6842);
    assert!(home["uptime"]["7d"].is_number() && home["uptime"]["30d"].is_number());
    assert_eq!(home["latency"]["runs"], 8);
    for p in ["p50_seconds", "p95_seconds", "p99_seconds"] {
        assert!(home["latency"][p].as_f64().unwrap() > 0.0, "{p}");
    }
    assert_eq!(home["incidents_total"], 2);
    let first = &home["incidents"][0];
    assert_eq!(first["open"], true);
    assert!(first["end"].is_null());
    assert_eq!(first["start"], "2026-11-25T11:13:00Z");
    assert_eq!(home["incidents"][1]["end"], "2026-11-25T10:54:00Z");
    assert_eq!(home["incidents"][1]["duration_seconds"], 120.0);
    // Reports leave the series out.
    assert!(home.get("latency_series").is_none());
    assert_eq!(targets[0]["range"]["uptime_percent"], 100.0);
}

#[test]
fn csv_has_a_header_and_a_row_per_target() {
    let text = report::render(&report(), Format::Csv);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header, CSV_HEADER.split(',').collect::<Vec<_>>());
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
    }
    let col = |row: &Vec<&str>, name: &str| {
        row[header.iter().position(|h| *h == name).unwrap()].to_string()
    };
    let home = &rows[1];
    assert_eq!(col(home, "target"), "home");
    assert_eq!(col(home, "uptime_percent").parse::<f64>().unwrap(), 73.6842);
    assert_eq!(col(home, "runs"), "11");
    assert_eq!(col(home, "incidents"), "2");
    assert_eq!(col(home, "from"), "2026-11-25T10:00:00Z");
    assert!(col(home, "p99_seconds").parse::<f64>().unwrap() > 0.2);
}

#[test]
fn html_is_a_well_formed_standalone_page() {
    use quick_xml::events::Event;
    let html = report::render(&report(), Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    let mut reader = quick_xml::Reader::from_str(&html);
    let mut open: Vec<String> = Vec::new();
    let mut cells = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => open.push(e.name().as_ref().to_string()),
            Event::End(e) => {
                let name = e.name().as_ref().to_string();
                assert_eq!(
                    open.pop().as_deref(),
                    Some(name.as_str()),
                    "misnested </{name}>"
                );
            }
            Event::Text(t) if open.last().is_some_and(|n| n == "td") => {
                cells.push(t.xml10_content().into_owned());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    assert!(cells.contains(&"shop/home".to_string()), "{cells:?}");
    assert!(cells.contains(&"73.684%".to_string()), "{cells:?}");
    assert!(html.contains("status: expected 2xx, found 500"));
}

#[test]
fn unknown_selections_say_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db = written(dir.path());
    let range = Range {
        from: at(T0),
        to: at(NOW),
    };
    let e = report::build(&db, range, Some("nope"), None, at(NOW)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no history of a spec named \"nope\" (specs with history: shop)"
    );
    let e = report::build(&db, range, Some("shop"), Some("x"), at(NOW)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no history of a target named \"x\" in the selected specs"
    );
    let one = report::build(&db, range, None, Some("home"), at(NOW)).unwrap();
    assert_eq!(one.targets.len(), 1);
}
