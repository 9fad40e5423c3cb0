//! Compiling one spec file's tree: spec-level keys, `defaults` and every target.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::expect::expect;
use super::extract::extracts;
use super::keys::{DEFAULTS, SPEC, TARGET};
use super::walk::{Fields, IDENTIFIER, SPEC_NAME, Seen, Walk};
use crate::config::yaml::{Node, Pos, Value};
use crate::model::{
    DEFAULT_FOLLOW_REDIRECTS, DEFAULT_MAX_BODY, DEFAULT_RETRIES, DEFAULT_SCHEDULE, DEFAULT_TIMEOUT,
    DEFAULT_TLS_VERIFY, RequestBody, Schedule, Spec, Target,
};
use crate::redact::{is_credential_header, secret_forms};

/// Request settings shared by `defaults` and targets.
#[derive(Clone)]
struct Settings {
    /// Whole-request budget.
    timeout: Duration,
    /// Headers in order; later merges replace case-insensitively.
    headers: Vec<(String, String)>,
    /// Extra attempts after transport errors.
    retries: u32,
    /// Body size limit.
    max_body: u64,
    /// Redirect limit.
    follow_redirects: u32,
    /// Verify certificates.
    tls_verify: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: DEFAULT_TIMEOUT,
            headers: Vec::new(),
            retries: DEFAULT_RETRIES,
            max_body: DEFAULT_MAX_BODY,
            follow_redirects: DEFAULT_FOLLOW_REDIRECTS,
            tls_verify: DEFAULT_TLS_VERIFY,
        }
    }
}

/// Read the request settings present in `f` over `base`.
fn settings(ctx: &mut Walk<'_>, f: &Fields<'_>, base: &Settings) -> Settings {
    let mut s = base.clone();
    if let Some(d) = f.get("timeout").and_then(|n| ctx.duration(n)) {
        s.timeout = d;
    }
    if let Some(n) = f.get("headers") {
        for (name, value) in ctx.headers(n) {
            match s
                .headers
                .iter_mut()
                .find(|h| h.0.eq_ignore_ascii_case(&name))
            {
                Some(h) => *h = (name, value),
                None => s.headers.push((name, value)),
            }
        }
    }
    if let Some(r) = ctx.int_key(f, "retries") {
        s.retries = r;
    }
    if let Some(m) = f.get("max_body").and_then(|n| ctx.size(n)) {
        s.max_body = m;
    }
    if let Some(r) = ctx.int_key(f, "follow_redirects") {
        s.follow_redirects = r;
    }
    if let Some(b) = f.get("tls_verify").and_then(|n| ctx.bool(n, "a boolean")) {
        s.tls_verify = b;
    }
    s
}

/// A validated time zone name, or `None` (with an error if invalid).
fn timezone(ctx: &mut Walk<'_>, node: &Node) -> Option<String> {
    let tz = ctx.text(node, "a time zone name")?;
    match Schedule::parse("@hourly", Some(&tz)) {
        Ok(_) => Some(tz),
        Err(e) => {
            ctx.err(node.pos, e);
            None
        }
    }
}

/// The schedule text and node of a map, if any.
fn schedule_text(ctx: &mut Walk<'_>, f: &Fields<'_>) -> Option<(String, Pos)> {
    let n = f.get("schedule")?;
    ctx.text(n, "a schedule string").map(|t| (t, n.pos))
}

/// Spec-level context handed to every target.
struct SpecCtx {
    /// The spec's name (placeholder when invalid; errors are already recorded).
    name: String,
    /// The spec's schedule text (or the default) when valid.
    schedule: Option<(String, Schedule)>,
    /// The spec's valid time zone.
    timezone: Option<String>,
    /// `defaults` merged over the built-in defaults.
    defaults: Settings,
    /// How many of `ctx.secrets` belong to the spec level.
    secrets_end: usize,
}

/// Compile one file's tree into a spec; also returns the position of its `name` value.
pub(crate) fn spec(ctx: &mut Walk<'_>, root: &Node, file: &str) -> Option<(Spec, Pos)> {
    if root.value == Value::Null {
        ctx.err(
            root.pos,
            "empty spec file: expected a map with `name` and `targets`",
        );
        return None;
    }
    let f = ctx.fields(root, &SPEC)?;
    let name_node = f.get("name");
    let name = name_node.and_then(|n| ctx.name(n, &SPEC_NAME));
    let tz = f.get("timezone").and_then(|n| timezone(ctx, n));
    let sched = match schedule_text(ctx, &f) {
        Some((text, pos)) => match Schedule::parse(&text, tz.as_deref()) {
            Ok(s) => Some((text, s)),
            Err(e) => {
                ctx.err(pos, e);
                None
            }
        },
        None if f.get("schedule").is_some() => None,
        None => Schedule::parse(DEFAULT_SCHEDULE, tz.as_deref())
            .ok()
            .map(|s| (DEFAULT_SCHEDULE.to_string(), s)),
    };
    let labels = f.get("labels").map(|n| labels(ctx, n)).unwrap_or_default();
    let defaults = match f.get("defaults") {
        Some(n) => match ctx.fields(n, &DEFAULTS) {
            Some(df) => settings(ctx, &df, &Settings::default()),
            None => Settings::default(),
        },
        None => Settings::default(),
    };
    let sc = SpecCtx {
        name: name.clone().unwrap_or_default(),
        schedule: sched,
        timezone: tz,
        defaults,
        secrets_end: ctx.secrets.len(),
    };
    let mut targets = Vec::new();
    if let Some(n) = f.get("targets")
        && let Some(items) = ctx.seq(n, "a list of targets")
    {
        if items.is_empty() {
            ctx.err(
                n.pos,
                "`targets` is empty: a spec needs at least one target",
            );
        }
        let mut seen = Seen::default();
        targets.reserve_exact(items.len());
        for item in items {
            if let Some((t, pos)) = target(ctx, item, &sc) {
                if let Some(first) = seen.first(&t.name, pos) {
                    let msg = format!(
                        "duplicate target name {:?} (first defined at line {})",
                        t.name, first.line
                    );
                    ctx.err(pos, msg);
                } else {
                    targets.push(t);
                }
            }
        }
    }
    let name = name?;
    Some((
        Spec {
            name,
            file: PathBuf::from(file),
            labels,
            targets,
        },
        name_node.map(|n| n.pos).unwrap_or_default(),
    ))
}

fn labels(ctx: &mut Walk<'_>, node: &Node) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in ctx.named(node, "label", &IDENTIFIER) {
        if let Some(value) = ctx.text(v, "a label value (a scalar)") {
            out.insert(k.name.clone(), value);
        }
    }
    out
}

pub(crate) fn method(ctx: &mut Walk<'_>, node: &Node) -> Option<reqwest::Method> {
    let text = ctx.text(node, "an HTTP method string")?;
    let upper = text.trim().to_ascii_uppercase();
    match reqwest::Method::from_bytes(upper.as_bytes()) {
        Ok(m) if !upper.is_empty() => Some(m),
        _ => {
            ctx.err(node.pos, format!("invalid HTTP method {text:?}"));
            None
        }
    }
}

/// Compile one target; returns it with the position of its name (for duplicate checks).
fn target(ctx: &mut Walk<'_>, node: &Node, sc: &SpecCtx) -> Option<(Target, Pos)> {
    let own_secrets = ctx.secrets.len();
    let f = ctx.fields(node, &TARGET)?;
    let name_node = f.get("name");
    let name = name_node.and_then(|n| ctx.name(n, &SPEC_NAME));
    let key = (sc.name.clone(), name.clone().unwrap_or_default());
    if name.is_some() {
        ctx.ext.found.declared.push(key.clone());
    }
    let depends_on = f
        .get("depends_on")
        .map(|n| super::depends::depends_on(ctx, n, &key))
        .unwrap_or_default();
    let url = f.get("url").and_then(|n| ctx.url(n));
    let method = f.get("method").and_then(|n| method(ctx, n));
    let body = match (f.entry("body"), f.entry("json")) {
        // Both: reported by the key table (`body` excludes `json`).
        (Some(_), Some(_)) => None,
        (Some((_, b)), None) => ctx.text(b, "a body string").map(RequestBody::Raw),
        (None, Some((_, j))) => Some(RequestBody::Json(ctx.json(j))),
        (None, None) => None,
    };
    let schedule = target_schedule(ctx, &f, sc);
    let s = settings(ctx, &f, &sc.defaults);
    let expect = f.get("expect").map(|n| expect(ctx, n)).unwrap_or_default();
    let extract = f
        .get("extract")
        .map(|n| extracts(ctx, n))
        .unwrap_or_default();
    let crawl = super::crawl::crawl(ctx, &f);
    let inherited = super::steps::Inherited {
        timeout: sc.defaults.timeout,
        follow_redirects: s.follow_redirects,
    };
    let flow = super::steps::flow(ctx, &f, &inherited);
    let render = super::render::render(ctx, &f, &expect);
    let url = match (url, &flow) {
        (None, Some(flow)) => flow.first_url(),
        (url, _) => url,
    };
    if f.get("url").is_none() && f.get("steps").is_none() {
        ctx.err(
            node.pos,
            "missing required key `url` (or `steps`, for a flow) in target",
        );
    }

    let mut secrets: Vec<String> = ctx.secrets[..sc.secrets_end]
        .iter()
        .chain(&ctx.secrets[own_secrets..])
        .filter(|s| s.chars().count() >= 3)
        .cloned()
        .collect();
    for (n, v) in &s.headers {
        if is_credential_header(n) {
            secrets.push(v.clone());
            if let Some((_, cred)) = v.split_once(' ') {
                secrets.push(cred.trim().to_string());
            }
        }
    }
    if let Some(password) = url.as_ref().and_then(Url::password) {
        secrets.push(password.to_string());
    }
    let encoded: Vec<String> = secrets.iter().flat_map(|s| secret_forms(s)).collect();
    secrets.extend(encoded);
    secrets.retain(|s| s.chars().count() >= 3);
    let mut unique: Vec<String> = Vec::new();
    for s in secrets {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    ctx.secrets.extend(unique.iter().cloned());

    let (name, url) = (name?, url?);
    let mut t = Target::new(&sc.name, &name, url);
    if let Some(m) = method {
        t.method = m;
    }
    t.headers = s.headers;
    t.body = body;
    if let Some(sch) = schedule {
        t.schedule = sch;
    }
    t.timeout = s.timeout;
    t.retries = s.retries;
    t.max_body = s.max_body;
    t.follow_redirects = s.follow_redirects;
    t.tls_verify = s.tls_verify;
    t.expect = expect;
    t.extract = extract;
    t.crawl = crawl.map(Arc::new);
    t.flow = flow.map(Arc::new);
    t.render = render.map(Arc::new);
    t.depends_on = depends_on;
    t.secrets = unique.into();
    Some((t, name_node.map(|n| n.pos).unwrap_or(node.pos)))
}

/// The target's schedule: its own `schedule`/`timezone` over the spec's.
fn target_schedule(ctx: &mut Walk<'_>, f: &Fields<'_>, sc: &SpecCtx) -> Option<Schedule> {
    let own_text = schedule_text(ctx, f);
    let own_tz = match f.get("timezone") {
        Some(n) => Some(timezone(ctx, n)?),
        None => None,
    };
    if f.get("schedule").is_some() && own_text.is_none() {
        return None;
    }
    if own_text.is_none() && own_tz.is_none() {
        return sc.schedule.as_ref().map(|(_, s)| s.clone());
    }
    let tz = own_tz.or_else(|| sc.timezone.clone());
    match own_text {
        Some((text, pos)) => Schedule::parse(&text, tz.as_deref())
            .map_err(|e| ctx.err(pos, e))
            .ok(),
        None => {
            let (text, _) = sc.schedule.as_ref()?;
            Schedule::parse(text, tz.as_deref()).ok()
        }
    }
}
