//! Why a fetch failed, in words a person can act on, and how reqwest errors map onto that.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use crate::model::redact;

/// Why no usable response came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The whole request (including the body) took longer than the timeout.
    #[error("timeout after {0:?}")]
    Timeout(Duration),
    /// The host name did not resolve.
    #[error("DNS: {0}")]
    Dns(String),
    /// No response came: refused, reset or closed connection, HTTP protocol error.
    #[error("{0}")]
    Transport(String),
    /// The TLS handshake failed (certificate not trusted, expired, wrong host, alert).
    #[error("TLS: {0}")]
    Tls(String),
    /// The body is larger than `max_body` (checked on decompressed bytes).
    #[error("body larger than max_body ({})", format_size(*limit))]
    BodyTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// The connection failed while the body was being read.
    #[error("error reading body: {0}")]
    Body(String),
    /// The body could not be decompressed (bad gzip, brotli or deflate data).
    #[error("undecodable body: {0}")]
    Undecodable(String),
    /// A redirect led back to a URL already seen in this chain (the whole chain, in order).
    #[error("redirect loop: {}", .0.join(" -> "))]
    RedirectLoop(Vec<String>),
    /// More redirects than `follow_redirects` allows.
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(u32),
    /// A redirect pointed at something other than http(s).
    #[error("redirect to unsupported URL {0:?}")]
    UnsupportedRedirect(String),
    /// A redirect's `Location` header could not be read or resolved.
    #[error("redirect with invalid Location {0:?}")]
    InvalidLocation(String),
    /// The request could not be built (bad header name or value, bad body).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The fetcher could not be set up (bad options, TLS backend failure).
    #[error("cannot set up HTTP client: {0}")]
    Setup(String),
    /// `--deny-private-networks` refused the address the URL leads to.
    #[error("refused by --deny-private-networks: {0}")]
    Denied(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// May another attempt succeed? True for transport errors before a response (connect,
    /// reset, protocol), DNS and timeouts; false once a response came and for TLS and limits.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            FetchError::Timeout(_) | FetchError::Dns(_) | FetchError::Transport(_)
        )
    }

    /// The same error with every secret replaced by `***` (URLs in redirect errors may carry
    /// tokens).
    pub fn redacted(self, secrets: &[String]) -> FetchError {
        if secrets.is_empty() {
            return self;
        }
        let r = |text: String| redact(&text, secrets);
        match self {
            FetchError::Dns(t) => FetchError::Dns(r(t)),
            FetchError::Transport(t) => FetchError::Transport(r(t)),
            FetchError::Tls(t) => FetchError::Tls(r(t)),
            FetchError::Body(t) => FetchError::Body(r(t)),
            FetchError::Undecodable(t) => FetchError::Undecodable(r(t)),
            FetchError::RedirectLoop(urls) => {
                FetchError::RedirectLoop(urls.into_iter().map(r).collect())
            }
            FetchError::UnsupportedRedirect(t) => FetchError::UnsupportedRedirect(r(t)),
            FetchError::InvalidLocation(t) => FetchError::InvalidLocation(r(t)),
            FetchError::InvalidRequest(t) => FetchError::InvalidRequest(r(t)),
            FetchError::Setup(t) => FetchError::Setup(r(t)),
            FetchError::Other(t) => FetchError::Other(r(t)),
            FetchError::Denied(t) => FetchError::Denied(r(t)),
            e @ (FetchError::Timeout(_)
            | FetchError::BodyTooLarge { .. }
            | FetchError::TooManyRedirects(_)) => e,
        }
    }
}

/// Render a byte count the way specs write sizes: `10 MiB`, `512 KiB`, `1000 bytes`.
pub fn format_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const GIB: u64 = 1024 * MIB;
    match bytes {
        0 => "0 bytes".to_string(),
        b if b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        1 => "1 byte".to_string(),
        b => format!("{b} bytes"),
    }
}

/// Classify an error from sending a request (before any response head arrived).
pub(crate) fn classify_send(err: &reqwest::Error, https: bool) -> FetchError {
    if let Some(denied) = find_denied(err) {
        return FetchError::Denied(denied.0.clone());
    }
    if err.is_dns() {
        return FetchError::Dns(describe(err));
    }
    if let Some(io) = find_io(err) {
        if https && io.kind() == io::ErrorKind::InvalidData {
            // rustls reports handshake and certificate failures as InvalidData carrying the
            // rustls error, whose Display is already precise ("invalid peer certificate: ...").
            return FetchError::Tls(io_message(io));
        }
        if let Some(reason) = io_kind_reason(io.kind()) {
            return FetchError::Transport(reason.to_string());
        }
        if https && err.is_connect() {
            return FetchError::Tls(io_message(io));
        }
        return FetchError::Transport(io_message(io));
    }
    if err.is_builder() {
        return FetchError::InvalidRequest(describe(err));
    }
    FetchError::Transport(describe(err))
}

/// Classify an error from reading a response body.
///
/// The decompression layer passes transport errors through unchanged and reports its own
/// failures as bare `io::Error`s, so an `io::Error` with no HTTP-level error above it in the
/// chain means the compressed data was bad.
pub(crate) fn classify_body(err: &reqwest::Error) -> FetchError {
    let mut saw_transport = false;
    let mut current: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if saw_transport {
                let reason = match io.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        "connection closed before the body was complete".to_string()
                    }
                    kind => io_kind_reason(kind)
                        .map(str::to_string)
                        .unwrap_or_else(|| io_message(io)),
                };
                return FetchError::Body(reason);
            }
            return FetchError::Undecodable(io_message(io));
        }
        if e.downcast_ref::<reqwest::Error>().is_none() {
            // Anything that is neither reqwest's wrapper nor io: hyper's transport errors.
            saw_transport = true;
        }
        current = e.source();
    }
    FetchError::Body(describe(err))
}

/// A short reason for the io error kinds a person meets on the network.
fn io_kind_reason(kind: io::ErrorKind) -> Option<&'static str> {
    use io::ErrorKind as K;
    Some(match kind {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset by peer",
        K::ConnectionAborted => "connection aborted",
        K::BrokenPipe => "connection closed by peer (broken pipe)",
        K::UnexpectedEof => "connection closed unexpectedly",
        K::TimedOut => "connect timed out",
        K::HostUnreachable => "host unreachable",
        K::NetworkUnreachable => "network unreachable",
        K::NetworkDown => "network down",
        K::AddrNotAvailable => "address not available",
        _ => return None,
    })
}

/// The guarded resolver's refusal, if that is why the request failed.
fn find_denied<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a super::guard::DeniedAddress> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(denied) = e.downcast_ref::<super::guard::DeniedAddress>() {
            return Some(denied);
        }
        current = e.source();
    }
    None
}

/// The first `io::Error` in the source chain.
fn find_io<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a io::Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

/// An io error's message without the `(os error N)` suffix, preferring a wrapped error's text.
fn io_message(io: &io::Error) -> String {
    let text = match io.get_ref() {
        Some(inner) => inner.to_string(),
        None => io.to_string(),
    };
    strip_os_error(&text)
}

/// The deepest message in the chain: the most precise one (reqwest's outer text is generic and
/// repeats the URL).
pub(crate) fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut last = err.to_string();
    let mut current = err.source();
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() {
            last = text;
        }
        current = e.source();
    }
    reword(&strip_os_error(&last))
}

/// hyper's and h2's messages that do not say what happened in a person's terms, by prefix, and
/// what to say instead (the rest of the message follows).
const REWORDED: &[(&str, &str)] = &[
    (
        "message head is too large",
        "response headers too large (more than 408 KiB or 100 fields)",
    ),
    (
        "stream error received: ",
        "HTTP/2 stream reset by the server: ",
    ),
    (
        "connection error received: ",
        "HTTP/2 GOAWAY from the server: ",
    ),
    (
        "connection error detected: ",
        "HTTP/2 protocol error by the server: ",
    ),
    (
        "stream error detected: ",
        "HTTP/2 protocol error by the server: ",
    ),
];

/// `text` in words a person can act on (see [`REWORDED`]).
fn reword(text: &str) -> String {
    REWORDED
        .iter()
        .find_map(|(from, to)| text.strip_prefix(from).map(|rest| format!("{to}{rest}")))
        .unwrap_or_else(|| text.to_string())
}

/// `Connection refused (os error 111)` -> `Connection refused`.
fn strip_os_error(text: &str) -> String {
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_specs() {
        assert_eq!(format_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(format_size(512 * 1024), "512 KiB");
        assert_eq!(format_size(1000), "1000 bytes");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(2 * 1024 * 1024 * 1024), "2 GiB");
    }

    #[test]
    fn displays_are_actionable() {
        assert_eq!(
            FetchError::Timeout(Duration::from_secs(10)).to_string(),
            "timeout after 10s"
        );
        assert_eq!(
            FetchError::BodyTooLarge {
                limit: 10 * 1024 * 1024
            }
            .to_string(),
            "body larger than max_body (10 MiB)"
        );
        assert_eq!(
            FetchError::RedirectLoop(vec![
                "http://a/x".into(),
                "http://a/y".into(),
                "http://a/x".into()
            ])
            .to_string(),
            "redirect loop: http://a/x -> http://a/y -> http://a/x"
        );
        assert_eq!(
            FetchError::TooManyRedirects(10).to_string(),
            "too many redirects (more than 10)"
        );
        assert_eq!(
            FetchError::UnsupportedRedirect("ftp://h/f".into()).to_string(),
            "redirect to unsupported URL \"ftp://h/f\""
        );
        assert_eq!(
            FetchError::Tls("invalid peer certificate: UnknownIssuer".into()).to_string(),
            "TLS: invalid peer certificate: UnknownIssuer"
        );
    }

    #[test]
    fn cryptic_protocol_messages_are_reworded() {
        assert_eq!(
            reword("message head is too large"),
            "response headers too large (more than 408 KiB or 100 fields)"
        );
        assert_eq!(
            reword("stream error received: unexpected internal error encountered"),
            "HTTP/2 stream reset by the server: unexpected internal error encountered"
        );
        assert_eq!(
            reword("connection error received: unspecific protocol error detected (b\"bye\")"),
            "HTTP/2 GOAWAY from the server: unspecific protocol error detected (b\"bye\")"
        );
        assert_eq!(
            reword("connection error detected: frame with invalid size"),
            "HTTP/2 protocol error by the server: frame with invalid size"
        );
        assert_eq!(reword("connection refused"), "connection refused");
    }

    #[test]
    fn os_error_suffix_is_dropped() {
        assert_eq!(
            strip_os_error("Connection refused (os error 111)"),
            "Connection refused"
        );
        assert_eq!(strip_os_error("plain"), "plain");
    }

    #[test]
    fn secrets_are_redacted() {
        let e = FetchError::RedirectLoop(vec!["http://a/?t=s3cret".into(), "http://b/".into()]);
        let e = e.redacted(&["s3cret".to_string()]);
        assert_eq!(e.to_string(), "redirect loop: http://a/?t=*** -> http://b/");
    }

    #[test]
    fn retryable_kinds() {
        assert!(FetchError::Transport("connection refused".into()).is_retryable());
        assert!(FetchError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(!FetchError::BodyTooLarge { limit: 1 }.is_retryable());
        assert!(!FetchError::Tls("x".into()).is_retryable());
        assert!(!FetchError::Body("x".into()).is_retryable());
    }
}
