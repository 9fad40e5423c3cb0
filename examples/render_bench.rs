//! What rendering costs: renders one local single-page app many times through
//! `dcrawl::render::Renderer` and prints throughput, CPU, memory and browser processes.
//!
//! Usage: `cargo run --release --example render_bench -- [PAGES] [CONCURRENCY] [BROWSER]`
//! (defaults: 200 pages, concurrency 2, `chromium` on PATH).
//!
//! The page builds a list from a `fetch()` of a JSON endpoint; each render waits for
//! `.orders li` (so the figures are the engine's, not the 500 ms settle time after the load
//! event). Printed: renders/s; CPU seconds per render of this process and every browser process
//! (from `/proc/self/stat`, own and reaped children's times, after the shutdown has reaped
//! them all); peak resident memory of this process plus its browsers (sampled every 100 ms);
//! browser processes before, at most during and after the run; browser restarts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use dcrawl::render::{BrowserOptions, RenderRequest, Renderer};
use futures_util::StreamExt as _;
use url::Url;

/// The page: a list built by a script from a JSON endpoint.
const PAGE: &str = r#"<!doctype html><html><head><title>bench</title></head><body>
<ul class="orders"></ul>
<script>
fetch("/api/items").then(r => r.json()).then(items => {
  const list = document.querySelector(".orders");
  for (const item of items) {
    const li = document.createElement("li");
    li.textContent = item;
    list.appendChild(li);
  }
});
</script></body></html>"#;

/// Utime + stime + cutime + cstime of this process, in clock ticks.
fn cpu_ticks() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("odd /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the comm: state is 0, utime 11, stime 12, cutime 13, cstime 14.
    let mut ticks = 0;
    for i in 11..=14 {
        ticks += fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .context("odd /proc/self/stat")?;
    }
    Ok(ticks)
}

/// Resident memory of this process plus every live process whose command line mentions
/// `needle` (the browsers' profile root), in bytes.
fn rss_with_browsers(needle: &str) -> u64 {
    let mut total = 0;
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let ours = pid == me
            || std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle));
        if !ours {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        total += kib * 1024;
    }
    total
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let pages: usize = args
        .next()
        .map_or(Ok(200), |a| a.parse())
        .context("PAGES")?;
    let concurrency: usize = args
        .next()
        .map_or(Ok(2), |a| a.parse())
        .context("CONCURRENCY")?;
    let binary = args.next().unwrap_or_else(|| "chromium".to_owned());
    if pages == 0 || concurrency == 0 {
        bail!("usage: render_bench [PAGES] [CONCURRENCY] [BROWSER]");
    }

    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/api/items",
            get(|| async {
                (
                    [("content-type", "application/json")],
                    r#"["apple","pear","plum"]"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let root = std::env::temp_dir().join(format!("dcrawl-render-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let needle = root.to_string_lossy().into_owned();
    let renderer = Renderer::new(BrowserOptions {
        binary: binary.into(),
        concurrency,
        temp_dir: root.clone(),
        ..BrowserOptions::default()
    });

    let before = renderer.processes();
    let peak_rss = Arc::new(AtomicU64::new(rss_with_browsers(&needle)));
    let peak_processes = Arc::new(AtomicUsize::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (renderer, peak_rss, peak_processes, done) = (
            renderer.clone(),
            Arc::clone(&peak_rss),
            Arc::clone(&peak_processes),
            Arc::clone(&done),
        );
        let needle = needle.clone();
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak_rss.fetch_max(rss_with_browsers(&needle), Ordering::Relaxed);
                peak_processes.fetch_max(renderer.processes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let cpu_before = cpu_ticks()?;
    let started = Instant::now();
    let failures = futures_util::stream::iter(0..pages)
        .map(|_| {
            let mut request = RenderRequest::new(url.clone());
            request.wait_for = Some(".orders li".to_owned());
            request.timeout = Duration::from_secs(30);
            let renderer = &renderer;
            async move { renderer.render(request).await }
        })
        .buffer_unordered(concurrency)
        .fold(0usize, |failures, result| async move {
            match result {
                Ok(page) if page.html.contains("<li>plum</li>") => failures,
                Ok(_) => failures + 1,
                Err(e) => {
                    eprintln!("render failed: {e}");
                    failures + 1
                }
            }
        })
        .await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let during = peak_processes.load(Ordering::Relaxed);
    let restarts = renderer.restarts();
    renderer.shutdown().await;
    let after = renderer.processes();
    let cpu = (cpu_ticks()? - cpu_before) as f64 / rustix::param::clock_ticks_per_second() as f64;
    let _ = std::fs::remove_dir_all(&root);

    println!(
        "render_bench: {pages} renders ({failures} failed) at concurrency {concurrency} in {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  {:.1} renders/s, {:.3} CPU s per render (this process and its browsers)",
        pages as f64 / elapsed.as_secs_f64(),
        cpu / pages as f64
    );
    println!(
        "  peak RSS of this process plus its browsers: {} MiB",
        peak_rss.load(Ordering::Relaxed) >> 20
    );
    println!(
        "  browser processes: {before} before, at most {during} during, {after} after; {restarts} browser restarts"
    );
    if failures > 0 || after > 0 {
        bail!("{failures} renders failed, {after} browser processes left");
    }
    Ok(())
}
