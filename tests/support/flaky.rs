//! Servers whose behaviour a test switches at run time (a site answering 200 or 500, a webhook
//! receiver answering any status) and a `dcrawl run` on a state directory of the test's
//! choosing, so that a second daemon can take over the first one's state after `kill -9`.

#![allow(dead_code)]

use std::ffi::OsString;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;
use tokio::net::TcpListener;

/// How long the daemon may take to print its address.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A site whose `/` answers 200 or 500, switched at run time.
pub struct Site {
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    /// `true`: 200, `false`: 500.
    pub up: Arc<AtomicBool>,
}

impl Site {
    /// Serve it on 127.0.0.1, answering 200 when `up`, else 500.
    pub async fn start(up: bool) -> Site {
        let flag = Arc::new(AtomicBool::new(up));
        let router = Router::new()
            .route("/", get(site_home))
            .with_state(Arc::clone(&flag));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Site {
            url: format!("http://{addr}/"),
            up: flag,
        }
    }

    /// Answer 200 (`true`) or 500 from now on.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

async fn site_home(State(up): State<Arc<AtomicBool>>) -> (StatusCode, &'static str) {
    if up.load(Ordering::SeqCst) {
        (StatusCode::OK, "up")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "down")
    }
}

/// A webhook receiver answering every POST with a status switched at run time; it records
/// each request with the status it answered.
pub struct Hook {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// The status it answers now.
    pub status: Arc<AtomicU16>,
    /// (answered status, JSON body) of every request so far.
    pub seen: Arc<Mutex<Vec<(u16, Value)>>>,
}

type HookState = (Arc<AtomicU16>, Arc<Mutex<Vec<(u16, Value)>>>);

impl Hook {
    /// Serve on `listener`, answering `status` until switched.
    pub fn serve(listener: TcpListener, status: u16) -> Hook {
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(status));
        let seen: Arc<Mutex<Vec<(u16, Value)>>> = Arc::default();
        let router = Router::new()
            .fallback(hook_any)
            .with_state((Arc::clone(&status), Arc::clone(&seen)));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Hook {
            url: format!("http://{addr}/hook"),
            status,
            seen,
        }
    }

    /// Serve on a free loopback port, answering `status` until switched.
    pub async fn start(status: u16) -> Hook {
        Hook::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), status)
    }

    /// Answer `status` from now on.
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Bodies of the requests it answered with 2xx.
    pub fn accepted(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| (200..300).contains(s))
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Bodies of the requests it answered with a non-2xx status.
    pub fn rejected_bodies(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| !(200..300).contains(s))
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// How many requests it answered with a non-2xx status.
    pub fn rejected(&self) -> usize {
        self.rejected_bodies().len()
    }
}

async fn hook_any(State((status, seen)): State<HookState>, body: Bytes) -> StatusCode {
    let code = status.load(Ordering::SeqCst);
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push((code, json));
    StatusCode::from_u16(code).unwrap()
}

/// A `dcrawl run` on a state directory of our choosing (the shared helper picks its own), so
/// that a second daemon can take over the first one's state after `kill -9`.
pub struct Proc {
    /// The child.
    child: Child,
    /// `http://ADDR`.
    pub base: String,
    /// Its stderr so far.
    pub log: Arc<Mutex<String>>,
}

impl Proc {
    /// Start `dcrawl run ARGS --state-dir STATE_DIR --listen 127.0.0.1:0` in `cwd` and wait
    /// until it serves.
    pub async fn start(args: &[OsString], cwd: &Path, state_dir: &Path) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dcrawl"))
            .arg("run")
            .args(args)
            .arg("--state-dir")
            .arg(state_dir)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    if let Some(rest) = line.split("status page http://").nth(1) {
                        let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let started = Instant::now();
        let addr = loop {
            if let Ok(addr) = rx.try_recv() {
                break addr;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "dcrawl run exited with {status}; log:\n{}",
                    log.lock().unwrap()
                );
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "dcrawl run did not serve"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Proc {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// GET `path` and return the body.
    pub async fn get(&self, path: &str) -> String {
        reqwest::get(format!("{}{path}", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Poll `/metrics` until `pred` holds; returns that text.
    pub async fn until_metrics(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let log = self.log.clone();
        until(
            what,
            within,
            || async {
                let m = self.get("/metrics").await;
                if pred(&m) { Ok(m) } else { Err(m) }
            },
            move || log.lock().unwrap().clone(),
        )
        .await
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), None, "killed by a signal: {status}");
    }

    /// SIGTERM; assert exit 0 within 15 s.
    pub async fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0), "log:\n{}", self.log());
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no exit after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `probe` every 100 ms until `Ok`, for at most `within`; the panic shows the last value
/// and `context()`.
pub async fn until<T, F, Fut>(
    what: &str,
    within: Duration,
    mut probe: F,
    context: impl Fn() -> String,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) => assert!(
                started.elapsed() < within,
                "timed out after {within:?} waiting for {what}; last seen: {last}\n{}",
                context()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
