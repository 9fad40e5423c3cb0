//! What a channel is told about a target's alert, and how it is rendered.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::result::Failure;

/// `firing` or `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The target has failed `after` consecutive runs.
    Firing,
    /// The target recovered.
    Resolved,
}

/// One notification for one channel (stored in the outbox as JSON until delivered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The channel it goes to.
    pub channel: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Spec name.
    pub spec: String,
    /// Target name.
    pub target: String,
    /// The target's URL (secrets redacted).
    pub url: String,
    /// The spec's labels.
    pub labels: BTreeMap<String, String>,
    /// When the target started failing (the first failed run of this streak).
    pub since: DateTime<Utc>,
    /// When it recovered (resolved only).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Consecutive failed runs so far.
    pub consecutive_failures: u32,
    /// `failure` or `error` (the last failed run's result; `success` when resolved).
    pub result: String,
    /// The last failed run's error reason, if it was an error.
    pub error: Option<String>,
    /// The last failed run's failures (for a crawl: up to 20 URLs with reasons).
    pub failures: Vec<Failure>,
    /// True for a re-notification of an alert still firing (`repeat`).
    pub repeat: bool,
    /// A link to the status page, when `--external-url` is set.
    pub status_page: Option<String>,
    /// When the notification was created.
    pub created_at: DateTime<Utc>,
}
