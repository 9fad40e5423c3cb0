//! Showing values in failure messages: quoted, escaped and bounded (bodies can be huge).

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use serde_json::Value;

/// Longest shown part of an actual value, in characters.
pub(super) const MAX_SHOWN: usize = 80;

/// Characters kept before a match when showing an excerpt around it.
const CONTEXT_BEFORE: usize = 30;

/// `text` quoted and escaped, cut to [`MAX_SHOWN`] characters with an ellipsis.
pub(super) fn quote(text: &str) -> String {
    excerpt(text, 0)
}

/// A quoted window of at most [`MAX_SHOWN`] characters of `text` that shows the byte offset
/// `at` (the start of a match) with some context before it; cut ends get an ellipsis.
pub(super) fn excerpt(text: &str, at: usize) -> String {
    let at = floor_char_boundary(text, at.min(text.len()));
    let before = text[..at]
        .char_indices()
        .rev()
        .take(CONTEXT_BEFORE)
        .last()
        .map_or(at, |(i, _)| i);
    // Start earlier when the window would otherwise run short at the end of the text.
    let last_window = text
        .char_indices()
        .rev()
        .take(MAX_SHOWN)
        .last()
        .map_or(0, |(i, _)| i);
    let start = before.min(last_window);
    let end = text[start..]
        .char_indices()
        .nth(MAX_SHOWN)
        .map_or(text.len(), |(i, _)| start + i);
    let mut out = String::with_capacity(end - start + 8);
    out.push('"');
    if start > 0 {
        out.push('…');
    }
    escape_into(&text[start..end], &mut out);
    if end < text.len() {
        out.push('…');
    }
    out.push('"');
    out
}

/// Push `text` with quotes, backslashes and control characters escaped.
fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A JSON value as compact JSON (strings quoted), cut to [`MAX_SHOWN`] characters.
pub(super) fn json(value: &Value) -> String {
    if let Value::String(s) = value {
        return quote(s);
    }
    // Serialise at most a few times the shown length, however large the value is.
    let mut sink = Bounded {
        buf: Vec::new(),
        limit: MAX_SHOWN * 4,
    };
    let complete = serde_json::to_writer(&mut sink, value).is_ok();
    let text = match std::str::from_utf8(&sink.buf) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&sink.buf[..e.valid_up_to()]).unwrap_or(""),
    };
    match text.char_indices().nth(MAX_SHOWN) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None if complete => text.to_string(),
        None => format!("{text}…"),
    }
}

/// An `io::Write` that keeps at most `limit` bytes and then refuses more.
struct Bounded {
    /// What was written so far.
    buf: Vec<u8>,
    /// Bytes kept before writing fails.
    limit: usize,
}

impl io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.buf.len());
        if room == 0 {
            return Err(io::Error::other("enough shown"));
        }
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A duration as people write it in specs: `800ms`, `1.2s`, `2m5s`.
pub(super) fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let mins = ms / 60_000;
    let rest_ms = ms % 60_000;
    let secs = format!("{}.{:03}", rest_ms / 1000, rest_ms % 1000);
    let secs = secs.trim_end_matches('0').trim_end_matches('.');
    match (mins, secs) {
        (0, s) => format!("{s}s"),
        (m, "0") => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(quote("Welcome"), r#""Welcome""#);
        assert_eq!(quote("a \"b\"\n\\"), r#""a \"b\"\n\\""#);
        assert_eq!(quote("don't ünï"), "\"don't ünï\"");
        assert_eq!(quote("\u{1}"), r#""\u{1}""#);
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let long = "x".repeat(200);
        let shown = quote(&long);
        assert_eq!(shown, format!("\"{}…\"", "x".repeat(80)));
        let exact = "é".repeat(80);
        assert_eq!(quote(&exact), format!("\"{exact}\""));
    }

    #[test]
    fn excerpt_shows_context_around_a_match() {
        let text = format!("{}Exception{}", "a".repeat(100), "b".repeat(100));
        let shown = excerpt(&text, 100);
        assert_eq!(
            shown,
            format!("\"…{}Exception{}…\"", "a".repeat(30), "b".repeat(41))
        );
        assert_eq!(excerpt("short Exception", 6), "\"short Exception\"");
        assert_eq!(excerpt("ééé", 3), "\"ééé\"");
    }

    #[test]
    fn json_values_are_compact_and_bounded() {
        assert_eq!(json(&json!(250)), "250");
        assert_eq!(json(&json!("ok")), "\"ok\"");
        assert_eq!(
            json(&json!({"a": [1, true, null]})),
            r#"{"a":[1,true,null]}"#
        );
        let big = Value::Array((0..10_000).map(|i| json!(i)).collect());
        let shown = json(&big);
        assert!(shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), 81);
    }

    #[test]
    fn durations_read_like_specs() {
        assert_eq!(duration(Duration::from_millis(800)), "800ms");
        assert_eq!(duration(Duration::from_millis(1200)), "1.2s");
        assert_eq!(duration(Duration::from_millis(1042)), "1.042s");
        assert_eq!(duration(Duration::from_secs(2)), "2s");
        assert_eq!(duration(Duration::from_millis(125_500)), "2m5.5s");
        assert_eq!(duration(Duration::from_secs(120)), "2m");
    }
}
