//! `GET /badge/SPEC/TARGET.svg`: a shields.io-style SVG badge of a target's status (`up`,
//! `down`, `warning`, `pending`), or with `?window=7d` its uptime over that window (`99.95%`).
//! `?label=TEXT` replaces the left-hand text. Served with `Content-Type: image/svg+xml`, a
//! short `Cache-Control`, an `ETag` (a matching `If-None-Match` gets `304`) and a CSP that lets
//! the SVG run nothing; an unknown target is a `404` with a grey "not found" badge, a bad
//! parameter a plain `400`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ServerHandle;
use super::history::params;
use crate::history::{DAY_MS, HOUR_MS, doc};
use crate::result::Outcome;

/// Shortest and longest `window`.
pub const WINDOWS: (i64, i64) = (HOUR_MS, 731 * DAY_MS);
/// How long clients may reuse a badge.
pub const MAX_AGE_SECONDS: u32 = 60;
/// Longest `label`, in characters.
const MAX_LABEL: usize = 64;

const GREEN: &str = "#4c1";
const YELLOW_GREEN: &str = "#97ca00";
const YELLOW: &str = "#dfb317";
const ORANGE: &str = "#fe7d37";
const RED: &str = "#e05d44";
const GREY: &str = "#9f9f9f";

/// Approximate width in pixels of `text` in 11 px Verdana (shields.io's font and size).
pub fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' => 4,
            'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | ' ' | '/' | '-' => 5,
            'm' | 'w' | 'M' | 'W' | '%' => 11,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum()
}

fn xml_escape(text: &str) -> String {
    crate::report::escape_html(text)
}

/// `99.95%` (cut to 2 decimals, so only a flawless window shows `100%`).
pub fn badge_percent(p: f64) -> String {
    if p >= 100.0 {
        "100%".to_string()
    } else {
        format!("{:.2}%", (p * 100.0).floor() / 100.0)
    }
}

/// The badge: `label` on grey, `message` on `color`.
pub fn svg(label: &str, message: &str, color: &str) -> String {
    let (lw, mw) = (text_width(label) + 10, text_width(message) + 10);
    let w = lw + mw;
    let (label, message) = (xml_escape(label), xml_escape(message));
    let (lx, mx) = (f64::from(lw) / 2.0, f64::from(lw) + f64::from(mw) / 2.0);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"20\" role=\"img\" aria-label=\"{label}: {message}\">\
<title>{label}: {message}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{w}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/><rect x=\"{lw}\" width=\"{mw}\" height=\"20\" fill=\"{color}\"/><rect width=\"{w}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{lx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{label}</text><text x=\"{lx}\" y=\"14\">{label}</text>\
<text x=\"{mx}\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">{message}</text><text x=\"{mx}\" y=\"14\">{message}</text>\
</g></svg>\n"
    )
}

/// The colour of an uptime percentage.
pub fn uptime_color(p: Option<f64>) -> &'static str {
    match p {
        None => GREY,
        Some(p) if p >= 99.9 => GREEN,
        Some(p) if p >= 99.0 => YELLOW_GREEN,
        Some(p) if p >= 95.0 => YELLOW,
        Some(p) if p >= 90.0 => ORANGE,
        Some(_) => RED,
    }
}

/// The word and colour of a last result.
pub fn status_of(outcome: Option<Outcome>) -> (&'static str, &'static str) {
    match outcome.map(Outcome::as_str) {
        None => ("pending", GREY),
        Some("success") => ("up", GREEN),
        Some(r) if crate::history::is_down(r) => ("down", RED),
        Some(other) => (other, YELLOW),
    }
}

fn svg_response(status: StatusCode, body: String, headers: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", crate::scheduler::stable_hash(&body));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh && status == StatusCode::OK {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, body).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("max-age={MAX_AGE_SECONDS}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

/// `GET /badge/{spec}/{file}` where `file` is `TARGET.svg`.
pub async fn badge(
    State(handle): State<ServerHandle>,
    Path((spec, file)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(target) = file.strip_suffix(".svg") else {
        return (StatusCode::NOT_FOUND, "badges are /badge/SPEC/TARGET.svg\n").into_response();
    };
    let p = match params(raw.as_deref(), &["window", "label"]) {
        Ok(p) => p,
        Err(e) => return bad_request(e),
    };
    let label = p
        .get("label")
        .map(|l| l.chars().take(MAX_LABEL).collect::<String>());
    let Some(last) = handle.status.configured_outcome(&spec, target) else {
        let body = svg(label.as_deref().unwrap_or("dcrawl"), "not found", GREY);
        return svg_response(StatusCode::NOT_FOUND, body, &headers);
    };
    let Some(window) = p.get("window") else {
        let (word, color) = status_of(last);
        let body = svg(label.as_deref().unwrap_or("status"), word, color);
        return svg_response(StatusCode::OK, body, &headers);
    };
    let len = match crate::config::units::parse_duration(window) {
        Ok(d) => crate::history::millis(d),
        Err(e) => return bad_request(format!("window: {e}")),
    };
    if !(WINDOWS.0..=WINDOWS.1).contains(&len) {
        return bad_request(format!("window: {window:?} is not between 1h and 731d"));
    }
    let Some(history) = handle.history.clone() else {
        return bad_request("window: this instance keeps no history".to_string());
    };
    let reader = history.reader();
    let (spec_name, target_name) = (spec.clone(), target.to_string());
    let now = chrono::Utc::now().timestamp_millis();
    let uptime = tokio::task::spawn_blocking(move || {
        reader.with(|db| doc::window_uptime(db, &spec_name, &target_name, len, now))
    })
    .await;
    let uptime = match uptime {
        Ok(Ok(u)) => u.flatten(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "history: cannot read a badge's uptime");
            None
        }
        Err(_) => None,
    };
    let label = label.unwrap_or_else(|| format!("uptime {window}"));
    let message = uptime.map_or_else(|| "no data".to_string(), badge_percent);
    let body = svg(&label, &message, uptime_color(uptime));
    svg_response(StatusCode::OK, body, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_uptimes_have_words_and_colours() {
        assert_eq!(status_of(Some(Outcome::Success)), ("up", GREEN));
        assert_eq!(status_of(Some(Outcome::Failure)), ("down", RED));
        assert_eq!(status_of(Some(Outcome::Error)), ("down", RED));
        assert_eq!(status_of(None), ("pending", GREY));
        assert_eq!(uptime_color(Some(99.95)), GREEN);
        assert_eq!(uptime_color(Some(99.5)), YELLOW_GREEN);
        assert_eq!(uptime_color(Some(80.0)), RED);
        assert_eq!(uptime_color(None), GREY);
        assert!(text_width("uptime 7d") > text_width("up"));
        assert_eq!(badge_percent(99.999), "99.99%");
        assert_eq!(badge_percent(100.0), "100%");
    }

    /// Parse a badge as XML, checking that it is well-formed (one root, every element closed
    /// in order): (root width, the widths of the two halves, every text).
    fn parse(svg: &str) -> (u32, Vec<u32>, Vec<String>) {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(svg);
        let (mut width, mut rects, mut texts) = (0, Vec::new(), Vec::new());
        let mut in_text = false;
        let (mut open, mut roots): (Vec<String>, usize) = (Vec::new(), 0);
        let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
            e.try_get_attribute(name).unwrap().map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned()
            })
        };
        loop {
            let event = reader.read_event().unwrap();
            match &event {
                Event::Start(e) => {
                    roots += usize::from(open.is_empty());
                    open.push(e.name().as_ref().to_string());
                }
                Event::Empty(_) => roots += usize::from(open.is_empty()),
                Event::End(e) => assert_eq!(open.pop().as_deref(), Some(e.name().as_ref())),
                Event::Text(t) => assert!(!open.is_empty() || t.trim_ascii().is_empty()),
                _ => {}
            }
            match event {
                Event::Start(e) if e.name().as_ref() == "svg" => {
                    assert_eq!(
                        attr(&e, "xmlns").as_deref(),
                        Some("http://www.w3.org/2000/svg")
                    );
                    width = attr(&e, "width").unwrap().parse().unwrap();
                }
                Event::Start(e) if e.name().as_ref() == "text" => {
                    in_text = true;
                    texts.push(String::new());
                }
                Event::End(e) if e.name().as_ref() == "text" => in_text = false,
                Event::Empty(e)
                    if e.name().as_ref() == "rect"
                        && attr(&e, "fill")
                            .is_some_and(|f| !f.starts_with("url") && f != "#fff") =>
                {
                    rects.push(attr(&e, "width").unwrap().parse().unwrap());
                }
                Event::Text(t) if in_text => {
                    texts.last_mut().unwrap().push_str(&t.xml10_content());
                }
                Event::GeneralRef(r) if in_text => {
                    let c = match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        _ => r.resolve_char_ref().unwrap().unwrap(),
                    };
                    texts.last_mut().unwrap().push(c);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(open.is_empty(), "unclosed elements in {svg}");
        assert_eq!(roots, 1, "{svg}");
        (width, rects, texts)
    }

    #[test]
    fn badges_are_valid_svg_as_wide_as_their_texts() {
        let (width, rects, texts) = parse(&svg("status", "up", GREEN));
        assert_eq!(rects, [text_width("status") + 10, text_width("up") + 10]);
        assert_eq!(width, rects.iter().sum::<u32>());
        assert_eq!(texts, ["status", "status", "up", "up"]);
        let (width, rects, texts) = parse(&svg("uptime 7d", "99.95%", GREEN));
        assert_eq!(width, rects.iter().sum::<u32>());
        assert!(width > 90 && width < 130, "{width}");
        assert_eq!(texts[2], "99.95%");
        // Text from a URL is escaped, never markup.
        let (_, _, texts) = parse(&svg("<b>&\"x\"", "up", GREEN));
        assert_eq!(texts[0], "<b>&\"x\"");
    }

    #[test]
    fn the_check_rejects_what_is_not_well_formed() {
        for bad in [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\"><g></svg>",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\"><g>",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\"></svg><svg></svg>",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\"></svg>text",
        ] {
            let parsed = std::panic::catch_unwind(|| parse(bad));
            assert!(parsed.is_err(), "accepted {bad}");
        }
    }
}
