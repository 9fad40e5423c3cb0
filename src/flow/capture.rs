//! Taking a step's captures from its response (and the run's cookie jar).

use reqwest::header::HeaderMap;

use crate::evaluate::capture::Parsed;
use crate::fetch::{Response, Session};
use crate::model::flow::{Capture, CaptureSource, CssValue};

/// The value of every capture, in order; `Err` says why one found nothing.
pub(super) fn take_all(
    captures: &[Capture],
    response: &Response,
    session: &Session,
) -> Vec<Result<String, String>> {
    let mut parsed = Parsed::new(response);
    captures
        .iter()
        .map(|c| {
            let raw = source(c, response, session, &mut parsed)?;
            match &c.regex {
                None => Ok(raw),
                Some(re) => {
                    let caps = re.captures(&raw).ok_or_else(|| {
                        format!("regex {:?} does not match {}", re.as_str(), what(&c.source))
                    })?;
                    let m = caps
                        .get(1)
                        .or_else(|| caps.get(0))
                        .map_or("", |m| m.as_str());
                    Ok(m.to_string())
                }
            }
        })
        .collect()
}

/// The value of the capture's source, before its regex.
fn source(
    c: &Capture,
    response: &Response,
    session: &Session,
    parsed: &mut Parsed<'_>,
) -> Result<String, String> {
    let none = || format!("{} found nothing", what(&c.source));
    match &c.source {
        CaptureSource::Json(path) => parsed.json(path)?.ok_or_else(none),
        CaptureSource::Header(name) => header(&response.headers, name).ok_or_else(none),
        CaptureSource::Cookie(name) => session.cookie(name).ok_or_else(none),
        CaptureSource::Css(sel, value) => {
            let attr = match value {
                CssValue::Text => None,
                CssValue::Attr(a) => Some(a.as_str()),
            };
            parsed.css(sel, attr)?.ok_or_else(none)
        }
        CaptureSource::Body => parsed.text().map(str::to_string),
        CaptureSource::Status => Ok(response.status.to_string()),
        CaptureSource::FinalUrl => Ok(response.final_url.to_string()),
        CaptureSource::Redirect => response
            .first_redirect
            .as_ref()
            .map(|u| u.to_string())
            .ok_or_else(none),
    }
}

/// A header's value as text (the first, if repeated).
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The source as people name it, for messages.
fn what(source: &CaptureSource) -> String {
    match source {
        CaptureSource::Json(p) => format!("JSONPath {:?}", p.source),
        CaptureSource::Header(h) => format!("header {h:?}"),
        CaptureSource::Cookie(c) => format!("cookie {c:?}"),
        CaptureSource::Css(sel, CssValue::Text) => format!("CSS {:?} (text)", sel.source),
        CaptureSource::Css(sel, CssValue::Attr(a)) => {
            format!("CSS {:?} (attribute {a:?})", sel.source)
        }
        CaptureSource::Body => "the body".to_string(),
        CaptureSource::Status => "the status".to_string(),
        CaptureSource::FinalUrl => "the final URL".to_string(),
        CaptureSource::Redirect => "a redirect (the response was not one)".to_string(),
    }
}
