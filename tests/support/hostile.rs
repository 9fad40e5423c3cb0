//! A hostile HTTP/1.1 server on 127.0.0.1 for end-to-end tests: raw bytes over TCP, one path per
//! misbehaviour (see [`PATHS`]), plus a well-behaved axum server and the HTTP/2 listeners of
//! `hostile_h2.rs`. It runs on a thread of its own, so that tests can block on a `dcrawl` child
//! process while it serves. Large bodies (1 GB, the gzip bomb, the 100 MB header line) are
//! generated as they are written, never held in memory.

#![allow(dead_code)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::hostile_h2::{self, H2};
use crate::support::{base, read_head, serve};

/// 1 GB: what `/huge` and `/huge-unsized` offer.
pub const GIGABYTE: u64 = 1_000_000_000;
/// 100 MB: the length of the one header line of `/huge-header`.
pub const HEADER_LINE: u64 = 100_000_000;
/// The gzip bomb inflates to this much (10 GiB) from about 10 MB on the wire.
pub const BOMB_INFLATED: u64 = 10 << 30;
/// Nesting depth of the deep HTML and JSON bodies.
pub const DEPTH: usize = 100_000;
/// How long a stalling connection is held open.
const HOLD: Duration = Duration::from_secs(120);
/// Unit of the lazily written bodies.
const CHUNK: usize = 64 * 1024;

/// Every path of the HTTP/1.1 server, with what it does.
pub const PATHS: &[(&str, &str)] = &[
    ("/silent", "accepts, reads the request and never answers"),
    (
        "/slowloris",
        "sends the head (Content-Length 1 MB) and 10 bytes, then stalls",
    ),
    (
        "/trickle",
        "sends the head, then a chunked body of one byte a second, forever",
    ),
    (
        "/trickle-head",
        "sends the status line and headers one byte a second",
    ),
    ("/huge", "Content-Length: 1 GB and the 1 GB, written lazily"),
    (
        "/huge-unsized",
        "1 GB without Content-Length (ends at close), written lazily",
    ),
    (
        "/gzip-bomb",
        "gzip of 10 GiB of zeros, ~10 MB on the wire, written lazily",
    ),
    (
        "/length-short",
        "Content-Length: 1000, 10 bytes, then closes",
    ),
    (
        "/length-long",
        "Content-Length: 5, then 40 bytes and a close",
    ),
    ("/length-conflict", "two different Content-Length headers"),
    (
        "/reset",
        "Content-Length: 100000, 1000 bytes, then a TCP reset",
    ),
    (
        "/redirect/0",
        "302 to /redirect/1, to /redirect/2, ... without end",
    ),
    ("/loop-a", "302 to /loop-b, which redirects back to /loop-a"),
    ("/redirect-file", "302 to file:///etc/passwd"),
    (
        "/invalid-utf8",
        "text/html; charset=utf-8 with bytes that are not UTF-8",
    ),
    (
        "/binary",
        "64 KiB of application/octet-stream (every byte value)",
    ),
    (
        "/deep-html",
        "<!doctype html>, 100,000 nested <div>s with end tags, one <p>",
    ),
    (
        "/deep-html-open",
        "100,000 nested <div>s, no end tags (the DOM path)",
    ),
    ("/deep-json", "a JSON array nested 100,000 deep"),
    ("/huge-header", "one 100 MB header line, written lazily"),
    ("/many-headers", "10,000 header fields of 10 bytes"),
    (
        "/h2-preface",
        "an HTTP/2 SETTINGS frame instead of an HTTP/1.1 response",
    ),
];

/// Bytes the server wrote, per large behaviour (to show what it offered past the limits).
#[derive(Debug, Default)]
pub struct Sent {
    /// Body bytes of `/huge`.
    pub huge: AtomicU64,
    /// Body bytes of `/huge-unsized`.
    pub huge_unsized: AtomicU64,
    /// Compressed bytes of `/gzip-bomb`.
    pub bomb_wire: AtomicU64,
    /// What those bytes inflate to.
    pub bomb_inflated: AtomicU64,
    /// Bytes of the long header line of `/huge-header`.
    pub header: AtomicU64,
}

/// The running servers.
pub struct Hostile {
    /// `http://127.0.0.1:PORT` of the raw HTTP/1.1 server ([`PATHS`]).
    pub base: Url,
    /// `http://127.0.0.1:PORT/` of a well-behaved axum server (`200 ok`).
    pub healthy: Url,
    /// `https://127.0.0.1:PORT/` of each HTTP/2 misbehaviour.
    pub h2: Vec<(H2, Url)>,
    /// What was written.
    pub sent: Arc<Sent>,
}

impl Hostile {
    /// Start every server on a thread of its own; returns once they listen.
    pub fn start() -> Hostile {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sent = Arc::new(Sent::default());
                let base = serve_raw(Arc::new(Bodies::new()), Arc::clone(&sent)).await;
                let healthy = serve(Router::new().route("/", get(|| async { "ok" }))).await;
                let h2 = hostile_h2::serve_all().await;
                tx.send(Hostile {
                    base,
                    healthy: healthy.join("/").unwrap(),
                    h2,
                    sent,
                })
                .unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    }

    /// The URL of `path` on the raw server.
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }

    /// The URL of an HTTP/2 misbehaviour.
    pub fn h2_url(&self, which: H2) -> Url {
        self.h2.iter().find(|(w, _)| *w == which).unwrap().1.clone()
    }
}

/// Bodies built once per server (the deep documents are about 1 MB) and shared by connections.
struct Bodies {
    /// `/deep-html`.
    deep_html: Vec<u8>,
    /// `/deep-html-open`.
    deep_html_open: Vec<u8>,
    /// `/deep-json`.
    deep_json: Vec<u8>,
    /// `/binary`.
    binary: Vec<u8>,
    /// One deflate segment that inflates to 1 MiB of zeros and may be repeated at will.
    bomb_segment: Vec<u8>,
}

impl Bodies {
    fn new() -> Bodies {
        let mut deep_html = b"<!doctype html><html><head><title>deep</title></head><body>".to_vec();
        deep_html.extend("<div>".repeat(DEPTH).bytes());
        deep_html.extend_from_slice(b"<p class=\"x\">bottom</p>");
        deep_html.extend("</div>".repeat(DEPTH).bytes());
        deep_html.extend_from_slice(b"</body></html>");
        let mut deep_html_open = "<div>".repeat(DEPTH).into_bytes();
        deep_html_open.extend_from_slice(b"<p class=\"x\">bottom");
        let mut deep_json = "[".repeat(DEPTH).into_bytes();
        deep_json.extend("]".repeat(DEPTH).bytes());
        Bodies {
            deep_html,
            deep_html_open,
            deep_json,
            binary: (0..64 * 1024).map(|i| (i % 256) as u8).collect(),
            bomb_segment: bomb_segment(),
        }
    }
}

/// Raw deflate of 1 MiB of zeros from a fresh encoder, ended by a sync flush: byte-aligned,
/// not final, and with back-references only into itself, so copies of it concatenate into one
/// valid deflate stream.
fn bomb_segment() -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 1 << 20]).unwrap();
    enc.flush().unwrap();
    enc.get_ref().clone()
}

/// The raw server: one task per connection, dispatched on the request path.
async fn serve_raw(bodies: Arc<Bodies>, sent: Arc<Sent>) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let bodies = Arc::clone(&bodies);
            let sent = Arc::clone(&sent);
            tokio::spawn(async move { misbehave(stream, &bodies, &sent).await });
        }
    });
    base(addr, "http")
}

/// The path of a request head (`GET /path HTTP/1.1`).
fn path_of(head: &[u8]) -> String {
    let line = String::from_utf8_lossy(head);
    line.split_whitespace().nth(1).unwrap_or("/").to_string()
}

/// A response head with `Connection: close` and the given extra header lines.
fn head(status: &str, headers: &[&str]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Write `head` and `body` (with its Content-Length) and close.
async fn reply(stream: &mut TcpStream, content_type: &str, body: &[u8]) {
    let length = format!("content-length: {}", body.len());
    let ct = format!("content-type: {content_type}");
    let _ = stream.write_all(&head("200 OK", &[&ct, &length])).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

/// A redirect to `location`, then close.
async fn redirect(stream: &mut TcpStream, location: &str) {
    let location = format!("location: {location}");
    let _ = stream
        .write_all(&head("302 Found", &[&location, "content-length: 0"]))
        .await;
    let _ = stream.shutdown().await;
}

/// Write `total` bytes made of repeats of `unit`, counting them in `counter`; stops quietly when
/// the client goes away. Returns whether all of it was written.
async fn write_repeated(
    stream: &mut TcpStream,
    unit: &[u8],
    total: u64,
    counter: &AtomicU64,
) -> bool {
    let mut left = total;
    while left > 0 {
        let n = usize::try_from(left.min(unit.len() as u64)).unwrap();
        if stream.write_all(&unit[..n]).await.is_err() {
            return false;
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
        left -= n as u64;
    }
    true
}

/// Do what the request's path asks for.
async fn misbehave(mut stream: TcpStream, bodies: &Bodies, sent: &Sent) {
    let path = path_of(&read_head(&mut stream).await);
    match path.as_str() {
        "/silent" => tokio::time::sleep(HOLD).await,
        "/slowloris" => {
            let _ = stream
                .write_all(&head("200 OK", &["content-length: 1000000"]))
                .await;
            let _ = stream.write_all(b"0123456789").await;
            tokio::time::sleep(HOLD).await;
        }
        "/trickle" => {
            let _ = stream
                .write_all(&head("200 OK", &["transfer-encoding: chunked"]))
                .await;
            while stream.write_all(b"1\r\nx\r\n").await.is_ok() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        "/trickle-head" => {
            for byte in head("200 OK", &["content-length: 2"]) {
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        "/huge" => {
            let length = format!("content-length: {GIGABYTE}");
            let _ = stream.write_all(&head("200 OK", &[&length])).await;
            write_repeated(&mut stream, &[b'x'; CHUNK], GIGABYTE, &sent.huge).await;
        }
        "/huge-unsized" => {
            let _ = stream.write_all(&head("200 OK", &[])).await;
            write_repeated(&mut stream, &[b'x'; CHUNK], GIGABYTE, &sent.huge_unsized).await;
            let _ = stream.shutdown().await;
        }
        "/gzip-bomb" => gzip_bomb(&mut stream, &bodies.bomb_segment, sent).await,
        "/length-short" => {
            let _ = stream
                .write_all(&head("200 OK", &["content-length: 1000"]))
                .await;
            let _ = stream.write_all(b"0123456789").await;
            let _ = stream.shutdown().await;
        }
        "/length-long" => {
            let _ = stream
                .write_all(&head("200 OK", &["content-length: 5"]))
                .await;
            let _ = stream
                .write_all(b"hello, and the rest the length hides")
                .await;
            let _ = stream.shutdown().await;
        }
        "/length-conflict" => {
            let headers = ["content-length: 10", "content-length: 20"];
            let _ = stream.write_all(&head("200 OK", &headers)).await;
            let _ = stream.write_all(b"0123456789").await;
            let _ = stream.shutdown().await;
        }
        "/reset" => {
            let _ = stream
                .write_all(&head("200 OK", &["content-length: 100000"]))
                .await;
            let _ = stream.write_all(&[b'r'; 1000]).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            // Linger 0: close with a RST, not a FIN.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        p if p.starts_with("/redirect/") => {
            let n: u64 = p["/redirect/".len()..].parse().unwrap_or(0);
            redirect(&mut stream, &format!("/redirect/{}", n + 1)).await;
        }
        "/loop-a" => redirect(&mut stream, "/loop-b").await,
        "/loop-b" => redirect(&mut stream, "/loop-a").await,
        "/redirect-file" => redirect(&mut stream, "file:///etc/passwd").await,
        "/invalid-utf8" => {
            let body = b"<!doctype html><html><body><p>caf\xe9 \xff\xfe</p></body></html>";
            reply(&mut stream, "text/html; charset=utf-8", body).await;
        }
        "/binary" => reply(&mut stream, "application/octet-stream", &bodies.binary).await,
        "/deep-html" => reply(&mut stream, "text/html", &bodies.deep_html).await,
        "/deep-html-open" => reply(&mut stream, "text/html", &bodies.deep_html_open).await,
        "/deep-json" => reply(&mut stream, "application/json", &bodies.deep_json).await,
        "/huge-header" => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nx-huge: ").await;
            if write_repeated(&mut stream, &[b'h'; CHUNK], HEADER_LINE, &sent.header).await {
                let _ = stream.write_all(b"\r\ncontent-length: 0\r\n\r\n").await;
            }
            let _ = stream.shutdown().await;
        }
        "/many-headers" => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
            let _ = stream.write_all(&b"x-many: 1\r\n".repeat(10_000)).await;
            let _ = stream.write_all(b"content-length: 0\r\n\r\n").await;
            let _ = stream.shutdown().await;
        }
        "/h2-preface" => {
            let _ = stream.write_all(&hostile_h2::frame(4, 0, 0, &[])).await;
            tokio::time::sleep(HOLD).await;
        }
        _ => reply(&mut stream, "text/plain", b"no such misbehaviour").await,
    }
}

/// A gzip stream that inflates to [`BOMB_INFLATED`] zeros: the gzip header, then copies of the
/// 1 MiB segment as the client reads them. (No trailer: no client should get that far.)
async fn gzip_bomb(stream: &mut TcpStream, segment: &[u8], sent: &Sent) {
    let _ = stream
        .write_all(&head(
            "200 OK",
            &["content-encoding: gzip", "content-type: text/html"],
        ))
        .await;
    let gzip_header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    if stream.write_all(&gzip_header).await.is_err() {
        return;
    }
    for _ in 0..BOMB_INFLATED >> 20 {
        if stream.write_all(segment).await.is_err() {
            return;
        }
        sent.bomb_wire
            .fetch_add(segment.len() as u64, Ordering::Relaxed);
        sent.bomb_inflated.fetch_add(1 << 20, Ordering::Relaxed);
    }
    let _ = stream.shutdown().await;
}
