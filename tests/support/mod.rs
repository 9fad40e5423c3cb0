//! Test servers shared by the integration tests: axum routers on 127.0.0.1:0, raw TCP misbehaviours and a
//! TLS server with a self-signed certificate.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use url::Url;

/// Serve `router` over plain HTTP; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: Router) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    base(addr, "http")
}

/// `scheme://addr`.
pub fn base(addr: SocketAddr, scheme: &str) -> Url {
    Url::parse(&format!("{scheme}://{addr}")).unwrap()
}

/// A self-signed certificate for `localhost`/127.0.0.1 valid until `not_after`.
pub struct TestCert {
    /// DER of the certificate.
    pub cert: CertificateDer<'static>,
    /// PKCS#8 DER of its key.
    pub key: Vec<u8>,
    /// `notAfter` as Unix seconds.
    pub not_after: i64,
}

impl TestCert {
    /// A TLS acceptor presenting this certificate and offering the `alpn` protocols.
    pub fn acceptor(&self, alpn: &[&[u8]]) -> TlsAcceptor {
        let mut config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsAcceptor::from(Arc::new(config))
    }
}

/// Make a self-signed certificate expiring at midnight UTC of the given day.
pub fn self_signed(year: i32, month: u8, day: u8) -> TestCert {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(year, month, day);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    TestCert {
        cert: cert.der().clone(),
        key: key.serialize_der(),
        not_after: params.not_after.unix_timestamp(),
    }
}

/// Serve `router` over TLS with `cert`; returns `https://127.0.0.1:PORT`.
pub async fn serve_tls(router: Router, cert: &TestCert) -> Url {
    let acceptor = cert.acceptor(&[b"h2", b"http/1.1"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                // A client that rejects our certificate aborts the handshake: ignore that.
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                }
            });
        }
    });
    base(addr, "https")
}

/// Read one request head (up to the blank line) from `stream`.
pub async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// A raw server: for each connection, read the request head and write `reply`, then keep the
/// socket open for a minute (so a short reply with a larger Content-Length stalls the body).
pub async fn raw_then_stall(reply: &'static [u8]) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut stream).await;
                let _ = stream.write_all(reply).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                drop(stream);
            });
        }
    });
    base(addr, "http")
}

/// A raw server: for each connection, read the request head, write `reply` and close.
pub async fn raw_then_close(reply: &'static [u8]) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut stream).await;
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base(addr, "http")
}

/// A server that accepts connections and never answers.
pub async fn black_hole() -> Url {
    raw_then_stall(b"").await
}

/// A server that closes the first `fail_first` connections without answering, then answers
/// `200 ok`. Returns its URL and the number of connections it accepted.
pub async fn flaky(fail_first: usize) -> (Url, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                read_head(&mut stream).await;
                if n < fail_first {
                    // Reset instead of a graceful close (linger 0 does not block on drop).
                    #[allow(deprecated)]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    drop(stream);
                    return;
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (base(addr, "http"), seen)
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    base(addr, "http")
}

/// Counts requests in flight and remembers the highest count seen.
#[derive(Debug, Default)]
pub struct InFlight {
    /// In flight now.
    pub now: AtomicUsize,
    /// Highest value of `now`.
    pub max: AtomicUsize,
    /// Requests seen in all.
    pub total: AtomicUsize,
}

impl InFlight {
    /// Count one request for `hold`, then release it.
    pub async fn hold(&self, hold: Duration) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(hold).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// gzip `data` with flate2.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A valid brotli stream holding `data` in one uncompressed meta-block (RFC 7932 §9.2):
/// WBITS=16, a non-last meta-block with MNIBBLES=4 and ISUNCOMPRESSED=1, the raw bytes, then
/// an empty last meta-block.
pub fn brotli_stored(data: &[u8]) -> Vec<u8> {
    assert!(!data.is_empty() && data.len() <= 65536);
    let mlen_minus_1 = (data.len() - 1) as u32;
    // bit 0: WBITS=0 (16); bit 1: ISLAST=0; bits 2-3: MNIBBLES=0 (4 nibbles);
    // bits 4-19: MLEN-1; bit 20: ISUNCOMPRESSED=1; bits 21-23: padding.
    let header: u32 = (mlen_minus_1 << 4) | (1 << 20);
    let mut out = header.to_le_bytes()[..3].to_vec();
    out.extend_from_slice(data);
    out.push(0b11); // ISLAST=1, ISLASTEMPTY=1
    out
}
