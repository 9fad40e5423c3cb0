//! The `dcrawl run` daemon as a child process for end-to-end tests: spawned on a free loopback
//! port (`--listen 127.0.0.1:0`, the bound address read back from its log), polled over HTTP,
//! stopped with a real signal, and killed on drop so that no process outlives a test.

#![allow(dead_code)]

use std::ffi::OsString;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long the daemon may take to print its address.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Pause between two polls.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// A running `dcrawl run`; killed (SIGKILL) on drop if still running.
pub struct Daemon {
    /// The child process; `None` once it was reaped.
    child: Option<Child>,
    /// Where its endpoints listen.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub base: String,
    /// Everything it wrote to stderr so far (its log), for failure messages.
    log: Arc<Mutex<String>>,
    /// Working directory (holds the state directory); removed on drop.
    workdir: tempfile::TempDir,
    /// HTTP client for the endpoints.
    http: reqwest::Client,
}

/// `dcrawl` with a clean environment for logs (info level, no colours).
fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcrawl"));
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// `kill -NAME PID`.
fn kill(name: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// `ADDR` parsed out of the line `status page http://ADDR/ ...` (or `https://`).
fn parse_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("status page http").nth(1)?;
    let rest = rest
        .strip_prefix("s://")
        .or_else(|| rest.strip_prefix("://"))?;
    rest.split('/').next()?.parse().ok()
}

impl Daemon {
    /// Start `dcrawl run ARGS --listen 127.0.0.1:0` and wait until it serves.
    pub async fn start<I, S>(args: I) -> Daemon
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Daemon::start_and_signal(args, None).await
    }

    /// Like [`Daemon::start`], and send `signal` (`TERM`, `HUP`...) the moment the daemon
    /// announces its address, from the thread reading its log, before anything else runs.
    pub async fn start_and_signal<I, S>(args: I, signal: Option<&'static str>) -> Daemon
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Daemon::launch(args, signal, &[]).await
    }

    /// Like [`Daemon::start`], with extra environment variables.
    pub async fn start_with_env<I, S>(args: I, env: &[(&str, &str)]) -> Daemon
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Daemon::launch(args, None, env).await
    }

    async fn launch<I, S>(args: I, signal: Option<&'static str>, env: &[(&str, &str)]) -> Daemon
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let workdir = tempfile::tempdir().unwrap();
        let mut cmd = command();
        cmd.envs(env.iter().copied());
        cmd.arg("run")
            .args(args.into_iter().map(Into::into))
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(workdir.path().join("state"))
            .current_dir(workdir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let pid = child.id();
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    if let Some(addr) = parse_addr(&line) {
                        if let Some(name) = signal {
                            kill(name, pid);
                        }
                        let _ = addr_tx.send(addr);
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut daemon = Daemon {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            base: String::new(),
            log,
            workdir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        };
        let started = Instant::now();
        let addr = loop {
            if let Ok(addr) = addr_rx.try_recv() {
                break addr;
            }
            if let Some(status) = daemon.try_wait() {
                panic!(
                    "dcrawl run exited with {status} before serving; log:\n{}",
                    daemon.log()
                );
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "dcrawl run did not serve within {START_DEADLINE:?}; log:\n{}",
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        daemon.addr = addr;
        daemon.base = format!("http://{addr}");
        daemon
    }

    /// Start the daemon on one spec path (file or folder).
    pub async fn start_on(specs: &Path) -> Daemon {
        Daemon::start([OsString::from("--specs"), specs.as_os_str().to_owned()]).await
    }

    /// Its state directory.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.workdir.path().join("state")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Send a signal by name (`TERM`, `INT`, `HUP`) with `kill`.
    pub fn signal(&self, name: &str) {
        kill(name, self.pid());
    }

    /// Its exit status if it has exited (reaps it).
    fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    /// Wait up to `within` for the process to exit; `None` if it is still running.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if started.elapsed() >= within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Send `signal` and assert that the daemon exits with code 0 within `within`.
    pub async fn stop_with(mut self, signal: &str, within: Duration) {
        self.signal(signal);
        match self.wait_exit(within).await {
            Some(status) => assert_eq!(
                status.code(),
                Some(0),
                "dcrawl run exited with {status} after SIG{signal}; log:\n{}",
                self.log()
            ),
            None => panic!(
                "dcrawl run still running {within:?} after SIG{signal}; log:\n{}",
                self.log()
            ),
        }
    }

    /// SIGTERM, then assert exit 0 within 15 s (the 10 s shutdown grace plus a margin).
    pub async fn stop(self) {
        self.stop_with("TERM", Duration::from_secs(15)).await;
    }

    /// GET `path` (with extra headers); panics on a transport error.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        match req.send().await {
            Ok(r) => r,
            Err(e) => panic!("GET {path}: {e}; log:\n{}", self.log()),
        }
    }

    /// GET `path` and return its body (any status).
    pub async fn text(&self, path: &str) -> String {
        self.get_with(path, &[]).await.text().await.unwrap()
    }

    /// The classic-text `/metrics`.
    pub async fn metrics(&self) -> String {
        self.text("/metrics").await
    }

    /// `/api/v1/status` as JSON.
    pub async fn status(&self) -> Value {
        serde_json::from_str(&self.text("/api/v1/status").await).unwrap()
    }

    /// The target `spec/target` in `/api/v1/status`, if listed.
    pub async fn target(&self, spec: &str, target: &str) -> Option<Value> {
        find_target(&self.status().await, spec, target)
    }

    /// Poll `probe` every 100 ms until it yields `Some`, for at most `within`; on timeout the
    /// panic names `what`, the last value seen and the daemon's log.
    pub async fn until<T, F, Fut>(&self, what: &str, within: Duration, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let started = Instant::now();
        loop {
            match probe().await {
                Ok(v) => return v,
                Err(last) => {
                    if started.elapsed() >= within {
                        panic!(
                            "timed out after {within:?} waiting for {what}; last seen: {last}\nlog:\n{}",
                            self.log()
                        );
                    }
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Poll `/metrics` until `pred` holds on its text; returns that text.
    pub async fn until_metrics(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let pred = &pred;
        self.until(what, within, || async move {
            let text = self.metrics().await;
            if pred(&text) { Ok(text) } else { Err(text) }
        })
        .await
    }

    /// Poll `/api/v1/status` until `pred` holds on the JSON; returns it.
    pub async fn until_status(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let pred = &pred;
        self.until(what, within, || async move {
            let doc = self.status().await;
            if pred(&doc) {
                Ok(doc)
            } else {
                Err(doc.to_string())
            }
        })
        .await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The target `spec/target` in a status document.
pub fn find_target(doc: &Value, spec: &str, target: &str) -> Option<Value> {
    doc["specs"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == spec)?["targets"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == target)
        .cloned()
}

/// The value of the sample line `series` (name with labels, exactly as exposed) in metrics
/// text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.split(' ').next()?.parse().ok()
    })
}

/// Run `dcrawl ARGS` to completion (killed if it runs past `within`): (exit status, stderr).
pub fn run_to_exit<I, S>(args: I, within: Duration) -> (ExitStatus, String)
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let workdir = tempfile::tempdir().unwrap();
    let child = command()
        .args(args.into_iter().map(Into::into))
        .current_dir(workdir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_output(child, within);
    (out.status, out.stderr)
}

/// What a finished child process printed, how long it ran and its peak RSS.
pub struct Output {
    pub status: ExitStatus,
    /// Its stdout (empty unless piped).
    pub stdout: String,
    /// Its stderr (empty unless piped).
    pub stderr: String,
    /// From this call to its exit.
    pub wall: Duration,
    /// The highest `VmHWM` seen while it ran, in KiB.
    pub peak_rss_kib: u64,
}

/// `VmHWM` of process `pid` in KiB (None once it has exited).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Wait for `child` to exit, draining its piped stdout and stderr and sampling its peak RSS;
/// kill it and fail the test (showing its stderr) if it runs past `within`.
pub fn wait_output(mut child: Child, within: Duration) -> Output {
    let started = Instant::now();
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut s);
            }
            s
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() >= within {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "dcrawl did not exit within {within:?}; stderr:\n{}",
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        wall: started.elapsed(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        peak_rss_kib: peak,
    }
}

/// Write `text` to `path` atomically (a temporary file in the same folder, then a rename), so
/// that a reload never reads a half-written file.
pub fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
