//! Decoding the body to text once, per the charset of its `Content-Type`.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};
use reqwest::header::{CONTENT_TYPE, HeaderMap};

/// Decode `body` to text: a byte-order mark wins, then the `charset` of `Content-Type`
/// (any WHATWG label), else strict UTF-8. Text that does not decode cleanly is an error;
/// valid UTF-8 is borrowed, never copied.
pub(super) fn decode<'b>(headers: &HeaderMap, body: &'b [u8]) -> Result<Cow<'b, str>, String> {
    let (encoding, skip) = match Encoding::for_bom(body) {
        Some((encoding, bom_len)) => (encoding, bom_len),
        None => (charset(headers).unwrap_or(UTF_8), 0),
    };
    let bytes = &body[skip..];
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|e| {
            format!(
                "undecodable body: invalid UTF-8 at byte {}",
                skip + e.valid_up_to()
            )
        });
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| format!("undecodable body: invalid {} text", encoding.name()))
}

/// The encoding named by the `charset` parameter of `Content-Type`, if it names a known one.
fn charset(headers: &HeaderMap) -> Option<&'static Encoding> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches('"').as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_type(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        h
    }

    #[test]
    fn utf8_is_borrowed() {
        let body = "Grüße".as_bytes();
        let text = decode(&HeaderMap::new(), body).unwrap();
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(text, "Grüße");
        let text = decode(&with_type("text/html; charset=UTF-8"), body).unwrap();
        assert_eq!(text, "Grüße");
    }

    #[test]
    fn invalid_utf8_says_where() {
        let body = b"ok \xff\xfe bad";
        assert_eq!(
            decode(&HeaderMap::new(), body).unwrap_err(),
            "undecodable body: invalid UTF-8 at byte 3"
        );
        // A truncated multi-byte sequence at the end.
        assert_eq!(
            decode(&with_type("application/json"), b"ab\xc3").unwrap_err(),
            "undecodable body: invalid UTF-8 at byte 2"
        );
    }

    #[test]
    fn charset_from_content_type() {
        let latin1 = b"Gr\xfc\xdfe";
        let text = decode(&with_type("text/html; charset=ISO-8859-1"), latin1).unwrap();
        assert_eq!(text, "Grüße");
        let text = decode(
            &with_type(r#"text/plain;Charset="windows-1252""#),
            b"\x80 5",
        )
        .unwrap();
        assert_eq!(text, "€ 5");
        let sjis = b"\x93\xfa\x96\x7b";
        let text = decode(&with_type("text/html; charset=shift_jis"), sjis).unwrap();
        assert_eq!(text, "日本");
        // Without a charset the same bytes are not UTF-8.
        assert!(decode(&HeaderMap::new(), latin1).is_err());
        // An unknown label falls back to UTF-8.
        assert_eq!(
            decode(&with_type("text/html; charset=bogus"), b"ok").unwrap(),
            "ok"
        );
    }

    #[test]
    fn invalid_text_in_a_declared_charset_is_an_error() {
        let broken = b"\x93";
        assert_eq!(
            decode(&with_type("text/html; charset=Shift_JIS"), broken).unwrap_err(),
            "undecodable body: invalid Shift_JIS text"
        );
    }

    #[test]
    fn byte_order_marks_win_and_are_dropped() {
        let body = b"\xef\xbb\xbf{\"a\":1}";
        assert_eq!(
            decode(&with_type("application/json; charset=latin1"), body).unwrap(),
            "{\"a\":1}"
        );
        let utf16 = b"\xff\xfeh\x00i\x00";
        assert_eq!(decode(&HeaderMap::new(), utf16).unwrap(), "hi");
        assert_eq!(
            decode(&HeaderMap::new(), b"\xef\xbb\xbfa\xff").unwrap_err(),
            "undecodable body: invalid UTF-8 at byte 4"
        );
    }
}
