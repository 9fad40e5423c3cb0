//! The web config file of `dcrawl run --web-config FILE`: TLS, credentials and limits of the
//! HTTP endpoints, in the format of Prometheus' exporter-toolkit (`tls_server_config`,
//! `basic_auth_users`) plus dcrawl's `bearer_tokens`, `protect_metrics` and `limits`.
//!
//! It is loaded like spec and alert files: parsed into the positioned tree
//! (`crate::config::yaml`), walked against the key tables of `keys` with `${VAR}`
//! interpolation, every problem reported at once as `FILE:LINE:COLUMN: message`. Tokens, password
//! hashes and values from the environment are never printed back.
//!
//! `run` loads it again at each reload ([`check_reload`] says whether the new one may replace
//! the one being served, [`Live`] holds the one being served).

pub mod keys;
mod live;

pub use live::Live;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use super::auth::Auth;
use super::tls::{self, Tls};
use crate::config::walk::Ctx;
use crate::config::yaml::{self, Node, Pos, Value};
use crate::config::{Diagnostic, Diagnostics, EnvLookup};

/// Default of `limits.header_read_timeout`.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of `limits.request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `limits.max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Largest `limits.max_connections`.
const MAX_CONNECTIONS_LIMIT: u32 = 100_000;

/// Bounds on what clients may take from the server (they apply without a file too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time for a request line and headers (and a TLS handshake); idle keep-alive time.
    pub header_read_timeout: Duration,
    /// Time from a request's headers to the end of its response.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// How the endpoints are served. The default: plain HTTP, no credentials, default limits.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// TLS; `None` serves plain HTTP.
    pub tls: Option<Tls>,
    /// Who may read the protected endpoints (shared by every connection).
    pub auth: Arc<Auth>,
    /// Bounds on clients (fixed at start: a reload does not change them).
    pub limits: Limits,
    /// Where `tls_server_config` is written, for a reload that would turn TLS on.
    pub tls_at: Option<Pos>,
}

impl WebConfig {
    /// `https` with TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The files it was read from besides the web config file itself (the certificate and
    /// key), which a reload watches too.
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        self.tls
            .iter()
            .flat_map(|t| [t.cert_file.clone(), t.key_file.clone()])
            .collect()
    }
}

/// May `new`, loaded from the file named `file`, replace `old` in a running server? Credentials
/// and the certificate may change; TLS cannot be turned on or off, since the listener's
/// protocol is fixed at start.
pub fn check_reload(old: &WebConfig, new: &WebConfig, file: &str) -> Result<(), Diagnostics> {
    if old.tls.is_some() == new.tls.is_some() {
        return Ok(());
    }
    let pos = new.tls_at.unwrap_or(Pos { line: 1, column: 1 });
    Err(Diagnostics(vec![Diagnostic::new(
        file,
        pos.line,
        pos.column,
        "TLS cannot be turned on or off by a reload; restart dcrawl",
    )]))
}

/// Load `path` when given, else the defaults.
pub fn load_optional(path: Option<&Path>, env: EnvLookup<'_>) -> Result<WebConfig, Diagnostics> {
    path.map_or_else(|| Ok(WebConfig::default()), |p| load_file(p, env))
}

/// Read and load one web config file; relative TLS paths are relative to its folder.
pub fn load_file(path: &Path, env: EnvLookup<'_>) -> Result<WebConfig, Diagnostics> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::new(
            &name,
            1,
            1,
            format!("cannot read: {e}"),
        )])
    })?;
    load_source(&name, &text, path.parent().unwrap_or(Path::new("")), env)
}

/// Load already-read web config text named `name`; TLS paths are relative to `base`.
pub fn load_source(
    name: &str,
    text: &str,
    base: &Path,
    env: EnvLookup<'_>,
) -> Result<WebConfig, Diagnostics> {
    let root = yaml::parse(name, text).map_err(|d| Diagnostics(vec![d]))?;
    let mut ctx = Ctx::new(name, env);
    let mut config = WebConfig::default();
    let mut users = BTreeMap::new();
    let mut tokens = Vec::new();
    let mut protect_metrics = false;
    if root.value != Value::Null
        && let Some(f) = ctx.fields(&root, &keys::FILE)
    {
        if let Some(n) = present(f.get("tls_server_config")) {
            config.tls_at = Some(n.pos);
            config.tls = tls_server_config(&mut ctx, n, base);
        }
        if let Some(n) = present(f.get("basic_auth_users")) {
            basic_auth_users(&mut ctx, n, &mut users);
        }
        if let Some(n) = present(f.get("bearer_tokens")) {
            bearer_tokens(&mut ctx, n, &mut tokens);
        }
        if let Some(n) = present(f.get("protect_metrics")) {
            protect_metrics = ctx.bool(n, "a boolean").unwrap_or(false);
            if protect_metrics && users.is_empty() && tokens.is_empty() {
                ctx.err(
                    n.pos,
                    "protect_metrics needs credentials: add basic_auth_users or bearer_tokens",
                );
            }
        }
        if let Some(n) = present(f.get("limits")) {
            config.limits = limits(&mut ctx, n);
        }
    }
    if ctx.diags.is_empty() {
        config.auth = Arc::new(Auth::new(users, &tokens, protect_metrics));
        return Ok(config);
    }
    // Messages may quote values that came from the environment: never print them.
    let mut secrets = std::mem::take(&mut ctx.secrets);
    secrets.extend(tokens);
    secrets.extend(users.into_values());
    secrets.retain(|s| s.chars().count() >= 3);
    let mut diags = Diagnostics(std::mem::take(&mut ctx.diags));
    for d in &mut diags.0 {
        d.message = crate::model::redact(&d.message, &secrets);
    }
    diags.sort();
    Err(diags)
}

/// A key's value unless it is absent or null (`key:` with nothing after it).
fn present(node: Option<&Node>) -> Option<&Node> {
    node.filter(|n| n.value != Value::Null)
}

fn tls_server_config(ctx: &mut Ctx<'_>, node: &Node, base: &Path) -> Option<Tls> {
    let f = ctx.fields(node, &keys::TLS)?;
    let mut path = |key: &str| {
        let n = f.get(key)?;
        let p = ctx.text(n, "a file path")?;
        if p.is_empty() {
            ctx.err(n.pos, format!("{key} is empty: expected a file path"));
            return None;
        }
        Some(base.join(p))
    };
    let (cert, key) = (path("cert_file"), path("key_file"));
    let (cert, key) = (cert?, key?);
    match tls::load(&cert, &key) {
        Ok(tls) => Some(tls),
        Err(e) => {
            let pos = e.key().and_then(|k| f.get(k)).map_or(node.pos, |n| n.pos);
            ctx.err(pos, e.to_string());
            None
        }
    }
}

fn basic_auth_users(ctx: &mut Ctx<'_>, node: &Node, users: &mut BTreeMap<String, String>) {
    let Some(entries) = ctx.map(node, "a map of user name to bcrypt hash") else {
        return;
    };
    for (k, v) in entries {
        if k.name.is_empty() || k.name.contains(':') {
            let msg = format!(
                "invalid user name {:?}: must be non-empty, without `:`",
                k.name
            );
            ctx.err(k.pos, msg);
            continue;
        }
        let Some(hash) = ctx.text(v, "a bcrypt hash string") else {
            continue;
        };
        match bcrypt::HashParts::from_str(&hash) {
            Ok(parts) if (4..=31).contains(&parts.get_cost()) => {
                users.insert(k.name.clone(), hash);
            }
            Ok(parts) => ctx.err(
                v.pos,
                format!(
                    "the bcrypt hash of user {:?} has cost {}: expected 4 to 31",
                    k.name,
                    parts.get_cost()
                ),
            ),
            // The crate's reasons are fixed texts that never quote the hash.
            Err(e) => {
                let reason = match e {
                    bcrypt::BcryptError::InvalidHash(reason) => reason,
                    _ => "the hash format is malformed",
                };
                let msg = format!(
                    "invalid bcrypt hash for user {:?}: {reason} (a hash looks like `$2y$10$` and \
                     53 more characters, as `htpasswd -nBC 10 {}` prints)",
                    k.name, k.name
                );
                ctx.err(v.pos, msg);
            }
        }
    }
}

/// May `token` follow `Bearer ` (RFC 6750's b64token)?
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c))
}

fn bearer_tokens(ctx: &mut Ctx<'_>, node: &Node, tokens: &mut Vec<String>) {
    let items: &[Node] = match &node.value {
        Value::Seq(items) => items,
        Value::Str(_) => std::slice::from_ref(node),
        _ => {
            ctx.type_err(node, "a list of tokens");
            return;
        }
    };
    for item in items {
        let Some(token) = ctx.text(item, "a token string") else {
            continue;
        };
        // A token is a secret even when written in the file.
        ctx.secrets.push(token.clone());
        if is_b64token(&token) {
            tokens.push(token);
        } else {
            let what = if token.is_empty() {
                "is empty (is its variable set?)"
            } else {
                "has a character other than letters, digits and -._~+/ (then = padding)"
            };
            ctx.err(item.pos, format!("this bearer token {what}"));
        }
    }
}

fn limits(ctx: &mut Ctx<'_>, node: &Node) -> Limits {
    let mut limits = Limits::default();
    let Some(f) = ctx.fields(node, &keys::LIMITS) else {
        return limits;
    };
    let mut positive = |key: &str, into: &mut Duration| {
        if let Some(n) = f.get(key)
            && let Some(d) = ctx.duration(n)
        {
            if d.is_zero() {
                ctx.err(n.pos, format!("{key} must be more than 0"));
            } else {
                *into = d;
            }
        }
    };
    positive("header_read_timeout", &mut limits.header_read_timeout);
    positive("request_timeout", &mut limits.request_timeout);
    if let Some(max) = ctx.int_key(&f, "max_connections") {
        limits.max_connections = max as usize;
    }
    limits
}

const PREAMBLE: &str = "# Web config reference\n\n\
<!-- Generated from src/server/web_config/keys.rs by the test `web_config_reference_doc_is_current`; \
regenerate with `UPDATE_REFERENCE=1 cargo test --test endpoints`. Do not edit by hand. -->\n\n\
`dcrawl run --web-config FILE` secures the HTTP endpoints (`/`, `/api/v1/status`, `/metrics`, \
`/healthz`) with TLS and credentials and sets the bounds on clients. `dcrawl validate \
--web-config FILE` checks the file and reports every problem at once, each as \
`FILE:LINE:COLUMN: message`; so does `run`, which then exits 2 without starting. Unknown keys \
are errors that name the allowed keys.\n\n\
```yaml\n\
tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
basic_auth_users:\n  alice: \"$2y$10$...\"   # htpasswd -nBC 10 alice\n\
bearer_tokens: [\"${DCRAWL_TOKEN}\"]\n\
protect_metrics: false\n\
limits: {header_read_timeout: 5s, request_timeout: 10s, max_connections: 256}\n\
```\n";

const PROSE: &str = "## Who needs credentials\n\n\
With `basic_auth_users` or `bearer_tokens`, every request needs `Authorization: Basic ...` of a \
listed user or `Authorization: Bearer TOKEN` of a listed token, except `/healthz` (always open, \
for liveness probes) and `/metrics` (open unless `protect_metrics: true`). A request without \
valid credentials gets `401` with a `WWW-Authenticate` challenge for each configured scheme. \
Without TLS, credentials cross the network in the clear: use `tls_server_config` or keep \
`--listen` on loopback behind a TLS proxy.\n\n\
Prometheus scrapes a protected `/metrics` with `basic_auth` or `authorization` \
(`credentials_file`) in its scrape config, and an HTTPS one with `scheme: https` and \
`tls_config: {ca_file: ...}`.\n\n\
## Environment variables and secrets\n\n\
Every string value may use `${NAME}` or `${NAME:-default}`, exactly as in spec files (see \
`docs/spec-reference.md`). Bearer tokens, password hashes and values taken from the environment \
are never printed back (in logs or errors); they show as `***`.\n\n\
## Reload\n\n\
`run` reloads this file with the specs and alerts: on SIGHUP and when the file, the certificate \
or the key changes (files renamed into place and Kubernetes' swapped `..data` links included). \
Credentials and `protect_metrics` apply to the next request, a new certificate to the next TLS \
handshake; open connections keep theirs. An invalid file rejects the reload (errors logged, \
`dcrawl_config_reload_success` 0) and the old configuration keeps serving. `limits` apply from \
the next start (a change is logged and ignored), and turning TLS on or off is rejected: it needs \
a restart.\n\n\
## Durations\n\n\
A number with a unit, e.g. `500ms`, `5s`, `1m`.\n";

/// Render the web config reference (the content of `docs/web-config.md`).
pub fn reference_markdown() -> String {
    crate::config::reference::render_reference(PREAMBLE, &keys::ALL, PROSE)
}

#[cfg(test)]
mod tests;
