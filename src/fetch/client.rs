//! The shared reqwest clients and the request parts built once per target.

use bytes::Bytes;
use reqwest::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName,
    HeaderValue, PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};

use super::FetchError;
use super::guard::Guard;
use crate::model::{RequestBody, Target};

/// User-Agent sent unless the target sets its own.
pub const DEFAULT_USER_AGENT: &str = concat!("dcrawl/", env!("CARGO_PKG_VERSION"));

/// Build one client; `verify_tls: false` accepts any certificate.
///
/// Redirects are off (the fetcher follows them itself, to detect loops and count hops), as are
/// reqwest's own retries (attempts are counted by the fetcher).
///
/// With a `guard`, names resolve through it and no proxy is used: through a proxy, dcrawl could
/// not see which address a target leads to.
pub(crate) fn build_client(
    verify_tls: bool,
    guard: Option<Guard>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder();
    if let Some(guard) = guard {
        builder = builder.dns_resolver(guard.resolver()).no_proxy();
    }
    builder
        .user_agent(DEFAULT_USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .referer(false)
        .tls_info(true)
        .tls_danger_accept_invalid_certs(!verify_tls)
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .build()
        .map_err(|e| FetchError::Setup(super::error::describe(&e)))
}

/// Headers and body of a target, validated and encoded once for all hops and attempts.
#[derive(Debug, Clone)]
pub(crate) struct RequestParts {
    /// The target's headers (plus Content-Type for a JSON body).
    pub(crate) headers: HeaderMap,
    /// The encoded body, if any.
    pub(crate) body: Option<Bytes>,
}

impl RequestParts {
    /// Validate header names and values and encode the body.
    pub(crate) fn of(target: &Target) -> Result<RequestParts, FetchError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &target.headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| FetchError::InvalidRequest(format!("bad header name {name:?}")))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| FetchError::InvalidRequest(format!("bad value for header {name}")))?;
            headers.append(name, value);
        }
        let body = match &target.body {
            None => None,
            Some(RequestBody::Raw(text)) => Some(Bytes::from(text.clone())),
            Some(RequestBody::Json(value)) => {
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                let encoded = serde_json::to_vec(value)
                    .map_err(|e| FetchError::InvalidRequest(format!("JSON body: {e}")))?;
                Some(Bytes::from(encoded))
            }
        };
        Ok(RequestParts { headers, body })
    }

    /// The method changed to GET: the body and the headers describing it go.
    pub(crate) fn drop_body(&mut self) {
        self.body = None;
        for name in [
            CONTENT_TYPE,
            CONTENT_LENGTH,
            CONTENT_ENCODING,
            TRANSFER_ENCODING,
        ] {
            self.headers.remove(name);
        }
    }

    /// The next hop has another origin: credentials must not leak to it.
    pub(crate) fn drop_credentials(&mut self) {
        for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
            self.headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn target() -> Target {
        Target::new("s", "t", Url::parse("http://127.0.0.1/").unwrap())
    }

    #[test]
    fn json_body_sets_content_type_unless_given() {
        let mut t = target();
        t.body = Some(RequestBody::Json(serde_json::json!({"a": 1})));
        let parts = RequestParts::of(&t).unwrap();
        assert_eq!(parts.headers[CONTENT_TYPE], "application/json");
        assert_eq!(parts.body.as_deref(), Some(&b"{\"a\":1}"[..]));

        t.headers = vec![("content-type".into(), "application/x-custom".into())];
        let parts = RequestParts::of(&t).unwrap();
        assert_eq!(parts.headers[CONTENT_TYPE], "application/x-custom");
    }

    #[test]
    fn bad_headers_are_request_errors() {
        let mut t = target();
        t.headers = vec![("bad name".into(), "v".into())];
        let err = RequestParts::of(&t).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid request: bad header name \"bad name\""
        );
        t.headers = vec![("x-ok".into(), "line\nbreak".into())];
        assert!(matches!(
            RequestParts::of(&t),
            Err(FetchError::InvalidRequest(_))
        ));
    }

    #[test]
    fn dropping_body_and_credentials() {
        let mut t = target();
        t.body = Some(RequestBody::Raw("x".into()));
        t.headers = vec![
            ("Authorization".into(), "Bearer s".into()),
            ("Cookie".into(), "a=b".into()),
            ("Content-Type".into(), "text/plain".into()),
            ("X-Keep".into(), "1".into()),
        ];
        let mut parts = RequestParts::of(&t).unwrap();
        parts.drop_body();
        assert!(parts.body.is_none());
        assert!(!parts.headers.contains_key(CONTENT_TYPE));
        parts.drop_credentials();
        assert!(!parts.headers.contains_key(AUTHORIZATION));
        assert!(!parts.headers.contains_key(COOKIE));
        assert_eq!(parts.headers["x-keep"], "1");
    }
}
