//! End-to-end: the HTTP endpoints of `dcrawl run` secured and bounded by `--web-config` —
//! credentials, TLS, the header and request timeouts, the connection cap, and their reload —
//! against the real binary on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/daemon.rs"]
mod daemon_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daemon_support::{Daemon, run_to_exit, sample, write_atomic};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USER: &str = "alice";
const PASSWORD: &str = "wonder-land";
const TOKEN: &str = "tok3n-0f-the-day";

/// A folder with one spec (a target on a closed loopback port, checked hourly) and, when given,
/// `web.yml`; returns (folder, specs path, web config path).
fn setup(web: Option<&str>) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(
        specs.join("s.yaml"),
        "name: s\nschedule: \"@every 1h\"\ntargets:\n  - name: t\n    url: http://127.0.0.1:9/\n",
    )
    .unwrap();
    let file = dir.path().join("web.yml");
    if let Some(text) = web {
        std::fs::write(&file, text).unwrap();
    }
    (dir, specs, file)
}

async fn start(specs: &Path, web: Option<&Path>) -> Daemon {
    let mut args = vec![
        "--specs".into(),
        specs.as_os_str().to_owned(),
        "--log-format".into(),
        "json".into(),
    ];
    if let Some(web) = web {
        args.extend(["--web-config".into(), web.as_os_str().to_owned()]);
    }
    Daemon::start(args).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn credentials(protect_metrics: bool) -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    format!(
        "basic_auth_users:\n  {USER}: \"{hash}\"\nbearer_tokens: [\"{TOKEN}\"]\n\
         protect_metrics: {protect_metrics}\n"
    )
}

async fn status(req: reqwest::RequestBuilder) -> StatusCode {
    req.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_guard_the_status_page_and_the_api() {
    let (_dir, specs, web) = setup(Some(&credentials(false)));
    let d = start(&specs, Some(&web)).await;
    let http = client();
    for path in ["/", "/api/v1/status"] {
        let url = format!("{}{path}", d.base);
        let refused = http.get(&url).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
        let challenges: Vec<&str> = refused
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            challenges.iter().any(|c| c.starts_with("Basic realm=")),
            "{challenges:?}"
        );
        assert!(
            challenges.iter().any(|c| c.starts_with("Bearer realm=")),
            "{challenges:?}"
        );
        for wrong in [
            http.get(&url).basic_auth(USER, Some("wrong")),
            http.get(&url).basic_auth("mallory", Some(PASSWORD)),
            http.get(&url).bearer_auth("not-the-token"),
            http.get(&url).bearer_auth(PASSWORD),
        ] {
            assert_eq!(status(wrong).await, StatusCode::UNAUTHORIZED, "{path}");
        }
        let by_password = http.get(&url).basic_auth(USER, Some(PASSWORD));
        assert_eq!(status(by_password).await, StatusCode::OK, "{path}");
        assert_eq!(
            status(http.get(&url).bearer_auth(TOKEN)).await,
            StatusCode::OK
        );
    }
    let body = http
        .get(format!("{}/api/v1/status", d.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["specs"][0]["name"], "s", "{doc}");
    // Open by default: Prometheus scrapes without credentials; probes always get /healthz.
    let metrics = http
        .get(format!("{}/metrics", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.text().await.unwrap().contains("dcrawl_targets"));
    let healthz = http.get(format!("{}/healthz", d.base));
    assert_eq!(status(healthz).await, StatusCode::OK);
    let log = d.log();
    assert!(!log.contains(TOKEN) && !log.contains(PASSWORD), "{log}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_metrics_closes_metrics_but_never_healthz() {
    let (_dir, specs, web) = setup(Some(&credentials(true)));
    let d = start(&specs, Some(&web)).await;
    let http = client();
    let metrics = format!("{}/metrics", d.base);
    assert_eq!(status(http.get(&metrics)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(http.get(&metrics).bearer_auth(TOKEN)).await,
        StatusCode::OK
    );
    let by_password = http.get(&metrics).basic_auth(USER, Some(PASSWORD));
    assert_eq!(status(by_password).await, StatusCode::OK);
    let healthz = http.get(format!("{}/healthz", d.base));
    assert_eq!(status(healthz).await, StatusCode::OK);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_with_the_configured_certificate() {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    let text = format!(
        "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n\
         limits: {{header_read_timeout: 1s}}\n{}",
        credentials(false)
    );
    let (dir, specs, web) = setup(Some(&text));
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls/server.key"), key.serialize_pem()).unwrap();
    let d = start(&specs, Some(&web)).await;
    assert!(
        d.log()
            .contains(&format!("status page https://{}/", d.addr))
    );

    let https = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("https://{}", d.addr);
    assert_eq!(
        status(https.get(format!("{base}/healthz"))).await,
        StatusCode::OK
    );
    let api = format!("{base}/api/v1/status");
    assert_eq!(status(https.get(&api)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(https.get(&api).bearer_auth(TOKEN)).await,
        StatusCode::OK
    );
    // Nothing is served in the clear on the TLS port.
    let plain = client()
        .get(format!("http://{}/healthz", d.addr))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    // A client that never starts its handshake is disconnected after the header timeout.
    let started = Instant::now();
    let (mut silent, _write) = TcpStream::connect(d.addr).await.unwrap().into_split();
    let closed = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut silent)).await;
    assert!(closed.is_ok(), "still open after 10 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    d.stop().await;
}

/// Deadline for a reload triggered by a file change (debounce, reload, a request).
const RELOAD_WITHIN: Duration = Duration::from_secs(20);

/// A self-signed certificate for localhost and 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A client that trusts only `cert_pem` and opens a new connection for each request.
fn https_trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_bearer_token_applies_after_the_web_config_changes() {
    let (_dir, specs, web) = setup(Some(&credentials(false)));
    let d = start(&specs, Some(&web)).await;
    let http = client();
    let api = format!("{}/api/v1/status", d.base);
    assert_eq!(
        status(http.get(&api).bearer_auth(TOKEN)).await,
        StatusCode::OK
    );
    let rotated = "r0tated-t0ken";
    write_atomic(&web, &format!("bearer_tokens: [\"{rotated}\"]\n"));
    d.until("the rotated token", RELOAD_WITHIN, || async {
        let new = status(http.get(&api).bearer_auth(rotated)).await;
        if new == StatusCode::OK {
            Ok(())
        } else {
            Err(format!("the new token got {new}"))
        }
    })
    .await;
    assert_eq!(
        status(http.get(&api).bearer_auth(TOKEN)).await,
        StatusCode::UNAUTHORIZED
    );
    // The users went with the rest of the old file.
    let by_password = http.get(&api).basic_auth(USER, Some(PASSWORD));
    assert_eq!(status(by_password).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sample(&d.metrics().await, "dcrawl_config_reload_success"),
        Some(1.0)
    );
    let log = d.log();
    assert!(!log.contains(TOKEN) && !log.contains(rotated), "{log}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_serves_new_connections_without_a_restart() {
    let (old_cert, old_key) = certificate();
    let text = "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n";
    let (dir, specs, web) = setup(Some(text));
    let tls = dir.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    std::fs::write(tls.join("server.crt"), &old_cert).unwrap();
    std::fs::write(tls.join("server.key"), &old_key).unwrap();
    let d = start(&specs, Some(&web)).await;
    let healthz = format!("https://{}/healthz", d.addr);
    let metrics = format!("https://{}/metrics", d.addr);
    assert_eq!(
        status(https_trusting(&old_cert).get(&healthz)).await,
        StatusCode::OK
    );
    assert!(https_trusting(&old_cert).get(&metrics).send().await.is_ok());

    // As a renewer does: new files renamed over the old ones.
    let (new_cert, new_key) = certificate();
    write_atomic(&tls.join("server.key"), &new_key);
    write_atomic(&tls.join("server.crt"), &new_cert);
    d.until("the renewed certificate", RELOAD_WITHIN, || async {
        match https_trusting(&new_cert).get(&healthz).send().await {
            Ok(r) if r.status() == StatusCode::OK => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let old = https_trusting(&old_cert).get(&healthz).send().await;
    assert!(old.is_err(), "the old certificate is still served: {old:?}");
    let text = https_trusting(&new_cert)
        .get(&metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sample(&text, "dcrawl_config_reload_success"), Some(1.0));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_web_config_on_reload_is_rejected_and_the_old_one_keeps_serving() {
    let (dir, specs, web) = setup(Some(&credentials(false)));
    let d = start(&specs, Some(&web)).await;
    let http = client();
    let api = format!("{}/api/v1/status", d.base);
    let shown = web.display().to_string();
    let reload_failed = |m: &str| sample(m, "dcrawl_config_reload_success") == Some(0.0);

    write_atomic(&web, "bearer_tokens: [\"new token\"]\n");
    d.until_metrics("the rejected reload", RELOAD_WITHIN, reload_failed)
        .await;
    let log = d.log();
    let error = format!("{shown}:1:17: this bearer token has a character other than");
    assert!(log.contains(&error), "{error} not in:\n{log}");
    assert!(log.contains("new configuration rejected"), "{log}");
    assert!(!log.contains("new token"), "{log}");
    assert_eq!(
        status(http.get(&api).bearer_auth(TOKEN)).await,
        StatusCode::OK
    );
    assert_eq!(status(http.get(&api)).await, StatusCode::UNAUTHORIZED);

    // Back to valid, then valid but with TLS turned on: rejected, it needs a restart.
    write_atomic(&web, &credentials(false));
    d.until_metrics("the reload after the fix", RELOAD_WITHIN, |m| {
        sample(m, "dcrawl_config_reload_success") == Some(1.0)
    })
    .await;
    let (cert, key) = certificate();
    std::fs::write(dir.path().join("s.crt"), cert).unwrap();
    std::fs::write(dir.path().join("s.key"), key).unwrap();
    let with_tls = format!(
        "tls_server_config: {{cert_file: s.crt, key_file: s.key}}\n{}",
        credentials(false)
    );
    write_atomic(&web, &with_tls);
    d.until_metrics("the rejected TLS switch", RELOAD_WITHIN, reload_failed)
        .await;
    let error = format!("{shown}:1:20: TLS cannot be turned on or off by a reload; restart dcrawl");
    let log = d.log();
    assert!(log.contains(&error), "{error} not in:\n{log}");
    assert_eq!(
        status(http.get(&api).bearer_auth(TOKEN)).await,
        StatusCode::OK
    );
    d.stop().await;
}

/// Read until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut tokio::net::tcp::OwnedReadHalf) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got).await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_disconnected_after_the_default_header_timeout_while_others_are_served() {
    let (_dir, specs, _) = setup(None);
    let d = start(&specs, None).await;
    let started = Instant::now();
    let (mut read, mut write) = TcpStream::connect(d.addr).await.unwrap().into_split();
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let closed = tokio::spawn(async move {
        read_to_close(&mut read).await;
        started.elapsed()
    });
    let trickle = tokio::spawn(async move {
        for _ in 0..30 {
            if write.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let http = client();
    let mut served = 0;
    while !closed.is_finished() && started.elapsed() < Duration::from_secs(30) {
        let healthz = http.get(format!("{}/healthz", d.base));
        assert_eq!(status(healthz).await, StatusCode::OK);
        served += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = closed.await.unwrap();
    trickle.abort();
    assert!(
        after >= Duration::from_secs(4) && after < Duration::from_secs(12),
        "the slow client was disconnected after {after:?}; expected about 5 s"
    );
    assert!(served >= 5, "only {served} requests served meanwhile");

    // GET only, and a declared body is never waited for.
    let mut raw = TcpStream::connect(d.addr).await.unwrap();
    raw.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(3), raw.read_exact(&mut head))
        .await
        .expect("an answer without the body")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 405");

    // Request heads are bounded: an oversized one gets 431, or a reset when the server closes
    // with the rest of the head unread; never an answer.
    let mut raw = TcpStream::connect(d.addr).await.unwrap();
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let _ = raw.write_all(big.as_bytes()).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), raw.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection stayed open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_over_the_connection_cap_wait_and_are_served_once_connections_close() {
    let limits = "limits: {max_connections: 4, header_read_timeout: 30s}\n";
    let (_dir, specs, web) = setup(Some(limits));
    let d = start(&specs, Some(&web)).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(d.addr).await.unwrap());
    }
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let blocked = quick.get(format!("{}/healthz", d.base)).send().await;
    assert!(
        blocked.as_ref().is_err_and(|e| e.is_timeout()),
        "answered while 4 idle connections held every slot: {blocked:?}"
    );
    drop(idle);
    let started = Instant::now();
    let healthz = client().get(format!("{}/healthz", d.base));
    assert_eq!(status(healthz).await, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_frees_a_connection_whose_client_does_not_read() {
    let limits = "limits: {max_connections: 1, header_read_timeout: 30s, request_timeout: 2s}\n";
    let (_dir, specs, web) = setup(Some(limits));
    let d = start(&specs, Some(&web)).await;
    let mut greedy = TcpStream::connect(d.addr).await.unwrap();
    greedy
        .write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let healthz = client().get(format!("{}/healthz", d.base));
    assert_eq!(status(healthz).await, StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(6),
        "served after {waited:?}; expected once the 2 s request timeout closed the other connection"
    );
    drop(greedy);
    d.stop().await;
}

#[test]
fn an_invalid_web_config_is_reported_with_positions_and_exit_2() {
    let bad = "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\nbasic_auth_users:\n  \
               bob: plain-password\nlimits: {max_conections: 9}\n";
    let (dir, specs, web) = setup(Some(bad));
    let shown = web.display().to_string();
    let expected = [
        format!("{shown}:2:14: cannot read the certificate file "),
        format!("{shown}:5:8: invalid bcrypt hash for user \"bob\""),
        format!("{shown}:6:10: unknown key `max_conections` in limits"),
    ];
    let state = dir.path().join("state");
    let (code, stderr) = run_to_exit(
        [
            "run".as_ref(),
            "--specs".as_ref(),
            specs.as_os_str(),
            "--web-config".as_ref(),
            web.as_os_str(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--state-dir".as_ref(),
            state.as_os_str(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code.code(), Some(2), "{stderr}");
    for line in &expected {
        assert!(stderr.contains(line.as_str()), "{line} not in:\n{stderr}");
    }
    assert!(!stderr.contains("plain-password"), "{stderr}");

    let validate = |web: &Path| {
        run_to_exit(
            [
                "validate".as_ref(),
                "--specs".as_ref(),
                specs.as_os_str(),
                "--web-config".as_ref(),
                web.as_os_str(),
            ],
            Duration::from_secs(30),
        )
    };
    let (code, stderr) = validate(&web);
    assert_eq!(code.code(), Some(2), "{stderr}");
    for line in &expected {
        assert!(stderr.contains(line.as_str()), "{line} not in:\n{stderr}");
    }
    std::fs::write(&web, credentials(true)).unwrap();
    let (code, stderr) = validate(&web);
    assert_eq!(code.code(), Some(0), "{stderr}");
}

#[test]
fn web_config_reference_doc_is_current() {
    let path = "docs/web-config.md";
    let generated = dcrawl::server::web_config::reference_markdown();
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{path} is out of date: run `UPDATE_REFERENCE=1 cargo test --test endpoints`"
    );
    for key in [
        "cert_file",
        "basic_auth_users",
        "bearer_tokens",
        "protect_metrics",
        "max_connections",
    ] {
        assert!(generated.contains(&format!("| `{key}` |")), "{key}");
    }
}
