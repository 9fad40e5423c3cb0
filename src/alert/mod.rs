//! Alerting: routes from `alerts/*.yaml` decide which channels hear about which
//! targets; a per-target state machine turns check results into firing/resolved transitions;
//! notifications go through a durable outbox to email, webhooks and Alertmanager.
//!
//! - [`config`] loads and validates alert files into an [`AlertConfig`].
//! - [`notification`] is what a channel is told, and how it is rendered (JSON, Slack, email,
//!   Alertmanager), optionally through a channel's minijinja template.
//! - [`channels`] delivers a notification to a receiver.

pub mod channels;
pub mod config;
pub mod engine;
pub mod maintenance;
pub mod notification;
mod repost;
pub mod silence;
pub mod state;
pub mod store;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use regex::Regex;
use url::Url;

use crate::redact::is_credential_header;
use crate::redact::{Secret, Secrets};
pub use crate::result::Severity;

/// Default number of consecutive failed runs before an alert fires.
pub const DEFAULT_AFTER: u32 = 2;

/// Everything loaded from the alert files (all files merged).
#[derive(Debug, Clone, Default)]
pub struct AlertConfig {
    /// Channels by name.
    pub channels: BTreeMap<String, Channel>,
    /// Routes in file order; every route that matches a target applies.
    pub routes: Vec<Route>,
    /// Maintenance windows in file order.
    pub maintenance: Vec<maintenance::Maintenance>,
}

/// A named receiver of notifications. Its `Debug` never shows its secrets.
#[derive(Clone)]
pub struct Channel {
    /// Its name (unique across files).
    pub name: String,
    /// Where and how it delivers.
    pub kind: ChannelKind,
    /// Optional minijinja templates (validated at load) overriding the rendering.
    pub template: Option<ChannelTemplate>,
    /// Secret strings (from `${VAR}`, passwords, credential headers) never printed back.
    pub secrets: Secrets,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Channel {
            name,
            kind,
            template,
            secrets,
        } = self;
        f.debug_struct("Channel")
            .field("name", &secrets.in_debug(name))
            .field("kind", &secrets.in_debug(kind))
            .field("template", &secrets.in_debug(template))
            .field("secrets", secrets)
            .finish()
    }
}

/// The three kinds of channel.
#[derive(Debug, Clone)]
pub enum ChannelKind {
    /// Email over SMTP.
    Email(EmailChannel),
    /// An HTTP POST of a JSON document.
    Webhook(WebhookChannel),
    /// Alertmanager API v2.
    Alertmanager(AlertmanagerChannel),
}

/// `email:` settings.
#[derive(Debug, Clone)]
pub struct EmailChannel {
    /// SMTP server host.
    pub host: String,
    /// SMTP server port (default 587 for starttls, 465 for tls, 25 for none).
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// Optional login.
    pub username: Option<String>,
    /// Optional password (a secret).
    pub password: Option<Secret<String>>,
    /// Verify the SMTP server's certificate (false accepts a self-signed relay). Default true.
    pub tls_verify: bool,
    /// Sender, e.g. `dcrawl <dcrawl@example.com>` (validated as a mailbox).
    pub from: String,
    /// Recipients (validated as mailboxes).
    pub to: Vec<String>,
}

/// `tls:` of an email channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption.
    None,
}

/// `webhook:` settings. Its `Debug` hides the values of credential headers and a password in
/// the URL (the channel's `Debug` hides every secret).
#[derive(Clone)]
pub struct WebhookChannel {
    /// Where to POST.
    pub url: Url,
    /// Payload format.
    pub format: WebhookFormat,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let WebhookChannel {
            url,
            format,
            headers,
        } = self;
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| {
                let shown = if is_credential_header(name) {
                    "***"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("WebhookChannel")
            .field("url", &without_password(url))
            .field("format", format)
            .field("headers", &headers)
            .finish()
    }
}

/// `url` as text, with a password in it shown as `***`.
fn without_password(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() && shown.set_password(Some("***")).is_ok() {
        return shown.as_str().replace("%2A%2A%2A", "***");
    }
    url.to_string()
}

/// `format:` of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookFormat {
    /// The generic JSON payload.
    #[default]
    Json,
    /// `{"text": "..."}` for Slack incoming webhooks.
    Slack,
}

/// `alertmanager:` settings. Its `Debug` hides a password in the URL.
#[derive(Clone)]
pub struct AlertmanagerChannel {
    /// Base URL, e.g. `http://127.0.0.1:9093` (alerts are POSTed to `/api/v2/alerts`).
    pub url: Url,
}

impl fmt::Debug for AlertmanagerChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertmanagerChannel")
            .field("url", &without_password(&self.url))
            .finish()
    }
}

/// `template:` of a channel: each part is a minijinja template over the notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelTemplate {
    /// Email subject.
    pub subject: Option<String>,
    /// Email body (plain text) or Slack text.
    pub body: Option<String>,
    /// Webhook JSON payload (must render to valid JSON).
    pub payload: Option<String>,
}

/// One route: which targets, which channels, and when.
#[derive(Debug, Clone)]
pub struct Route {
    /// All must hold for the route to apply (empty = every target).
    pub matchers: Vec<Matcher>,
    /// Channel names (all exist).
    pub channels: Vec<String>,
    /// Consecutive failed runs before firing.
    pub after: u32,
    /// Re-notify this often while firing.
    pub repeat: Option<Duration>,
    /// Notify on recovery.
    pub resolved: bool,
    /// Which runs count against the target: `failure` (failures and errors) or `warning`
    /// (warnings too).
    pub severity: Severity,
}

/// `key: value` or `key: '~regex'` of a route's `match`.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// `spec`, `target` or a label name.
    pub key: String,
    /// How the value is matched.
    pub value: MatchValue,
}

/// An exact value or an anchored regex.
#[derive(Debug, Clone)]
pub enum MatchValue {
    /// Equal to this.
    Equals(String),
    /// Matches this regex (anchored: the whole value).
    Regex(Regex),
}

impl MatchValue {
    /// `value` (equals) or `~regex` (anchored: it must match the whole value). The pattern is
    /// checked on its own first, so that `a)|(b` cannot escape the anchoring group.
    pub fn parse(text: &str) -> Result<MatchValue, String> {
        use crate::model::exprs::compile_regex;
        match text.strip_prefix('~') {
            Some(pattern) => {
                compile_regex(pattern)?;
                compile_regex(&format!("^(?:{pattern})$")).map(MatchValue::Regex)
            }
            None => Ok(MatchValue::Equals(text.to_string())),
        }
    }
}

impl Matcher {
    /// Does the target with these attributes match? `get` looks up `spec`, `target` or a label.
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        let Some(actual) = get(&self.key) else {
            return false;
        };
        match &self.value {
            MatchValue::Equals(v) => *v == actual,
            MatchValue::Regex(re) => re.is_match(&actual),
        }
    }
}

/// Do all `matchers` hold for target `target` of spec `spec` with `labels` (no matchers: every
/// target)? Routes, maintenance windows and silences match targets this way.
pub fn matches_target(
    matchers: &[Matcher],
    spec: &str,
    target: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let get = |key: &str| match key {
        "spec" => Some(spec.to_string()),
        "target" => Some(target.to_string()),
        other => labels.get(other).cloned(),
    };
    matchers.iter().all(|m| m.matches(&get))
}

impl Route {
    /// Does this route apply to target `target` of spec `spec` with `labels`?
    pub fn applies(&self, spec: &str, target: &str, labels: &BTreeMap<String, String>) -> bool {
        matches_target(&self.matchers, spec, target, labels)
    }
}
