//! The command line as clap types; `src/main.rs` wires each subcommand to the
//! library.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgGroup, Parser, Subcommand, ValueEnum};

use crate::fetch::{DEFAULT_CONCURRENCY, DEFAULT_PER_HOST, FetchOptions};
use crate::shard::Shard;

/// Default `--listen` of `run` and `demo`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9813";
/// Default `--url` of `silence`: `http://` and the default `--listen`.
pub const DEFAULT_DAEMON_URL: &str = "http://127.0.0.1:9813";

/// `dcrawl`: the whole command line.
#[derive(Parser)]
#[command(
    name = "dcrawl",
    version,
    about = "Declarative application-level monitoring crawler"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Load and validate spec and alert files; print every error as FILE:LINE:COLUMN.
    Validate {
        /// Spec file or folder (repeatable).
        #[arg(long = "specs", value_name = "PATH", default_value = "specs")]
        specs: Vec<PathBuf>,
        /// Alert routing file or folder (repeatable) [default: alerts, skipped when absent].
        #[arg(long = "alerts", value_name = "PATH")]
        alerts: Vec<PathBuf>,
        /// Web config file (TLS, credentials, limits of the endpoints) to check too.
        #[arg(long = "web-config", value_name = "FILE")]
        web: Option<PathBuf>,
    },
    /// Run every target once and report; exit 1 if any check failed.
    Check {
        /// Spec file or folder (repeatable).
        #[arg(long = "specs", value_name = "PATH", default_value = "specs")]
        specs: Vec<PathBuf>,
        /// Only the spec with this name.
        #[arg(long, value_name = "NAME")]
        spec: Option<String>,
        /// Only targets with this name.
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Check only shard I of N of the targets (0 <= I < N), e.g. to split a CI job.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        /// Concurrency, timeouts and the browser.
        #[command(flatten)]
        limits: Limits,
    },
    /// Run the daemon: every target on its schedule, metrics, status page, hot reload.
    Run {
        /// Spec file or folder (repeatable).
        #[arg(long = "specs", value_name = "PATH", default_value = "specs")]
        specs: Vec<PathBuf>,
        /// Alert routing file or folder (repeatable) [default: alerts, skipped when absent].
        #[arg(long = "alerts", value_name = "PATH")]
        alerts: Vec<PathBuf>,
        /// Address of the HTTP endpoints (/, /metrics, /api/v1/status, /api/v1/silences, /healthz).
        #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Directory for persistent state.
        #[arg(long = "state-dir", value_name = "DIR", default_value = ".dcrawl")]
        state_dir: PathBuf,
        /// Public URL of this instance's status page, used in alert links.
        #[arg(long = "external-url", value_name = "URL")]
        external_url: Option<String>,
        /// Log format on stderr.
        #[arg(long = "log-format", value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// Web config file: TLS, basic auth or bearer tokens, limits (docs/web-config.md).
        #[arg(long = "web-config", value_name = "FILE")]
        web_config: Option<PathBuf>,
        /// Check only shard I of N of the targets (0 <= I < N); auto/N takes I from the
        /// StatefulSet pod name in HOSTNAME (dcrawl-2 -> 2).
        #[arg(long, value_name = "I/N", env = "DCRAWL_SHARD")]
        shard: Option<Shard>,
        /// Concurrency, timeouts and the browser.
        #[command(flatten)]
        limits: Limits,
    },
    /// Silence the notifications of matching targets on a running daemon, list silences or
    /// expire one.
    Silence(SilenceArgs),
    /// Alert channel tools.
    Alert {
        /// The alert tool.
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// Start the built-in demo shop and run the daemon against it with bundled specs.
    Demo {
        /// Address of the status page and metrics.
        #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Check the shop once, print the results and exit instead of running the daemon.
        #[arg(long)]
        once: bool,
    },
    /// Print per-target uptime, incidents and latency percentiles from the state directory
    /// (no daemon needed; works while one runs). Default range: the last 30 days.
    Report {
        /// Start: an RFC 3339 time or a date (its UTC midnight) [default: 30 days before --to].
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// End: an RFC 3339 time or a date (the end of that UTC day) [default: now].
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// The state directory of `dcrawl run`.
        #[arg(long = "state-dir", value_name = "DIR", default_value = ".dcrawl")]
        state_dir: PathBuf,
        /// Only the spec with this name.
        #[arg(long, value_name = "NAME")]
        spec: Option<String>,
        /// Only targets with this name.
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
    },
    /// Print the JSON Schema of spec files (or of alert or web config files), for editors.
    Schema {
        /// Which files: spec files, alert routing files or the web config file.
        #[arg(value_enum, value_name = "FILES", default_value_t = SchemaOf::Spec)]
        of: SchemaOf,
        /// Write every schema (spec.schema.json, alerts.schema.json, web-config.schema.json)
        /// into this folder instead.
        #[arg(long, value_name = "DIR", conflicts_with = "of")]
        out: Option<PathBuf>,
    },
}

/// `dcrawl alert ...`.
#[derive(Subcommand)]
pub enum AlertCommand {
    /// Send a test notification through a channel and report whether its receiver accepted it.
    Test {
        /// The channel's name.
        #[arg(long, value_name = "NAME")]
        channel: String,
        /// Alert routing file or folder (repeatable) [default: alerts].
        #[arg(long = "alerts", value_name = "PATH")]
        alerts: Vec<PathBuf>,
    },
}

/// `dcrawl silence`: create (`--match ... --for ...`), `--list` or `--expire ID`.
#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["matchers", "list", "expire"])))]
#[command(group(ArgGroup::new("end").args(["duration", "until"])))]
pub struct SilenceArgs {
    /// Silence the targets matching KEY=VALUE: `spec`, `target` or a label name; VALUE=~REGEX
    /// matches a regex against the whole value (repeatable: all must hold).
    #[arg(long = "match", value_name = "KEY=VALUE", requires = "end")]
    pub matchers: Vec<String>,
    /// How long the silence lasts, e.g. 30m or 2h.
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// When the silence ends instead, RFC 3339 (e.g. 2026-11-25T18:00:00+01:00).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Why, for the others (shown by --list and the API).
    #[arg(long, value_name = "TEXT", requires = "matchers")]
    pub comment: Option<String>,
    /// List the active silences.
    #[arg(long)]
    pub list: bool,
    /// Expire the silence with this id now (its held notifications are sent if still true).
    #[arg(long, value_name = "ID")]
    pub expire: Option<String>,
    /// The daemon's base URL: `http://` and its --listen (https:// with a TLS web config).
    #[arg(long, value_name = "URL", default_value = DEFAULT_DAEMON_URL)]
    pub url: String,
    /// A bearer token of the daemon's web config (`bearer_tokens`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "DCRAWL_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// A user of the daemon's web config (`basic_auth_users`); needs --password.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// That user's password.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "DCRAWL_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Also trust this CA certificate (PEM) for an https:// daemon with its own certificate.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// Fetch bounds shared by `check` and `run`.
#[derive(clap::Args)]
pub struct Limits {
    /// Requests in flight in all.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = positive)]
    pub concurrency: usize,
    /// Requests in flight per host.
    #[arg(long = "per-host", value_name = "N", default_value_t = DEFAULT_PER_HOST, value_parser = positive)]
    pub per_host: usize,
    /// Refuse to connect to private, loopback and link-local addresses (checked after DNS,
    /// on every redirect and crawled page), for specs written by others.
    #[arg(long = "deny-private-networks", env = "DCRAWL_DENY_PRIVATE_NETWORKS")]
    pub deny_private_networks: bool,
    /// The Chromium binary for `render` targets (a path, or a name looked up on PATH).
    #[arg(
        long = "browser",
        value_name = "PATH",
        default_value = "chromium",
        env = "DCRAWL_BROWSER"
    )]
    pub browser: std::path::PathBuf,
    /// Pages rendered in browsers at once.
    #[arg(long = "browser-concurrency", value_name = "N", default_value_t = crate::render::DEFAULT_CONCURRENCY, value_parser = positive)]
    pub browser_concurrency: usize,
}

impl Limits {
    /// The fetcher settings these flags give.
    pub fn fetch_options(&self) -> FetchOptions {
        FetchOptions {
            concurrency: self.concurrency,
            per_host: self.per_host,
            deny_private_networks: self.deny_private_networks,
            browser: crate::render::BrowserOptions {
                binary: self.browser.clone(),
                concurrency: self.browser_concurrency,
                ..crate::render::BrowserOptions::default()
            },
        }
    }
}

/// A whole number of at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a whole number of at least 1, found {s:?}"
        )),
    }
}

/// Log format on stderr.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)] // clap would print variant docs in --help; the names say it
pub enum LogFormat {
    Text,
    Json,
}

/// Which files `dcrawl schema` describes.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)] // clap would print variant docs in --help; the names say it
pub enum SchemaOf {
    Spec,
    Alerts,
    /// The web config file (`dcrawl run --web-config FILE`).
    #[value(alias = "web-config")]
    Web,
}

/// Output format of `dcrawl report`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)] // clap would print variant docs in --help; the names say it
pub enum ReportFormat {
    Text,
    Json,
    Csv,
    Html,
}

impl ReportFormat {
    /// The library's format.
    pub fn format(self) -> crate::history::report::Format {
        use crate::history::report::Format;
        match self {
            ReportFormat::Text => Format::Text,
            ReportFormat::Json => Format::Json,
            ReportFormat::Csv => Format::Csv,
            ReportFormat::Html => Format::Html,
        }
    }
}

/// Output format of `dcrawl check`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)] // clap would print variant docs in --help; the names say it
pub enum Format {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a command line, panicking with clap's message on a usage error.
    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn endpoints_listen_on_loopback_unless_told_otherwise() {
        let Command::Run { listen, .. } = parse(&["dcrawl", "run"]).command else {
            panic!("not run");
        };
        assert!(listen.ip().is_loopback(), "{listen}");
        assert_eq!(listen.to_string(), "127.0.0.1:9813");
        let Command::Demo { listen, .. } = parse(&["dcrawl", "demo"]).command else {
            panic!("not demo");
        };
        assert!(listen.ip().is_loopback(), "{listen}");
        let Command::Run { listen, .. } =
            parse(&["dcrawl", "run", "--listen", "0.0.0.0:9813"]).command
        else {
            panic!("not run");
        };
        assert!(listen.ip().is_unspecified());
    }

    #[test]
    fn silence_defaults_to_the_default_listen_address_and_needs_an_action() {
        assert_eq!(DEFAULT_DAEMON_URL, format!("http://{DEFAULT_LISTEN}"));
        let Command::Silence(args) =
            parse(&["dcrawl", "silence", "--match", "spec=shop", "--for", "30m"]).command
        else {
            panic!("not silence");
        };
        assert_eq!(args.url, DEFAULT_DAEMON_URL);
        assert_eq!(args.matchers, ["spec=shop"]);
        assert!(Cli::try_parse_from(["dcrawl", "silence"]).is_err());
        assert!(Cli::try_parse_from(["dcrawl", "silence", "--match", "spec=shop"]).is_err());
        assert!(Cli::try_parse_from(["dcrawl", "silence", "--list", "--expire", "x"]).is_err());
        let both = [
            "dcrawl", "silence", "--match", "a=b", "--for", "1m", "--until", "x",
        ];
        assert!(Cli::try_parse_from(both).is_err());
        assert!(Cli::try_parse_from(["dcrawl", "silence", "--list"]).is_ok());
    }

    #[test]
    fn limits_become_fetch_options() {
        let Command::Check { limits, .. } = parse(&[
            "dcrawl",
            "check",
            "--concurrency",
            "3",
            "--per-host",
            "2",
            "--deny-private-networks",
        ])
        .command
        else {
            panic!("not check");
        };
        let options = limits.fetch_options();
        assert_eq!((options.concurrency, options.per_host), (3, 2));
        assert!(options.deny_private_networks);
        assert!(Cli::try_parse_from(["dcrawl", "check", "--per-host", "0"]).is_err());
    }
}
