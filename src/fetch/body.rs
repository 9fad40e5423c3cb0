//! Reading a response body without ever buffering more than `max_body` decompressed bytes.

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use reqwest::{Method, StatusCode};

use super::FetchError;
use super::error::classify_body;

/// Largest buffer reserved up front from a `Content-Length` (the rest grows as data comes).
const MAX_PREALLOC: u64 = 1024 * 1024;

/// Read the whole (decompressed) body of `response`, failing as soon as it would exceed
/// `max_body` bytes.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    method: &Method,
    max_body: u64,
) -> Result<Bytes, FetchError> {
    let declared = declared_length(response, method);
    if let Some(len) = declared
        && len > max_body
    {
        return Err(FetchError::BodyTooLarge { limit: max_body });
    }
    let reserve = declared.unwrap_or(0).min(max_body).min(MAX_PREALLOC);
    let mut buf = BytesMut::with_capacity(usize::try_from(reserve).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| classify_body(&e))? {
        let total = (buf.len() as u64).saturating_add(chunk.len() as u64);
        if total > max_body {
            return Err(FetchError::BodyTooLarge { limit: max_body });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The `Content-Length` that describes the bytes we will read: only without a remaining
/// `Content-Encoding` (the decompression layer drops both headers when it decodes), and not
/// for responses that have no body by definition (HEAD, 204, 304).
fn declared_length(response: &reqwest::Response, method: &Method) -> Option<u64> {
    let status = response.status();
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || response.headers().contains_key(CONTENT_ENCODING)
    {
        return None;
    }
    response
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
