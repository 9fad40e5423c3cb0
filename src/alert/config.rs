//! Loading `alerts/*.yaml`: channels and routes, validated with
//! `FILE:LINE:COLUMN` diagnostics.
//!
//! It reuses the spec loader's machinery: each file is parsed into the positioned tree
//! (`crate::config::yaml`), walked against the key tables of `keys` (`${VAR}` interpolated on
//! the way), and every problem of every file is collected. All files are merged: channel names
//! are unique across files, and a route may name a channel of any file.

mod channel;
pub mod keys;
mod maintenance;
mod route;

use std::path::PathBuf;

use crate::alert::AlertConfig;
use crate::config::walk::{Ctx, SPEC_NAME};
use crate::config::yaml::{self, Pos, Value};
use crate::config::{Diagnostic, Diagnostics, EnvLookup, Source, files};

/// Read every `*.yaml`/`*.yml` under `paths` (files or folders, recursively, sorted) and load them.
///
/// Alerts are optional: a path that does not exist counts as empty, as does an empty folder (so
/// the default `alerts` may be absent; the CLI decides whether a path the user named must exist).
/// An unreadable file or folder, or a YAML error, is a diagnostic. Every problem of every file
/// is reported at once, sorted by file and position.
pub fn load_paths(paths: &[PathBuf], env: EnvLookup<'_>) -> Result<AlertConfig, Diagnostics> {
    let (sources, diags) = files::read_paths(paths, files::Missing::Empty, None);
    diags.combine(load_sources(&sources, env))
}

/// Where a channel was defined, for duplicate and unknown-name messages.
struct Defined {
    /// The channel's name.
    name: String,
    /// The file it is in.
    file: String,
    /// The line of its key.
    line: usize,
}

/// A route's channel names waiting to be checked against every file's channels.
struct Pending {
    /// The file of the route.
    file: String,
    /// Each name with the position of its list item.
    names: Vec<(String, Pos)>,
}

/// Load already-read alert files (used by `load_paths`, the demo and tests). No sources, or
/// only empty ones, give an empty configuration.
///
/// A channel name used twice is reported at the later one, naming the first's `file:line`; a
/// route naming an unknown channel is reported at that list item, naming the known channels.
pub fn load_sources(sources: &[Source], env: EnvLookup<'_>) -> Result<AlertConfig, Diagnostics> {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    let mut config = AlertConfig::default();
    let mut defined: Vec<Defined> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    // Window names so far: (name, file, line).
    let mut windows: Vec<(String, String, usize)> = Vec::new();
    for source in sources {
        let root = match yaml::parse(&source.name, &source.text) {
            Ok(root) => root,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let mut ctx = Ctx::new(&source.name, env);
        if root.value != Value::Null
            && let Some(f) = ctx.fields(&root, &keys::FILE)
        {
            if let Some(n) = f.get("channels")
                && n.value != Value::Null
                && let Some(entries) = ctx.map(n, "a map of channel name to channel")
            {
                for (k, v) in entries {
                    if !SPEC_NAME.matches(&k.name) {
                        let msg = format!(
                            "invalid channel name {:?}: must match {}",
                            k.name, SPEC_NAME.shown
                        );
                        ctx.err(k.pos, msg);
                    }
                    if let Some(first) = defined.iter().find(|d| d.name == k.name) {
                        let msg = format!(
                            "duplicate channel name {:?} (first defined at {}:{})",
                            k.name, first.file, first.line
                        );
                        ctx.err(k.pos, msg);
                    } else {
                        defined.push(Defined {
                            name: k.name.clone(),
                            file: source.name.clone(),
                            line: k.pos.line,
                        });
                    }
                    if let Some(c) = channel::channel(&mut ctx, k, v) {
                        config.channels.entry(k.name.clone()).or_insert(c);
                    }
                }
            }
            if let Some(n) = f.get("routes")
                && n.value != Value::Null
                && let Some(items) = ctx.seq(n, "a list of routes")
            {
                for item in items {
                    let parsed = route::route(&mut ctx, item);
                    pending.push(Pending {
                        file: source.name.clone(),
                        names: parsed.channels,
                    });
                    config.routes.extend(parsed.route);
                }
            }
            if let Some(n) = f.get("maintenance")
                && n.value != Value::Null
                && let Some(items) = ctx.seq(n, "a list of maintenance windows")
            {
                for item in items {
                    let (window, name) = maintenance::window(&mut ctx, item);
                    let Some((name, pos)) = name else { continue };
                    if let Some((_, file, line)) = windows.iter().find(|(n, _, _)| *n == name) {
                        let msg = format!(
                            "duplicate maintenance window name {name:?} (first defined at {file}:{line})"
                        );
                        ctx.err(pos, msg);
                        continue;
                    }
                    windows.push((name, source.name.clone(), pos.line));
                    config.maintenance.extend(window);
                }
            }
        }
        secrets.extend(ctx.secrets);
        diags.extend(ctx.diags);
    }
    unknown_channels(&defined, &pending, &mut diags);
    if diags.is_empty() {
        return Ok(config);
    }
    // Messages may quote values that came from the environment or secrets: never print them.
    secrets.retain(|s| s.chars().count() >= 3);
    for d in &mut diags {
        d.message = crate::model::redact(&d.message, &secrets);
    }
    let mut diags = Diagnostics(diags);
    diags.sort();
    Err(diags)
}

/// Report every route channel name that no file defines, at its list item.
fn unknown_channels(defined: &[Defined], pending: &[Pending], diags: &mut Vec<Diagnostic>) {
    let known: Vec<&str> = defined.iter().map(|d| d.name.as_str()).collect();
    let mut valid: Vec<&str> = known
        .iter()
        .copied()
        .filter(|n| SPEC_NAME.matches(n))
        .collect();
    valid.sort_unstable();
    let shown = if valid.is_empty() {
        "no channels are defined".to_string()
    } else {
        format!("channels: {}", valid.join(", "))
    };
    for p in pending {
        for (name, pos) in &p.names {
            if !known.contains(&name.as_str()) {
                diags.push(Diagnostic::new(
                    &p.file,
                    pos.line,
                    pos.column,
                    format!("unknown channel {name:?} ({shown})"),
                ));
            }
        }
    }
}

const PREAMBLE: &str = "# Alert file reference\n\n\
<!-- Generated from src/alert/config/keys.rs by the test `alert_reference_doc_is_current`; \
regenerate with `UPDATE_REFERENCE=1 cargo test --test alerts_config`. Do not edit by hand. -->\n\n\
Alert files (`alerts/*.yaml`) say which channels hear about which targets. `dcrawl validate` \
checks them together with the specs and reports every problem at once, each as \
`FILE:LINE:COLUMN: message` at the offending key or value. Unknown keys are errors that name \
the allowed keys.\n";

const PROSE: &str = "## Environment variables and secrets\n\n\
Every string value may use `${NAME}` or `${NAME:-default}`, exactly as in spec files (see \
`docs/spec-reference.md`); an unset variable without a default is an error at that value. \
Values taken from the environment, SMTP passwords and the values of credential headers are a \
channel's secrets: they are never printed back (in logs, errors, status pages or alert \
payloads) and show as `***`.\n\n\
## Durations\n\n\
`repeat` and a window's `duration` take a number with a unit, e.g. `30m`, `4h`, `1h30m`, `1d`.\n\n\
## Silences\n\n\
Quiet times that are not planned are not written here: `dcrawl silence --match spec=shop --for \
30m` (or `POST /api/v1/silences` on the daemon) silences the matching targets' notifications \
until it ends or is expired (`dcrawl silence --list`, `--expire ID`). Their notifications are \
held, not lost: what is still true when the silence ends is sent then.\n";

/// Render the alert file reference (the content of `docs/alert-reference.md`).
pub fn reference_markdown() -> String {
    crate::config::reference::render_reference(PREAMBLE, &keys::ALL, PROSE)
}
