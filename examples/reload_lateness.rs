//! How late scheduled checks start while the daemon reloads a large configuration.
//!
//! Usage: `cargo run --release --example reload_lateness -- [TARGETS] [SECONDS]`
//!
//! Serves `ok` on 127.0.0.1 (its own thread and runtime), writes one spec of TARGETS targets
//! (default 10000) on `@every 1m` against it, and runs the daemon (`dcrawl::daemon::run`, the
//! code of `dcrawl run`) on that spec. Then it reads `dcrawl_schedule_lateness_seconds` over
//! three windows of SECONDS (default 20): a quiet one, one in which the spec is rewritten with
//! the same text every 2 s (each rewrite is a reload that reads and compiles every target and
//! changes none), and a quiet one again. For each window it prints how many runs started and how many of them
//! started more than 10 ms, 50 ms, 250 ms and 1 s after their due time; first it prints how
//! long one load of the spec takes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dcrawl::daemon::{self, Loader, RunOptions};
use dcrawl::fetch::FetchOptions;
use dcrawl::shard::Shard;

/// The lateness buckets reported (upper bounds in seconds, as in the histogram).
const REPORTED: [&str; 4] = ["0.01", "0.05", "0.25", "1.0"];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let targets: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(20), |a| a.parse())?;
    if targets == 0 || seconds == 0 {
        bail!("usage: reload_lateness [TARGETS] [SECONDS] (both positive)");
    }
    let site = serve_ok()?;
    let dir = tempfile::tempdir()?;
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs)?;
    let spec = spec_text(targets, site);
    let file = specs.join("load.yaml");
    write_atomic(&file, &spec)?;

    let started = Instant::now();
    let loaded = dcrawl::load::load_files(
        std::slice::from_ref(&specs),
        &[],
        &dcrawl::spec::process_env,
    )
    .map_err(|d| anyhow::anyhow!("the generated spec is invalid:\n{d}"))?;
    println!(
        "one load of {} targets: {:.0} ms",
        loaded.specs.targets().count(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure(dir.path(), &specs, &file, &spec, seconds))
}

/// Run the daemon on `specs`, then read the two windows.
async fn measure(
    dir: &Path,
    specs: &Path,
    file: &Path,
    spec: &str,
    seconds: u64,
) -> anyhow::Result<()> {
    let options = RunOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        watch: vec![specs.to_path_buf()],
        fetch: FetchOptions::default(),
        shutdown_grace: Duration::from_secs(5),
        state_dir: dir.join("state"),
        external_url: None,
        web_config: None,
        shard: Shard::WHOLE,
    };
    let paths = vec![specs.to_path_buf()];
    let loader: Loader =
        Box::new(move || dcrawl::load::load_files(&paths, &[], &dcrawl::spec::process_env));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(daemon::run(
        options,
        loader,
        async move {
            let _ = stop_rx.await;
        },
        move |base| {
            let _ = ready_tx.send(base.to_string());
        },
    ));
    let base = ready_rx.await.context("the daemon did not start")?;
    let http = reqwest::Client::new();
    // Let every target start its task and the runs settle into their schedule.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let window = Duration::from_secs(seconds);

    let before = lateness(&http, &base).await?;
    tokio::time::sleep(window).await;
    let quiet = lateness(&http, &base).await?;
    report("quiet", &before, &quiet, 0);

    let end = Instant::now() + window;
    let mut rewrites = 0;
    while Instant::now() < end {
        write_atomic(file, spec)?;
        rewrites += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let reloading = lateness(&http, &base).await?;
    report("reloading", &quiet, &reloading, rewrites);
    tokio::time::sleep(window).await;
    let after = lateness(&http, &base).await?;
    report("quiet", &reloading, &after, 0);

    let _ = stop_tx.send(());
    daemon.await??;
    Ok(())
}

/// `dcrawl_schedule_lateness_seconds`: (upper bound, cumulative count) per bucket.
async fn lateness(http: &reqwest::Client, base: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let prefix = "dcrawl_schedule_lateness_seconds_bucket{le=\"";
    Ok(text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            Some((le.to_string(), count.trim().parse().ok()?))
        })
        .collect())
}

/// Print the runs of one window (the difference of two readings) by lateness.
fn report(name: &str, from: &[(String, f64)], to: &[(String, f64)], rewrites: u32) {
    let count = |reading: &[(String, f64)], le: &str| {
        reading
            .iter()
            .find(|(l, _)| l == le)
            .map_or(0.0, |(_, n)| *n)
    };
    let runs = count(to, "+Inf") - count(from, "+Inf");
    let late: Vec<String> = REPORTED
        .iter()
        .map(|le| {
            let on_time = count(to, le) - count(from, le);
            format!("> {le} s: {}", runs - on_time)
        })
        .collect();
    println!(
        "{name:>9}: {rewrites} rewrites, {runs} runs; late {}",
        late.join(", ")
    );
}

/// One spec of `n` targets on `@every 1m` against `site`.
fn spec_text(n: usize, site: SocketAddr) -> String {
    let mut s = String::from("name: load\nschedule: \"@every 1m\"\ntargets:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - name: t{i}\n    url: http://{site}/t/{i}\n    expect: {{status: 200, body: {{contains: ok}}}}\n"
        ));
    }
    s
}

/// Answer `ok` to everything, on a thread and runtime of its own (so that the server's work
/// does not count as the daemon's lateness).
fn serve_ok() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(async move {
                let app = axum::Router::new().fallback(|| async { "ok" });
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(listener, app).await;
                }
            });
        }
    });
    Ok(addr)
}

/// Write through a temporary file and a rename, so a reload never reads half a file.
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp: PathBuf = path.with_extension("tmp~");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
