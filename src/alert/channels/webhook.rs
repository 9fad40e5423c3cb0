//! Webhooks: the generic JSON payload or a Slack message, optionally through a template.

use serde_json::{Value, json};

use super::{Deliverer, DeliveryError};
use crate::alert::notification::{Notification, json_payload, render_template, slack_text};
use crate::alert::{ChannelTemplate, WebhookChannel, WebhookFormat};

/// The JSON document a webhook channel posts for `n`: the `payload` template when set (it must
/// render to valid JSON), else the format's payload (Slack text from the `body` template).
pub(super) fn payload(
    w: &WebhookChannel,
    template: Option<&ChannelTemplate>,
    n: &Notification,
) -> Result<Value, DeliveryError> {
    if let Some(source) = template.and_then(|t| t.payload.as_deref()) {
        let text = render_template(source, n).map_err(DeliveryError::Template)?;
        return serde_json::from_str(&text).map_err(|e| {
            DeliveryError::Template(format!("payload is not valid JSON ({e}): {text}"))
        });
    }
    match w.format {
        WebhookFormat::Json => Ok(json_payload(n)),
        WebhookFormat::Slack => {
            let text = match template.and_then(|t| t.body.as_deref()) {
                Some(source) => render_template(source, n).map_err(DeliveryError::Template)?,
                None => slack_text(n),
            };
            Ok(json!({ "text": text }))
        }
    }
}

/// POST the payload with the channel's headers.
pub(super) async fn deliver(
    d: &Deliverer,
    w: &WebhookChannel,
    template: Option<&ChannelTemplate>,
    n: &Notification,
) -> Result<(), DeliveryError> {
    let body = payload(w, template, n)?;
    d.post_json(&w.url, &w.headers, &body).await
}
