//! The ceiling for any checker on dcrawl's HTTP stack: a bare reqwest loop (tokio,
//! `buffer_unordered`, keep-alive, whole bodies read, nothing checked) over a list of URLs.
//!
//! Usage: `cargo run --release --example bare_loop -- URL_FILE [CONCURRENCY]`
//!
//! Makes one GET per line of URL_FILE (blank lines skipped) with CONCURRENCY (default 64)
//! requests in flight, then prints one line:
//! `bare_loop: N requests, E errors, S s, R req/s` (E: transport errors and non-2xx statuses).
//! `scripts/bench` runs it next to `dcrawl check` on the same URLs.

use std::time::Instant;

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        bail!("usage: bare_loop URL_FILE [CONCURRENCY]");
    };
    let concurrency: usize = match args.next() {
        Some(c) => c
            .parse()
            .context("CONCURRENCY must be a positive integer")?,
        None => 64,
    };
    if concurrency == 0 {
        bail!("CONCURRENCY must be a positive integer");
    }
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?;
    let urls = url_list(&text)?;

    let client = reqwest::Client::new();
    let started = Instant::now();
    let errors = futures_util::stream::iter(urls.iter().cloned())
        .map(|url| {
            let client = &client;
            async move {
                let response = client.get(url).send().await?;
                let ok = response.status().is_success();
                response.bytes().await?;
                Ok::<bool, reqwest::Error>(ok)
            }
        })
        .buffer_unordered(concurrency)
        .fold(0usize, |errors, r| async move {
            errors + usize::from(!matches!(r, Ok(true)))
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    let n = urls.len();
    #[allow(clippy::cast_precision_loss)] // a request count far below 2^52
    let rate = n as f64 / secs;
    println!("bare_loop: {n} requests, {errors} errors, {secs:.3} s, {rate:.0} req/s");
    Ok(())
}

/// One URL a line; blank lines and surrounding spaces are skipped, a bad line is an error.
fn url_list(text: &str) -> anyhow::Result<Vec<reqwest::Url>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| reqwest::Url::parse(l).with_context(|| format!("bad URL {l:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::url_list;

    #[test]
    fn url_list_skips_blank_lines_and_rejects_bad_ones() {
        let urls = url_list("http://127.0.0.1:1/a\n\n  http://127.0.0.1:1/b  \n").unwrap();
        let urls: Vec<&str> = urls.iter().map(reqwest::Url::as_str).collect();
        assert_eq!(urls, ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]);
        let err = url_list("http://127.0.0.1:1/\nnot a url\n").unwrap_err();
        assert!(err.to_string().contains("bad URL \"not a url\""), "{err}");
    }
}
