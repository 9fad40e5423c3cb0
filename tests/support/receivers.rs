//! Real receivers for the alert channel tests: an axum webhook recorder, aiosmtpd (a Python
//! child process running `smtp_sink.py`) and `prometheus-alertmanager`. Child processes are
//! killed on drop. A missing aiosmtpd or Alertmanager skips a test, unless `CI=true`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;

/// The aiosmtpd handler script (written into each receiver's temp dir).
const SMTP_SINK: &str = include_str!("smtp_sink.py");

/// `true` when running in CI, where a missing receiver is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Fail in CI, else say why the test is skipped; the caller then returns.
pub fn skip(why: &str) {
    if in_ci() {
        panic!("CI=true but {why}");
    }
    eprintln!("skipped: {why}");
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request path.
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Bytes,
}

impl Received {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// An axum server on 127.0.0.1 recording every POST. Routes: `/ok` (204), `/status/{code}`
/// (that status with a 1000-byte body echoing the Authorization header), `/hang` (never
/// answers), `/redirect` (302 to `/ok`).
pub struct WebhookReceiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Every request so far.
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl WebhookReceiver {
    /// Start the receiver.
    pub async fn start() -> WebhookReceiver {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let app = Router::new()
            .route("/ok", post(record_ok))
            .route("/status/{code}", post(record_status))
            .route("/hang", post(hang))
            .route("/redirect", post(redirect))
            .with_state(received.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebhookReceiver {
            base: format!("http://{addr}"),
            received,
        }
    }

    /// `base` + `path`, parsed.
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("{}{path}", self.base)).unwrap()
    }

    /// A copy of what arrived so far.
    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

type Log = State<Arc<Mutex<Vec<Received>>>>;

fn record(log: &Log, path: &str, headers: HeaderMap, body: Bytes) {
    log.lock().unwrap().push(Received {
        path: path.to_string(),
        headers,
        body,
    });
}

async fn record_ok(log: Log, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&log, "/ok", headers, body);
    StatusCode::NO_CONTENT
}

async fn record_status(
    log: Log,
    axum::extract::Path(code): axum::extract::Path<u16>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    record(&log, &format!("/status/{code}"), headers, body);
    let text = format!("rejected {auth} ");
    let body = format!("{text}{}", "x".repeat(1000 - text.len()));
    (StatusCode::from_u16(code).unwrap(), body)
}

async fn hang(log: Log, headers: HeaderMap, body: Bytes) -> StatusCode {
    record(&log, "/hang", headers, body);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    StatusCode::OK
}

async fn redirect(
    log: Log,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    record(&log, "/redirect", headers, body);
    (StatusCode::FOUND, [("location", "/ok")])
}

/// A `http://127.0.0.1:PORT` where nothing listens.
pub fn closed_port_url() -> String {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/hook")
}

// ---------------------------------------------------------------------------------------------
// Child processes

/// A child process killed (and reaped) on drop.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Is `program` runnable (found on PATH and answering `args`)?
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// ---------------------------------------------------------------------------------------------
// SMTP receiver (aiosmtpd)

/// How the SMTP receiver is set up.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// Offer STARTTLS (required) with a fresh self-signed certificate.
    pub starttls: bool,
    /// Require AUTH with this username and password.
    pub auth: Option<(String, String)>,
}

/// A running aiosmtpd saving each message into `dir`.
pub struct SmtpReceiver {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Where messages are saved.
    dir: PathBuf,
    /// Holds the temp dir alive.
    _tmp: tempfile::TempDir,
    /// The Python process.
    _child: ChildGuard,
}

/// One saved message.
#[derive(Debug, Clone)]
pub struct SavedMail {
    /// The envelope and session facts the handler recorded.
    pub meta: serde_json::Value,
    /// The raw message.
    pub raw: String,
}

impl SmtpReceiver {
    /// Start aiosmtpd, or `None` (after [`skip`]) when Python or aiosmtpd is missing.
    pub fn start(opts: &SmtpOptions) -> Option<SmtpReceiver> {
        if !runs("python3", &["-c", "import aiosmtpd"]) {
            skip("python3 with aiosmtpd is not installed (pip install aiosmtpd)");
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let script = tmp.path().join("smtp_sink.py");
        std::fs::write(&script, SMTP_SINK).unwrap();
        let dir = tmp.path().join("mail");
        std::fs::create_dir(&dir).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(&dir);
        if opts.starttls {
            let (cert, key) = write_self_signed(tmp.path());
            cmd.arg("--starttls").arg(cert).arg(key);
        }
        if let Some((user, password)) = &opts.auth {
            cmd.arg("--auth").arg(user).arg(password);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(tmp.path().join("smtp_sink.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let guard = ChildGuard(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("smtp_sink.py did not start: {line:?}"))
            .parse()
            .unwrap();
        Some(SmtpReceiver {
            port,
            dir,
            _tmp: tmp,
            _child: guard,
        })
    }

    /// Every message saved so far, in arrival order.
    pub fn mails(&self) -> Vec<SavedMail> {
        let mut out = Vec::new();
        for n in 1.. {
            let eml = self.dir.join(format!("{n}.eml"));
            let meta = self.dir.join(format!("{n}.json"));
            if !meta.exists() {
                break;
            }
            out.push(SavedMail {
                meta: serde_json::from_slice(&std::fs::read(meta).unwrap()).unwrap(),
                raw: String::from_utf8(std::fs::read(eml).unwrap()).unwrap(),
            });
        }
        out
    }
}

/// A self-signed certificate for localhost/127.0.0.1 as PEM files; returns (cert, key) paths.
fn write_self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

/// A parsed email: unfolded headers (lower-case names) and its leaf parts.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Header name (lower-case) -> decoded value (RFC 2047 words decoded).
    pub headers: BTreeMap<String, String>,
    /// Leaf parts as (content type without parameters, decoded body).
    pub parts: Vec<(String, String)>,
}

impl Mail {
    /// Parse a raw message by hand: headers, multipart boundaries, base64/quoted-printable.
    pub fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_headers(&raw);
        let mut parts = Vec::new();
        collect_parts(&headers, body, &mut parts);
        Mail { headers, parts }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    /// The decoded body of the first part of this content type.
    pub fn part(&self, content_type: &str) -> &str {
        self.parts
            .iter()
            .find(|(t, _)| t == content_type)
            .map(|(_, b)| b.as_str())
            .unwrap_or_else(|| panic!("no {content_type} part in {:?}", self.parts))
    }
}

/// Split at the first empty line; unfold and decode the headers.
fn split_headers(raw: &str) -> (BTreeMap<String, String>, &str) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.as_mut() {
                v.push_str(line);
            }
            continue;
        }
        if let Some((k, v)) = current.take() {
            headers.insert(k, decode_words(&v));
        }
        let (name, value) = line.split_once(':').unwrap();
        current = Some((name.trim().to_lowercase(), value.trim().to_string()));
    }
    if let Some((k, v)) = current {
        headers.insert(k, decode_words(&v));
    }
    (headers, body)
}

/// The value of parameter `name` in a header like `multipart/alternative; boundary="x"`.
fn param(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Walk a (possibly multipart) entity and push its leaf parts.
fn collect_parts(headers: &BTreeMap<String, String>, body: &str, out: &mut Vec<(String, String)>) {
    let ctype = headers
        .get("content-type")
        .cloned()
        .unwrap_or_else(|| "text/plain".into());
    let mime = ctype.split(';').next().unwrap().trim().to_lowercase();
    if mime.starts_with("multipart/") {
        let boundary = param(&ctype, "boundary").unwrap();
        let delimiter = format!("--{boundary}");
        for chunk in body.split(delimiter.as_str()).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
            let (h, b) = split_headers(chunk);
            collect_parts(&h, b, out);
        }
        return;
    }
    let encoding = headers
        .get("content-transfer-encoding")
        .map(|e| e.to_lowercase())
        .unwrap_or_default();
    let decoded = match encoding.as_str() {
        "base64" => String::from_utf8(base64(body)).unwrap(),
        "quoted-printable" => String::from_utf8(quoted_printable(body)).unwrap(),
        _ => body.to_string(),
    };
    out.push((mime, decoded));
}

/// Decode RFC 2047 encoded words (`=?utf-8?b?...?=` and `=?utf-8?q?...?=`).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(last_was_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let after = &rest[start + 2..];
        let mut pieces = after.splitn(3, '?');
        let (_charset, enc, tail) = (
            pieces.next().unwrap(),
            pieces.next().unwrap(),
            pieces.next().unwrap(),
        );
        let end = tail.find("?=").unwrap();
        let text = &tail[..end];
        let bytes = if enc.eq_ignore_ascii_case("b") {
            base64(text)
        } else {
            quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&String::from_utf8(bytes).unwrap());
        rest = &tail[end + 2..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

/// Decode base64 (whitespace ignored).
fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decode quoted-printable (soft line breaks removed).
fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Alertmanager

/// The Debian package's binary name.
const ALERTMANAGER: &str = "prometheus-alertmanager";

/// A running Alertmanager (by default one route to a receiver that sends nothing).
pub struct Alertmanager {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Holds config and storage alive.
    _tmp: tempfile::TempDir,
    /// The process.
    _child: ChildGuard,
}

impl Alertmanager {
    /// Start it and wait until `/-/ready`, or `None` (after [`skip`]) when not installed.
    pub async fn start() -> Option<Alertmanager> {
        Alertmanager::start_with_config(
            "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n",
        )
        .await
    }

    /// Like [`Alertmanager::start`], with `config` as its `alertmanager.yml` (routes and
    /// receivers of the test's choosing).
    pub async fn start_with_config(config: &str) -> Option<Alertmanager> {
        if !runs(ALERTMANAGER, &["--version"]) {
            skip(
                "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)",
            );
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("alertmanager.yml");
        std::fs::write(&file, config).unwrap();
        let storage = tmp.path().join("data");
        let port = {
            let l = StdListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let log = std::fs::File::create(tmp.path().join("alertmanager.log")).unwrap();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let guard = ChildGuard(child);
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client.get(format!("{base}/-/ready")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(tmp.path().join("alertmanager.log")).unwrap();
                panic!("alertmanager did not become ready:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(Alertmanager {
            base,
            _tmp: tmp,
            _child: guard,
        })
    }

    /// `GET /api/v2/alerts` (active, silenced and inhibited; resolved ones are not listed).
    pub async fn alerts(&self) -> Vec<serde_json::Value> {
        let bytes = reqwest::get(format!("{}/api/v2/alerts", self.base))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        body.as_array().unwrap().clone()
    }
}
