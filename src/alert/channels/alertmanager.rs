//! Alertmanager API v2: `POST {url}/api/v2/alerts` with a JSON array of alerts.

use serde_json::Value;
use url::Url;

use super::{Deliverer, DeliveryError};
use crate::alert::AlertmanagerChannel;
use crate::alert::notification::{Notification, alertmanager_alert};

/// `{base}/api/v2/alerts`, keeping a path prefix of the base URL (`http://h/am` ->
/// `http://h/am/api/v2/alerts`).
pub(super) fn alerts_url(base: &Url) -> Url {
    let mut url = base.clone();
    let path = format!("{}/api/v2/alerts", base.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// POST every notification as one alert in one array.
pub(super) async fn post(
    d: &Deliverer,
    am: &AlertmanagerChannel,
    alerts: &[Notification],
) -> Result<(), DeliveryError> {
    let body = Value::Array(alerts.iter().map(alertmanager_alert).collect());
    d.post_json(&alerts_url(&am.url), &[], &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_url_keeps_a_prefix_and_drops_the_query() {
        let at = |s: &str| alerts_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            at("http://127.0.0.1:9093"),
            "http://127.0.0.1:9093/api/v2/alerts"
        );
        assert_eq!(at("http://h/am/?x=1"), "http://h/am/api/v2/alerts");
    }
}
