//! The local single-page app the browser-engine tests render, and helpers to find Chromium and
//! the processes it leaves.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio::net::TcpListener;
use url::Url;

/// The app: a list built by a script from a JSON endpoint, an element added after a delay
/// (`?delay=MS`, default 2500), a
/// console error and an exception, two 404 sub-requests, and echoes the `x-probe` request header.
const SPA: &str = r#"<!doctype html>
<html><head><title>shop</title><script src="/missing.js"></script></head>
<body>
<h1 id="probe">PROBE</h1>
<ul class="orders"></ul>
<img src="/missing.png">
<script>
console.error("bad thing", 42);
fetch("/api/items").then(r => r.json()).then(items => {
  const list = document.querySelector(".orders");
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = item;
    list.appendChild(li);
  }
});
setTimeout(() => {
  const ready = document.createElement("div");
  ready.className = "ready";
  ready.textContent = "ready at last";
  document.body.appendChild(ready);
}, Number(new URLSearchParams(location.search).get("delay") || 2500));
setTimeout(() => { throw new Error("boom"); }, 10);
</script>
</body></html>"#;

/// Opens popups and dialogs before it shows its content.
const POPUPS: &str = r#"<!doctype html><html><body>
<script>
window.open("/ticker", "_blank");
window.open("/gone");
alert("hello");
const sure = confirm("sure?");
const name = prompt("name?", "x");
document.body.insertAdjacentHTML("beforeend",
  "<p id='after'>after dialogs " + sure + " " + name + "</p>");
window.addEventListener("beforeunload", e => { e.preventDefault(); e.returnValue = ""; });
</script></body></html>"#;

/// Counts `/tick` requests: the ticker page (a popup) asks every 50 ms while it is open.
pub static TICKS: AtomicUsize = AtomicUsize::new(0);

/// A page that keeps telling the server it is open.
const TICKER: &str = r#"<!doctype html><html><body>
<script>setInterval(() => fetch("/tick"), 50);</script></body></html>"#;

/// Never finishes loading: an image that never answers, and fetches without end.
const HANG: &str = r#"<!doctype html><html><body>
<img src="/never">
<script>
function again() { fetch("/api/items").then(again, again); }
again();
</script></body></html>"#;

/// Allocates memory without end (touched, so it is resident).
const HOG: &str = r#"<!doctype html><html><body>
<script>
const keep = [];
function grow() {
  for (let i = 0; i < 4; i++) { const a = new Uint8Array(32 << 20); a.fill(7); keep.push(a); }
  setTimeout(grow, 0);
}
grow();
</script></body></html>"#;

/// The router of the test app.
pub fn site() -> Router {
    Router::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move {
                let probe = headers
                    .get("x-probe")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned();
                (
                    [("x-app", "spa")],
                    Html(SPA.replace("PROBE", &format!("probe={probe}"))),
                )
            }),
        )
        .route(
            "/api/items",
            get(|| async {
                (
                    [("content-type", "application/json")],
                    r#"["apple","pear","plum"]"#,
                )
            }),
        )
        .route(
            "/gone",
            get(|| async { (StatusCode::NOT_FOUND, Html("<h1>nothing here</h1>")) }),
        )
        .route("/popups", get(|| async { Html(POPUPS) }))
        .route("/ticker", get(|| async { Html(TICKER) }))
        .route(
            "/tick",
            get(|| async {
                TICKS.fetch_add(1, Ordering::SeqCst);
                "tick"
            }),
        )
        .route("/hang", get(|| async { Html(HANG) }))
        .route(
            "/never",
            get(|| async {
                std::future::pending::<()>().await;
                StatusCode::OK.into_response()
            }),
        )
        .route("/hog", get(|| async { Html(HOG) }))
        .route(
            "/plain",
            get(|| async { Html("<!doctype html><p class='plain'>plain page</p>") }),
        )
}

/// A local address nothing listens on.
pub fn closed_port() -> Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}/")).unwrap()
}

/// Serves the app on 127.0.0.1; returns its base URL.
pub async fn serve() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, site()).await.unwrap() });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

/// The Chromium to test with (`DCRAWL_TEST_CHROMIUM`, else `chromium` on PATH). Without one the
/// test is skipped with a note, except under `CI=true`, where it fails.
pub fn chromium() -> Option<PathBuf> {
    let wanted = std::env::var_os("DCRAWL_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"));
    match dcrawl::render::find_browser(&wanted) {
        Ok(path) => Some(path),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true needs a browser for the render tests: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// A fresh directory for one test's browser profiles, so its processes can be found by it.
pub fn temp_root(test: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "dcrawl-render-test-{test}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// Pids of live processes whose command line mentions `root` (a browser's `--user-data-dir` is
/// under it). Zombies have empty command lines and are not counted.
pub fn processes_under(root: &Path) -> Vec<u32> {
    let needle = root.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(&needle)
        {
            found.push(pid);
        }
    }
    found
}

/// Waits up to `within` for [`processes_under`] to be empty; returns what is left.
pub async fn wait_gone(root: &Path, within: Duration) -> Vec<u32> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = processes_under(root);
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The tests that start browsers run one at a time: on a small machine, browsers starting in
/// parallel make each other's timing meaningless.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// `/proc/PID/stat` of the processes under `root`, for failure messages.
pub fn describe(root: &Path) -> String {
    processes_under(root)
        .iter()
        .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Profile directories left under `root`.
pub fn profiles_under(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}
