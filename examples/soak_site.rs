//! The other side of `scripts/soak`: a site whose targets flap, time out and recover, and a
//! webhook receiver that counts what dcrawl's alerts deliver, on 127.0.0.1.
//!
//! Usage: `cargo run --release --example soak_site`. Prints
//! `soak_site: listening on http://ADDR` once it serves; any `/t/{i}` exists.
//!
//! - `GET /t/{i}`: target `i` goes through a cycle of phases, each `10 + (i % 7) * 5` seconds
//!   long, shifted per target: up, up, 500, up, hangs for 5 s (past any sane timeout), up, a
//!   200 page without the expected `<h1>`. So every target fails and recovers several times in
//!   ten minutes, in three different ways.
//! - `POST /hook`: a `format: json` webhook. Each payload is keyed by (spec, target, status,
//!   since); the same key twice is a duplicate, and a target's statuses must alternate
//!   firing/resolved (repeats are off in the soak's routes).
//! - `POST /calm`: from now on every target is up (so that every alert resolves and the
//!   notifications can be counted while nothing new fires).
//! - `GET /stats`: `{"received", "firing", "resolved", "duplicates", "out_of_order", "open",
//!   "requests"}` as JSON; `open` counts targets whose last notification was `firing`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// What the receiver has seen.
#[derive(Default)]
struct Seen {
    /// Keys of every payload received.
    keys: HashSet<(String, String, String, String)>,
    /// The last status per target.
    last: HashMap<(String, String), String>,
    received: u64,
    firing: u64,
    resolved: u64,
    duplicates: u64,
    out_of_order: u64,
    /// Requests to `/t/{i}`.
    requests: u64,
}

type Shared = Arc<Mutex<Seen>>;

/// Set by `POST /calm`: every target is up from then on.
static CALM: AtomicBool = AtomicBool::new(false);

/// How target `i` behaves now.
fn phase(i: u64) -> u64 {
    if CALM.load(Ordering::Relaxed) {
        return 0;
    }
    let period = 10 + (i % 7) * 5;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (now / period + i) % 7
}

async fn target(State(seen): State<Shared>, Path(i): Path<u64>) -> Response {
    if let Ok(mut s) = seen.lock() {
        s.requests += 1;
    }
    match phase(i) {
        2 => (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance").into_response(),
        4 => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Html("<!doctype html><h1>late</h1>").into_response()
        }
        6 => Html("<!doctype html><p>the heading is missing</p>").into_response(),
        _ => Html(format!("<!doctype html><h1>target {i}</h1>")).into_response(),
    }
}

async fn hook(State(seen): State<Shared>, body: axum::body::Bytes) -> StatusCode {
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (spec, name, status, since) = (
        field("spec"),
        field("target"),
        field("status"),
        field("since"),
    );
    let Ok(mut s) = seen.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    s.received += 1;
    match status.as_str() {
        "firing" => s.firing += 1,
        "resolved" => s.resolved += 1,
        _ => {}
    }
    if !s
        .keys
        .insert((spec.clone(), name.clone(), status.clone(), since))
    {
        s.duplicates += 1;
    }
    let previous = s.last.insert((spec, name), status.clone());
    let in_order = match previous.as_deref() {
        None => status == "firing",
        Some(p) => p != status,
    };
    if !in_order {
        s.out_of_order += 1;
    }
    StatusCode::NO_CONTENT
}

async fn calm() -> StatusCode {
    CALM.store(true, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn stats(State(seen): State<Shared>) -> Response {
    let Ok(s) = seen.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    axum::Json(json!({
        "received": s.received,
        "firing": s.firing,
        "resolved": s.resolved,
        "duplicates": s.duplicates,
        "out_of_order": s.out_of_order,
        "open": s.last.values().filter(|status| *status == "firing").count(),
        "requests": s.requests,
    }))
    .into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seen = Shared::default();
    let app = Router::new()
        .route("/t/{i}", get(target))
        .route("/hook", post(hook))
        .route("/stats", get(stats))
        .route("/calm", post(calm))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind 127.0.0.1")?;
    let addr = listener.local_addr()?;
    println!("soak_site: listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
