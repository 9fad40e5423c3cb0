//! dcrawl — a declarative application-level monitoring crawler.
//!
//! Data flows through the modules in this order:
//!
//! 1. [`spec`] loads YAML spec files, interpolates `${VAR}`, validates everything at once with
//!    `FILE:LINE:COLUMN` diagnostics and compiles the result into the [`model`].
//! 2. [`runner`] runs targets concurrently (once for `check`); a crawl target is handed to
//!    `crawl`, which follows its links and sitemap and checks every page it reaches.
//! 3. [`fetch`] performs the HTTP request under global and per-host bounds, with whole-body
//!    timeouts, size limits, redirects and retries.
//! 4. [`evaluate`] checks the response against the expectations (status, headers, body, HTML via
//!    CSS selectors, JSON via JSONPath, TLS) and extracts values.
//! 5. [`result`] holds the verdicts, which [`report`] renders for people and machines.
//!
//! `dcrawl run` takes the same check path on a schedule: [`daemon`] keeps one task per target
//! that sleeps until its `scheduler` due time, runs the page check (steps 2–4) and records the
//! result in [`metrics`], `status` and [`alert`] (state machine, durable outbox, channels);
//! reloads are read and compiled off the async workers. [`server`] serves `/metrics`, the
//! status page and `/healthz` from a [`server::ServerHandle`] (metrics, status and `health`,
//! which the target tasks and the reload loop keep current).
//!
//! With `--shard I/N`, [`shard`] picks the targets this process checks out of the whole
//! configuration (a stable hash of `spec/target`, then a jump consistent hash).
//!
//! [`history`] keeps every run of `dcrawl run` in the state directory, rolled up into uptime,
//! incidents and latency for the status page, `/api/v1/history`, badges and `dcrawl report`.
//!
//! [`schema`] turns the same key tables that [`spec`] walks into the JSON Schema of spec, alert
//! and web config files that editors use (`dcrawl schema`).
//!
//! [`render`] runs pages in supervised headless Chromium browsers (a pool that leaks no browser
//! process) for targets that need their scripts run.
//!
//! [`demo`] serves a small built-in shop used by `dcrawl demo` and the tests.
//!
//! # What is public
//!
//! The public modules are what the `dcrawl` binary, the integration tests, the examples and the
//! benchmarks use: loading ([`spec`], [`load`], [`alert::config`]), the [`model`], checking
//! ([`fetch`], [`evaluate`], [`runner`], [`render`]), the [`result`] and its [`report`], the
//! daemon ([`daemon`], [`metrics`], [`server`] with its [`server::ServerHandle`] parts,
//! [`alert`], [`history`], [`shard`]), [`schema`], [`demo`] and the [`cli`] definitions. The
//! rest is internal (`pub(crate)`): the config-file layer under `spec` and the alert files
//! (positioned YAML, the key walker, `${VAR}`, units), the page check every kind of target
//! shares, crawling, flows, the scheduler's timing, the status and health stores (reached
//! through [`server`]), screenshots and redaction. Every public item is documented
//! (`missing_docs`) and nothing is `pub` that cannot be reached from outside
//! (`unreachable_pub`).

#![warn(missing_docs, unreachable_pub)]

pub mod alert;
pub mod cli;
pub(crate) mod config;
pub(crate) mod crawl;
pub mod daemon;
pub mod demo;
pub mod evaluate;
pub mod fetch;
pub(crate) mod flow;
pub(crate) mod health;
pub mod history;
pub mod load;
pub mod metrics;
pub mod model;
pub(crate) mod page;
pub(crate) mod redact;
pub mod render;
pub mod report;
pub mod result;
pub mod runner;
pub(crate) mod scheduler;
pub mod schema;
pub(crate) mod screenshots;
pub mod server;
pub mod shard;
pub mod spec;
pub(crate) mod status;
