//! The `dcrawl` command: thin wiring of the library's stages to the command line.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser as _;
use dcrawl::cli::{AlertCommand, Cli, Command, Format, LogFormat, SchemaOf};
use dcrawl::daemon::{self, RunOptions};
use dcrawl::fetch::{FetchOptions, Fetcher};
use dcrawl::load::Loaded;
use dcrawl::model::{Config, Target};
use dcrawl::report::{self, Summary};
use dcrawl::shard::Shard;
use dcrawl::spec::{self, Diagnostics};

/// mimalloc instead of the system allocator: evaluating thousands of 40 KB pages a second is
/// allocation-heavy, and glibc's malloc showed up as a fifth of the CPU profile. Built without
/// transparent huge pages (`no_thp`): with them, a daemon of 10,000 targets kept ~20 MB more
/// resident in partly used 2 MB pages, for no measurable speed (BENCHMARKS.md, W5).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: 0 all good, 1 a check failed, 2 invalid configuration or usage.
const EXIT_OK: u8 = 0;
const EXIT_CHECK_FAILED: u8 = 1;
const EXIT_INVALID: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Run { log_format, .. } => init_logging("info", *log_format),
        Command::Demo { once: false, .. } => init_logging("info", LogFormat::Text),
        _ => init_logging("warn", LogFormat::Text),
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("dcrawl: {e:#}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// Crates whose log events are about their own workings, not about the page or the request:
/// off unless `RUST_LOG` names them (html5ever warns "foster parenting not implemented" on
/// every misnested table, though it does foster-parent).
const QUIET_CRATES: &[&str] = &["html5ever"];

/// Logs go to stderr; `RUST_LOG` overrides the default level. Other crates log at most at
/// `info`, whatever `RUST_LOG` says: their debug logs print pages and headers, and with them
/// secrets (html5ever logs every text node it parses). [`QUIET_CRATES`] log nothing unless
/// `RUST_LOG` names them (`RUST_LOG=html5ever=warn`).
fn init_logging(default_level: &str, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::FilterExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let asked = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let mut directives: Vec<String> = match asked {
        Some(d) if EnvFilter::try_new(&d).is_ok() => vec![d],
        _ => vec![default_level.to_string()],
    };
    for name in QUIET_CRATES {
        if !directives.iter().any(|d| d.contains(name)) {
            directives.push(format!("{name}=off"));
        }
    }
    let filter =
        EnvFilter::try_new(directives.join(",")).unwrap_or_else(|_| EnvFilter::new(default_level));
    let ours_or_info = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO || meta.target().starts_with("dcrawl")
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry();
    match format {
        LogFormat::Text => registry
            .with(layer.with_filter(filter.and(ours_or_info)))
            .init(),
        LogFormat::Json => registry
            .with(layer.json().with_filter(filter.and(ours_or_info)))
            .init(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate { specs, alerts, web } => Ok(validate(&specs, &alerts, web)),
        Command::Check {
            specs,
            spec,
            target,
            format,
            shard,
            limits,
        } => {
            let config = match spec::load_paths(&specs, &spec::process_env) {
                Ok(c) => c,
                Err(d) => return Ok(print_diagnostics(&d)),
            };
            let mut targets = match select(&config, spec.as_deref(), target.as_deref()) {
                Ok(t) => t,
                Err(msg) => {
                    eprintln!("dcrawl: {msg}");
                    return Ok(EXIT_INVALID);
                }
            };
            let shard = shard.unwrap_or_default();
            targets.retain(|t| shard.owns(&t.spec, &t.name));
            runtime()?.block_on(check(targets, limits.fetch_options(), format))
        }
        Command::Run {
            specs,
            alerts,
            listen,
            state_dir,
            external_url,
            log_format: _,
            web_config,
            shard,
            limits,
        } => {
            let default_alerts = [PathBuf::from(dcrawl::load::DEFAULT_ALERTS)];
            let watched = if alerts.is_empty() {
                &default_alerts[..]
            } else {
                &alerts[..]
            };
            let options = RunOptions {
                listen,
                state_dir,
                external_url,
                watch: specs
                    .iter()
                    .chain(watched.iter())
                    .filter(|p| p.exists())
                    .cloned()
                    .collect(),
                fetch: limits.fetch_options(),
                shutdown_grace: daemon::DEFAULT_SHUTDOWN_GRACE,
                web_config,
                shard: shard.unwrap_or_default(),
            };
            let loader: daemon::Loader =
                Box::new(move || dcrawl::load::load_files(&specs, &alerts, &spec::process_env));
            runtime()?.block_on(serve(options, loader))
        }
        Command::Alert {
            command: AlertCommand::Test { channel, alerts },
        } => runtime()?.block_on(alert_test(&channel, &alerts)),
        Command::Silence(args) => runtime()?.block_on(silence(&args)),
        Command::Demo { listen, once } => runtime()?.block_on(demo(listen, once)),
        Command::Schema { of, out } => schema(of, out),
        Command::Report {
            from,
            to,
            format,
            state_dir,
            spec,
            target,
        } => Ok(history_report(
            from.as_deref(),
            to.as_deref(),
            format,
            &state_dir,
            spec.as_deref(),
            target.as_deref(),
        )),
    }
}

/// `dcrawl report`: read the state directory's history (read-only) and print the report.
fn history_report(
    from: Option<&str>,
    to: Option<&str>,
    format: dcrawl::cli::ReportFormat,
    state_dir: &std::path::Path,
    spec: Option<&str>,
    target: Option<&str>,
) -> u8 {
    use dcrawl::history::{Db, range, report};
    let now = chrono::Utc::now();
    let range = match range::resolve(from, to, now) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dcrawl: {e}");
            return EXIT_INVALID;
        }
    };
    let made = Db::open_read_only(state_dir)
        .map_err(report::ReportError::from)
        .and_then(|db| report::build(&db, range, spec, target, now));
    match made {
        Ok(r) => {
            print!("{}", report::render(&r, format.format()));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("dcrawl: {e}");
            EXIT_INVALID
        }
    }
}

/// Print one schema, or write every one into `out`.
fn schema(of: SchemaOf, out: Option<PathBuf>) -> anyhow::Result<u8> {
    use dcrawl::schema::{self, Format};
    let format = match of {
        SchemaOf::Spec => Format::Spec,
        SchemaOf::Alerts => Format::Alerts,
        SchemaOf::Web => Format::Web,
    };
    match out {
        Some(dir) => schema::write_all(&dir)?
            .iter()
            .for_each(|p| println!("wrote {}", p.display())),
        None => schema::print(format).context("cannot write the schema to stdout")?,
    }
    Ok(EXIT_OK)
}

fn print_diagnostics(d: &Diagnostics) -> u8 {
    eprintln!("{d}");
    eprintln!(
        "{} error{} found; nothing was run",
        d.len(),
        if d.len() == 1 { "" } else { "s" }
    );
    EXIT_INVALID
}

fn validate(specs: &[PathBuf], alerts: &[PathBuf], web: Option<PathBuf>) -> u8 {
    let web = dcrawl::server::web_config::load_optional(web.as_deref(), &spec::process_env);
    let loaded = dcrawl::load::load_files(specs, alerts, &spec::process_env);
    match web.err().unwrap_or_default().combine(loaded) {
        Ok(Loaded {
            specs: config,
            alerts,
        }) => {
            warn_without_browser(&config);
            println!(
                "{} specs, {} targets, {} channels, {} routes OK",
                config.specs.len(),
                config.targets().count(),
                alerts.channels.len(),
                alerts.routes.len()
            );
            EXIT_OK
        }
        Err(all) => print_diagnostics(&all),
    }
}

/// `validate` warns (exit code unchanged) when `render` targets would find no browser: the one
/// `--browser` would use by default (`DCRAWL_BROWSER`, else `chromium` on PATH).
fn warn_without_browser(config: &Config) {
    let rendered = config.targets().filter(|t| t.render.is_some()).count();
    if rendered == 0 {
        return;
    }
    let binary =
        std::env::var_os("DCRAWL_BROWSER").map_or_else(|| PathBuf::from("chromium"), PathBuf::from);
    if let Err(e) = dcrawl::render::find_browser(&binary) {
        eprintln!(
            "warning: {rendered} render target(s) will be errors until a browser is found: {e}"
        );
    }
}

/// The targets `--spec` / `--target` select; an unknown name is a usage error.
fn select(
    config: &Config,
    spec: Option<&str>,
    target: Option<&str>,
) -> Result<Vec<Arc<Target>>, String> {
    if let Some(name) = spec
        && !config.specs.iter().any(|s| s.name == name)
    {
        let known: Vec<&str> = config.specs.iter().map(|s| s.name.as_str()).collect();
        return Err(format!(
            "no spec named {name:?} (specs: {})",
            known.join(", ")
        ));
    }
    let chosen: Vec<Arc<Target>> = config
        .targets()
        .filter(|t| spec.is_none_or(|s| t.spec == s) && target.is_none_or(|n| t.name == n))
        .map(|t| Arc::new(t.clone()))
        .collect();
    if chosen.is_empty() {
        return Err(match target {
            Some(name) => format!("no target named {name:?} in the selected specs"),
            None => "the selected specs have no targets".to_string(),
        });
    }
    Ok(chosen)
}

async fn check(
    targets: Vec<Arc<Target>>,
    options: FetchOptions,
    format: Format,
) -> anyhow::Result<u8> {
    let fetcher = Arc::new(Fetcher::new(options).context("building the HTTP client")?);
    let started = Instant::now();
    let show_progress =
        format == Format::Text && std::io::stderr().is_terminal() && targets.len() > 1;
    let bar = if show_progress {
        let bar = indicatif::ProgressBar::new(targets.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} targets checked {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let renderer = fetcher.renderer().clone();
    let results = dcrawl::runner::run_once(fetcher, targets, |_| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    })
    .await;
    // Every browser a render target started is stopped (its process group killed) now.
    renderer.shutdown().await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match format {
        Format::Json => println!("{}", report::json::render(&results)),
        Format::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let style = report::text::Style { color };
            print!(
                "{}",
                report::text::render(&results, started.elapsed(), style)
            );
        }
    }
    Ok(if Summary::of(&results).all_ok() {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

/// `dcrawl silence`: talk to a running daemon's `/api/v1/silences`.
async fn silence(args: &dcrawl::cli::SilenceArgs) -> anyhow::Result<u8> {
    match dcrawl::alert::silence::client::run(args).await {
        Ok(text) => {
            print!("{text}");
            Ok(EXIT_OK)
        }
        Err(e) => {
            eprintln!("dcrawl: {e}");
            Ok(e.exit_code())
        }
    }
}

/// `dcrawl alert test`: one test notification, delivered now (not through the outbox).
async fn alert_test(name: &str, alerts: &[PathBuf]) -> anyhow::Result<u8> {
    let config = match dcrawl::load::load_alerts(alerts, &spec::process_env) {
        Ok(c) => c,
        Err(d) => return Ok(print_diagnostics(&d)),
    };
    let Some(channel) = config.channels.get(name) else {
        let known: Vec<&str> = config.channels.keys().map(String::as_str).collect();
        eprintln!(
            "dcrawl: no channel named {name:?} (channels: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return Ok(EXIT_INVALID);
    };
    let deliverer =
        dcrawl::alert::channels::Deliverer::new(dcrawl::alert::channels::DEFAULT_TIMEOUT)?;
    let mut n = dcrawl::alert::notification::sample();
    n.channel = name.to_string();
    n.spec = "dcrawl".into();
    n.target = "alert-test".into();
    n.labels = Default::default();
    n.url = "http://127.0.0.1/".into();
    n.error = None;
    n.failures = vec![dcrawl::result::Failure::new(
        "test",
        "a test notification from `dcrawl alert test`; no target is failing",
    )];
    match deliverer.deliver(channel, &n).await {
        Ok(()) => {
            println!("channel {name}: the receiver accepted the test notification");
            Ok(EXIT_OK)
        }
        Err(e) => {
            println!("channel {name}: not delivered: {e}");
            Ok(EXIT_CHECK_FAILED)
        }
    }
}

/// Run the daemon until SIGINT/SIGTERM; an invalid initial configuration exits 2.
async fn serve(options: RunOptions, loader: daemon::Loader) -> anyhow::Result<u8> {
    match daemon::run(options, loader, daemon::shutdown_signal(), |base| {
        tracing::info!("status page {base}/  metrics {base}/metrics");
    })
    .await
    {
        Ok(()) => Ok(EXIT_OK),
        Err(daemon::RunError::Config(d)) => Ok(print_diagnostics(&d)),
        Err(e) => Err(e.into()),
    }
}

async fn demo(listen: SocketAddr, once: bool) -> anyhow::Result<u8> {
    let flap = if once {
        None
    } else {
        Some(dcrawl::demo::site::Flap::DEMO)
    };
    let addr = dcrawl::demo::site::spawn_with(SocketAddr::from(([127, 0, 0, 1], 0)), flap)
        .await
        .context("starting the demo site on 127.0.0.1")?;
    let base = format!("http://{addr}");
    println!(
        "dcrawl demo: a small shop is running at {base}/ (products, a JSON API, one broken page)\n"
    );
    let sources = dcrawl::demo::bundled_specs(&base);
    let config = spec::load_sources(&sources, &|_| None)
        .map_err(|d| anyhow::anyhow!("the bundled demo specs are invalid:\n{d}"))?;
    let targets: Vec<Arc<Target>> = config.targets().map(|t| Arc::new(t.clone())).collect();
    println!(
        "Checking {} targets from the bundled specs once:\n",
        targets.len()
    );
    check(targets, FetchOptions::default(), Format::Text).await?;
    println!("\nThe failure above is on purpose: /products/7 lost its price.");
    if once {
        println!(
            "Next: write your own spec (see specs/ and docs/spec-reference.md), then\n  \
             dcrawl validate --specs specs\n  dcrawl check --specs specs [--format json]"
        );
        return Ok(EXIT_OK);
    }
    let state_dir = std::env::temp_dir().join(format!("dcrawl-demo-{}", std::process::id()));
    let alert_sources = dcrawl::demo::bundled_alerts(&base);
    let options = RunOptions {
        listen,
        state_dir: state_dir.clone(),
        external_url: Some(format!("http://{listen}/")),
        watch: Vec::new(),
        fetch: FetchOptions::default(),
        shutdown_grace: daemon::DEFAULT_SHUTDOWN_GRACE,
        web_config: None,
        shard: Shard::WHOLE,
    };
    let loader: daemon::Loader = Box::new(move || {
        let specs = spec::load_sources(&sources, &|_| None)?;
        let alerts = dcrawl::alert::config::load_sources(&alert_sources, &|_| None)?;
        Ok(Loaded { specs, alerts })
    });
    let result = daemon::run(options, loader, daemon::shutdown_signal(), |base| {
        println!(
            "\nThe daemon now checks the shop on the bundled schedules; its API health breaks for one\n\
             minute in every five and recovers. Alerts go to the demo's webhook receiver, which\n\
             prints them here.\n\n  status page  {base}/\n  metrics      \
             {base}/metrics\n  status API   {base}/api/v1/status\n\nPress Ctrl-C to stop."
        );
    })
    .await;
    let _ = std::fs::remove_dir_all(&state_dir);
    match result {
        Ok(()) => Ok(EXIT_OK),
        Err(e) => Err(e.into()),
    }
}
