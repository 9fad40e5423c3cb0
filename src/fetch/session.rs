//! What one multi-step run carries between its requests: a cookie jar.
//!
//! Cookies a response sets (on a redirect too) are stored for its URL, and each later request
//! of the run sends the ones that match its URL (RFC 6265 domain, path, expiry and `Secure`
//! rules, by `cookie_store`). Once a redirect has left the origin a request started at, the
//! jar's cookies are not sent: they never follow a redirect to another origin.

use cookie_store::CookieStore;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;

/// One run's cookie jar.
#[derive(Debug, Default)]
pub struct Session {
    /// The cookies received so far.
    jar: CookieStore,
}

impl Session {
    /// Store every `Set-Cookie` of a response from `url` (invalid ones are ignored, as
    /// browsers do).
    pub(crate) fn store(&mut self, headers: &HeaderMap, url: &Url) {
        for value in headers.get_all(SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                let _ = self.jar.parse(text, url);
            }
        }
    }

    /// Add the cookies for `url` to `headers` (after any `Cookie` the request already has).
    pub(crate) fn apply(&self, headers: &mut HeaderMap, url: &Url) {
        let pairs: Vec<String> = self
            .jar
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if pairs.is_empty() {
            return;
        }
        let mut line = pairs.join("; ");
        if let Some(existing) = headers.get(COOKIE).and_then(|v| v.to_str().ok()) {
            line = format!("{existing}; {line}");
        }
        if let Ok(v) = HeaderValue::from_str(&line) {
            headers.insert(COOKIE, v);
        }
    }

    /// The value of the unexpired cookie called `name` (the last stored, if several).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .iter_unexpired()
            .filter(|c| c.name() == name)
            .last()
            .map(|c| c.value().to_string())
    }
}
