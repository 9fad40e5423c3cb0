//! Delivering notifications: email (SMTP via lettre), webhooks (JSON, Slack) and Alertmanager.
//!
//! One [`Deliverer`] holds the shared HTTP client; [`Deliverer::deliver`] sends one
//! notification to one channel and returns a [`DeliveryError`] that says why it failed and
//! whether retrying can help ([`DeliveryError::is_permanent`]).

mod alertmanager;
mod email;
mod webhook;

use std::time::Duration;

use thiserror::Error;

use crate::alert::notification::Notification;
use crate::alert::{Channel, ChannelKind};
use crate::model::redact;

/// How many bytes of an error response's body a [`DeliveryError::Http`] keeps.
pub const ERROR_BODY_BYTES: usize = 200;

/// Default time a delivery may take (connect, send, response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notification was not delivered.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// The receiver answered with a non-2xx status.
    #[error("HTTP {status} from {url}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// Where the request went (secrets redacted).
        url: String,
        /// The first bytes of the response body.
        body: String,
    },
    /// The receiver did not answer in time.
    #[error("timeout after {} ({target})", humantime::format_duration(*.after))]
    Timeout {
        /// The configured timeout.
        after: Duration,
        /// URL or `smtp://host:port`.
        target: String,
    },
    /// No usable connection: refused, DNS, TLS, connection reset...
    #[error("{target}: {reason}")]
    Transport {
        /// URL or `smtp://host:port`.
        target: String,
        /// What went wrong, e.g. `connection refused`.
        reason: String,
    },
    /// The SMTP server rejected a command with a 4xx/5xx reply.
    #[error("SMTP {code} {message} (smtp://{server})")]
    Smtp {
        /// The reply code.
        code: u16,
        /// The server's reply text.
        message: String,
        /// `host:port`.
        server: String,
    },
    /// A channel template failed to render (or a payload template did not render to JSON).
    #[error("template: {0}")]
    Template(String),
    /// A sender or recipient is not a valid mailbox.
    #[error("invalid address: {0}")]
    Address(String),
    /// The channel cannot be used as configured (bad header name, client setup).
    #[error("invalid channel: {0}")]
    Invalid(String),
}

impl DeliveryError {
    /// True when retrying cannot help: an HTTP 4xx other than 408/429, an SMTP 5xx, a bad
    /// template, an invalid address or channel. Everything else is retried.
    pub fn is_permanent(&self) -> bool {
        match self {
            DeliveryError::Http { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            DeliveryError::Smtp { code, .. } => (500..600).contains(code),
            DeliveryError::Template(_) | DeliveryError::Address(_) | DeliveryError::Invalid(_) => {
                true
            }
            DeliveryError::Timeout { .. } | DeliveryError::Transport { .. } => false,
        }
    }

    /// The same error with every secret replaced by `***`.
    pub fn redacted(self, secrets: &[String]) -> Self {
        let r = |s: String| redact(&s, secrets);
        match self {
            DeliveryError::Http { status, url, body } => DeliveryError::Http {
                status,
                url: r(url),
                body: r(body),
            },
            DeliveryError::Timeout { after, target } => DeliveryError::Timeout {
                after,
                target: r(target),
            },
            DeliveryError::Transport { target, reason } => DeliveryError::Transport {
                target: r(target),
                reason: r(reason),
            },
            DeliveryError::Smtp {
                code,
                message,
                server,
            } => DeliveryError::Smtp {
                code,
                message: r(message),
                server: r(server),
            },
            DeliveryError::Template(m) => DeliveryError::Template(r(m)),
            DeliveryError::Address(m) => DeliveryError::Address(r(m)),
            DeliveryError::Invalid(m) => DeliveryError::Invalid(r(m)),
        }
    }
}

/// Sends notifications; one per process, shared by all channels.
#[derive(Debug, Clone)]
pub struct Deliverer {
    /// The HTTP client of webhooks and Alertmanager (redirects off, whole-request timeout).
    http: reqwest::Client,
    /// Limit of one delivery (HTTP request or SMTP session).
    timeout: Duration,
}

impl Deliverer {
    /// A deliverer whose every delivery gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Deliverer, DeliveryError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("dcrawl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Invalid(format!("HTTP client: {}", chain(&e))))?;
        Ok(Deliverer { http, timeout })
    }

    /// The limit of one delivery.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Deliver `n` to `channel` (an Alertmanager channel gets the one alert). Success is an
    /// HTTP 2xx or an accepted SMTP transaction. Errors never contain the channel's secrets.
    pub async fn deliver(&self, channel: &Channel, n: &Notification) -> Result<(), DeliveryError> {
        let result = match &channel.kind {
            ChannelKind::Webhook(w) => {
                webhook::deliver(self, w, channel.template.as_ref(), n).await
            }
            ChannelKind::Email(e) => email::deliver(self, e, channel.template.as_ref(), n).await,
            ChannelKind::Alertmanager(am) => {
                alertmanager::post(self, am, std::slice::from_ref(n)).await
            }
        };
        result.map_err(|e| e.redacted(&channel.secrets))
    }

    /// POST `alerts` as one JSON array to `{url}/api/v2/alerts` (the engine re-posts firing
    /// and recently resolved alerts this way, as Alertmanager requires).
    pub async fn post_alertmanager(
        &self,
        channel: &crate::alert::AlertmanagerChannel,
        alerts: &[Notification],
    ) -> Result<(), DeliveryError> {
        alertmanager::post(self, channel, alerts).await
    }

    /// POST a JSON document to `url` with extra `headers`; 2xx is success.
    async fn post_json(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: &serde_json::Value,
    ) -> Result<(), DeliveryError> {
        let mut map = reqwest::header::HeaderMap::new();
        map.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| DeliveryError::Invalid(format!("header name {name:?}")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| DeliveryError::Invalid(format!("value of header {name}")))?;
            map.insert(name, value);
        }
        let bytes = serde_json::to_vec(body).map_err(|e| DeliveryError::Invalid(e.to_string()))?;
        let target = url.to_string();
        let send = self.http.post(url.clone()).headers(map).body(bytes).send();
        let mut resp = send.await.map_err(|e| self.http_error(&target, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let mut body = Vec::new();
        while body.len() < ERROR_BODY_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(ERROR_BODY_BYTES);
        Err(DeliveryError::Http {
            status: status.as_u16(),
            url: target,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        })
    }

    /// Classify a reqwest error.
    fn http_error(&self, target: &str, e: &reqwest::Error) -> DeliveryError {
        if e.is_timeout() {
            return DeliveryError::Timeout {
                after: self.timeout,
                target: target.to_string(),
            };
        }
        DeliveryError::Transport {
            target: target.to_string(),
            reason: reason(e),
        }
    }
}

/// A short reason for a transport error: `connection refused`, `connection reset`... when an
/// I/O error is in the chain, else the whole chain of messages.
fn reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            let short = match io.kind() {
                K::ConnectionRefused => Some("connection refused"),
                K::ConnectionReset => Some("connection reset"),
                K::ConnectionAborted => Some("connection aborted"),
                K::UnexpectedEof => Some("connection closed early"),
                _ => None,
            };
            if let Some(s) = short {
                return s.to_string();
            }
        }
        cur = err.source();
    }
    // The outermost message often just repeats the URL or a generic kind ("network error").
    e.source().map_or_else(|| e.to_string(), chain)
}

/// `outer: inner: innermost`, skipping messages already contained in the previous one.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let msg = err.to_string();
        if parts.last().is_none_or(|p| !p.contains(&msg)) {
            parts.push(msg);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> DeliveryError {
        DeliveryError::Http {
            status,
            url: "http://h/x?token=s3cret".into(),
            body: "bad token s3cret".into(),
        }
    }

    #[test]
    fn permanence_follows_the_status() {
        assert!(http(400).is_permanent());
        assert!(http(404).is_permanent());
        assert!(!http(408).is_permanent());
        assert!(!http(429).is_permanent());
        assert!(!http(500).is_permanent());
        assert!(!http(503).is_permanent());
        assert!(DeliveryError::Template("x".into()).is_permanent());
        assert!(DeliveryError::Address("x".into()).is_permanent());
        let smtp = |code| DeliveryError::Smtp {
            code,
            message: "m".into(),
            server: "h:25".into(),
        };
        assert!(smtp(550).is_permanent());
        assert!(!smtp(451).is_permanent());
        let timeout = DeliveryError::Timeout {
            after: Duration::from_secs(10),
            target: "http://h/".into(),
        };
        assert!(!timeout.is_permanent());
        assert_eq!(timeout.to_string(), "timeout after 10s (http://h/)");
    }

    #[test]
    fn redacted_hides_secrets_everywhere() {
        let e = http(401).redacted(&["s3cret".to_string()]);
        assert_eq!(
            e.to_string(),
            "HTTP 401 from http://h/x?token=***: bad token ***"
        );
    }
}
