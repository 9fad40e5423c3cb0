//! Compiling `crawl:` and `expect_each:` of a target.

use super::expect::{css, expect, regex};
use super::exprs::compile_css;
use super::keys::CRAWL;
use super::walk::{Fields, Walk};
use crate::config::yaml::{Node, Value};
use crate::model::{
    Crawl, DEFAULT_CRAWL_CONCURRENCY, DEFAULT_CRAWL_FOLLOW, DEFAULT_CRAWL_MAX_DEPTH,
    DEFAULT_CRAWL_MAX_PAGES,
};

/// `crawl` and `expect_each` of a target's fields: `None` when the target does not crawl (or
/// `crawl` is invalid; problems are recorded in `ctx`).
pub(crate) fn crawl(ctx: &mut Walk<'_>, target: &Fields<'_>) -> Option<Crawl> {
    let expect_each = target.entry("expect_each");
    // `expect_each` without `crawl` is reported by the key table.
    let node = target.get("crawl")?;
    let expect_each = expect_each.map(|(_, n)| expect(ctx, n)).unwrap_or_default();
    let f = ctx.fields(node, &CRAWL)?;
    let follow = match f.get("follow") {
        Some(n) => css(ctx, n),
        None => compile_css(DEFAULT_CRAWL_FOLLOW).ok(),
    };
    // `Some(None)`: no sitemap; `None`: an invalid one (already reported).
    let sitemap = match f.get("sitemap") {
        Some(n) => ctx.url(n).map(Some),
        None => Some(None),
    };
    let include = f
        .get("include")
        .map(|n| regexes(ctx, n))
        .unwrap_or_default();
    let exclude = f
        .get("exclude")
        .map(|n| regexes(ctx, n))
        .unwrap_or_default();
    // Ranges come from the key table.
    let number = |ctx: &mut Walk<'_>, key: &str, default: u32| match f.get(key) {
        Some(_) => ctx.int_key(&f, key),
        None => Some(default),
    };
    let max_depth = number(ctx, "max_depth", DEFAULT_CRAWL_MAX_DEPTH);
    let max_pages = number(ctx, "max_pages", DEFAULT_CRAWL_MAX_PAGES);
    let concurrency = number(ctx, "concurrency", DEFAULT_CRAWL_CONCURRENCY);
    let robots = match f.get("robots") {
        Some(n) => ctx.bool(n, "a boolean"),
        None => Some(true),
    };
    Some(Crawl {
        follow: follow?,
        sitemap: sitemap?,
        include,
        exclude,
        max_depth: max_depth?,
        max_pages: max_pages?,
        concurrency: concurrency?,
        robots: robots?,
        expect_each,
    })
}

/// A regex or a list of them.
fn regexes(ctx: &mut Walk<'_>, node: &Node) -> Vec<regex::Regex> {
    match &node.value {
        Value::Seq(items) => items.iter().filter_map(|n| regex(ctx, n)).collect(),
        _ => regex(ctx, node).into_iter().collect(),
    }
}
