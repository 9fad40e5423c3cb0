//! Compiling one entry of `channels:`: exactly one of email / webhook / alertmanager, plus an
//! optional template, with its secrets gathered.

use lettre::message::Mailbox;

use super::keys::{ALERTMANAGER, CHANNEL, EMAIL, SMTP, TEMPLATE, WEBHOOK};
use crate::alert::{
    AlertmanagerChannel, Channel, ChannelKind, ChannelTemplate, EmailChannel, SmtpTls,
    WebhookChannel, WebhookFormat,
};
use crate::config::walk::{Ctx, Fields};
use crate::config::yaml::{Key, Node, Value};
use crate::redact::is_credential_header;

/// Shortest string treated as a secret (shorter ones would redact ordinary words).
const MIN_SECRET_CHARS: usize = 3;

/// The SMTP port used when `port` is not given.
pub(crate) fn default_port(tls: SmtpTls) -> u16 {
    match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    }
}

/// Compile the channel named by `key` (the name is checked by the caller) from `node`. `None`
/// when it has errors (all recorded in `ctx`).
pub(super) fn channel(ctx: &mut Ctx<'_>, key: &Key, node: &Node) -> Option<Channel> {
    let name = key.name.as_str();
    let needs_kind =
        format!("channel {name:?} needs exactly one of `email`, `webhook` or `alertmanager`");
    if node.value == Value::Null || node.as_map().is_some_and(<[_]>::is_empty) {
        ctx.err(key.pos, needs_kind);
        return None;
    }
    let env_start = ctx.secrets.len();
    let f = ctx.fields(node, &CHANNEL)?;
    let mut kinds: Vec<&(Key, Node)> = ["email", "webhook", "alertmanager"]
        .iter()
        .filter_map(|k| f.entry(k))
        .collect();
    kinds.sort_by_key(|(k, _)| k.pos);
    let mut secrets = Vec::new();
    let kind = match kinds[..] {
        [] => {
            ctx.err(key.pos, needs_kind);
            None
        }
        [(k, n)] => kind(ctx, &k.name, n, &mut secrets),
        // More than one kind: reported by the key table.
        [_, ..] => None,
    };
    let template = f.get("template").and_then(|n| template(ctx, n));
    secrets.extend(ctx.secrets[env_start..].iter().cloned());
    let mut unique: Vec<String> = Vec::new();
    for s in secrets {
        if s.chars().count() >= MIN_SECRET_CHARS && !unique.contains(&s) {
            unique.push(s);
        }
    }
    // Failed channels still contribute their secrets, so diagnostics never print them.
    ctx.secrets.extend(unique.iter().cloned());
    let kind = kind?;
    if f.get("template").is_some() && template.is_none() {
        return None;
    }
    Some(Channel {
        name: name.to_string(),
        kind,
        template,
        secrets: unique.into(),
    })
}

/// The channel's one kind, `key` being `email`, `webhook` or `alertmanager`.
fn kind(
    ctx: &mut Ctx<'_>,
    key: &str,
    node: &Node,
    secrets: &mut Vec<String>,
) -> Option<ChannelKind> {
    match key {
        "email" => email(ctx, node, secrets).map(ChannelKind::Email),
        "webhook" => webhook(ctx, node, secrets).map(ChannelKind::Webhook),
        _ => {
            let f = ctx.fields(node, &ALERTMANAGER)?;
            let url = ctx.url(f.get("url")?)?;
            Some(ChannelKind::Alertmanager(AlertmanagerChannel { url }))
        }
    }
}

/// `email:` settings; the password goes into `secrets`.
fn email(ctx: &mut Ctx<'_>, node: &Node, secrets: &mut Vec<String>) -> Option<EmailChannel> {
    let f = ctx.fields(node, &EMAIL)?;
    let smtp = f.get("smtp").and_then(|n| smtp(ctx, n, secrets));
    let from = f.get("from").and_then(|n| mailbox(ctx, n));
    let to = f.get("to").and_then(|n| recipients(ctx, n));
    let (smtp, from, to) = (smtp?, from?, to?);
    Some(EmailChannel {
        host: smtp.host,
        port: smtp.port,
        tls: smtp.tls,
        username: smtp.username,
        password: smtp.password.map(Into::into),
        tls_verify: smtp.tls_verify,
        from,
        to,
    })
}

/// The `smtp:` part of an email channel.
struct Smtp {
    /// Server host.
    host: String,
    /// Server port (given, or the default of `tls`).
    port: u16,
    /// Transport security.
    tls: SmtpTls,
    /// Login name.
    username: Option<String>,
    /// Login password.
    password: Option<String>,
    /// Verify the server certificate.
    tls_verify: bool,
}

fn smtp(ctx: &mut Ctx<'_>, node: &Node, secrets: &mut Vec<String>) -> Option<Smtp> {
    let f = ctx.fields(node, &SMTP)?;
    let host = f.get("host").and_then(|n| host(ctx, n));
    let tls = match f.get("tls") {
        Some(n) => tls_mode(ctx, n),
        None => Some(SmtpTls::default()),
    };
    let port = match f.get("port") {
        Some(n) => ctx
            .int(n, "port", 1, 65535)
            .and_then(|p| u16::try_from(p).ok()),
        None => tls.map(default_port),
    };
    let username = f
        .get("username")
        .and_then(|n| ctx.text(n, "a user name string"));
    let password = f
        .get("password")
        .and_then(|n| ctx.text(n, "a password string"));
    if let Some(p) = &password {
        secrets.push(p.clone());
    }
    let login_ok = login_pair(&f);
    let tls_verify = match f.get("tls_verify") {
        Some(n) => ctx.bool(n, "a boolean")?,
        None => true,
    };
    if !login_ok
        || f.get("username").is_some() != username.is_some()
        || f.get("password").is_some() != password.is_some()
    {
        return None;
    }
    Some(Smtp {
        host: host?,
        port: port?,
        tls: tls?,
        username,
        password,
        tls_verify,
    })
}

/// `username` and `password` come together; false (with an error at the lone one) otherwise.
fn login_pair(f: &Fields<'_>) -> bool {
    // Half a login is reported by the key table (each needs the other).
    f.get("username").is_some() == f.get("password").is_some()
}

/// A host name or IP address (IPv6 with or without brackets), without scheme, port or path.
fn host(ctx: &mut Ctx<'_>, node: &Node) -> Option<String> {
    let text = ctx.text(node, "a host name string")?;
    let h = text.trim();
    let bare = h
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(h);
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return Some(bare.to_string());
    }
    if !h.is_empty() && url::Host::parse(h).is_ok() {
        return Some(h.to_string());
    }
    ctx.err(
        node.pos,
        format!(
            "invalid SMTP host {text:?}: expected a host name or IP address (the port goes in `port`)"
        ),
    );
    None
}

fn tls_mode(ctx: &mut Ctx<'_>, node: &Node) -> Option<SmtpTls> {
    let text = ctx.text(node, "`starttls`, `tls` or `none`")?;
    match text.trim() {
        "starttls" => Some(SmtpTls::Starttls),
        "tls" => Some(SmtpTls::Tls),
        "none" => Some(SmtpTls::None),
        other => {
            ctx.err(
                node.pos,
                format!("invalid tls mode {other:?}: expected starttls, tls or none"),
            );
            None
        }
    }
}

/// One mailbox such as `dcrawl <dcrawl@example.com>`.
fn mailbox(ctx: &mut Ctx<'_>, node: &Node) -> Option<String> {
    let text = ctx.text(node, "an email address string")?;
    match text.trim().parse::<Mailbox>() {
        Ok(_) => Some(text.trim().to_string()),
        Err(e) => {
            let reason = e.to_string().to_lowercase();
            ctx.err(
                node.pos,
                format!(
                    "invalid email address {text:?}: {reason} (expected e.g. oncall@example.com \
                     or \"Ops <oncall@example.com>\")"
                ),
            );
            None
        }
    }
}

/// `to:` a non-empty list of mailboxes (a single string is one).
fn recipients(ctx: &mut Ctx<'_>, node: &Node) -> Option<Vec<String>> {
    if let Value::Str(_) = node.value {
        return mailbox(ctx, node).map(|m| vec![m]);
    }
    let items = ctx.seq(node, "a list of email addresses")?;
    if items.is_empty() {
        ctx.err(node.pos, "`to` is empty: give at least one recipient");
        return None;
    }
    let all: Vec<Option<String>> = items.iter().map(|n| mailbox(ctx, n)).collect();
    all.into_iter().collect()
}

/// `webhook:` settings; credential header values go into `secrets`.
fn webhook(ctx: &mut Ctx<'_>, node: &Node, secrets: &mut Vec<String>) -> Option<WebhookChannel> {
    let f = ctx.fields(node, &WEBHOOK)?;
    let url = f.get("url").and_then(|n| ctx.url(n));
    let format = match f.get("format") {
        Some(n) => format(ctx, n),
        None => Some(WebhookFormat::default()),
    };
    let before = ctx.diags.len();
    let headers = f.get("headers").map(|n| ctx.headers(n)).unwrap_or_default();
    let headers_ok = ctx.diags.len() == before;
    for (name, value) in &headers {
        if is_credential_header(name) {
            secrets.push(value.clone());
            if let Some((_, cred)) = value.split_once(' ') {
                secrets.push(cred.trim().to_string());
            }
        }
    }
    if !headers_ok {
        return None;
    }
    Some(WebhookChannel {
        url: url?,
        format: format?,
        headers,
    })
}

fn format(ctx: &mut Ctx<'_>, node: &Node) -> Option<WebhookFormat> {
    let text = ctx.text(node, "`json` or `slack`")?;
    match text.trim() {
        "json" => Some(WebhookFormat::Json),
        "slack" => Some(WebhookFormat::Slack),
        other => {
            ctx.err(
                node.pos,
                format!("invalid webhook format {other:?}: expected json or slack"),
            );
            None
        }
    }
}

/// `template:`: every part must be valid minijinja and render a sample notification.
fn template(ctx: &mut Ctx<'_>, node: &Node) -> Option<ChannelTemplate> {
    let f = ctx.fields(node, &TEMPLATE)?;
    let mut ok = true;
    let mut part = |ctx: &mut Ctx<'_>, key: &str| -> Option<String> {
        let n = f.get(key)?;
        let Some(source) = ctx.text(n, "a template string") else {
            ok = false;
            return None;
        };
        // Parsed, then rendered with a sample notification: that also catches an unknown
        // variable or filter, which parsing alone does not.
        if let Err(e) = crate::alert::notification::check_template(&source) {
            let line = e
                .line()
                .map(|l| format!(" (template line {l})"))
                .unwrap_or_default();
            let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
            ctx.err(
                n.pos,
                format!("invalid template `{key}`: {}{detail}{line}", e.kind()),
            );
            ok = false;
            return None;
        }
        Some(source)
    };
    let t = ChannelTemplate {
        subject: part(ctx, "subject"),
        body: part(ctx, "body"),
        payload: part(ctx, "payload"),
    };
    ok.then_some(t)
}
