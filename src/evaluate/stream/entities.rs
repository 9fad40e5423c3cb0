//! Character references in raw text and attribute values, decoded the way the HTML tree
//! builder does for the well-formed cases; anything else is reported as unknown so the caller
//! hands the page over to the full parser rather than guess.

use std::borrow::Cow;

use markup5ever::data::NAMED_ENTITIES;

/// Longest entity name worth looking up (`CounterClockwiseContourIntegral;` is 32 chars).
const MAX_NAME: usize = 40;

/// Decode `&name;`, `&#N;` and `&#xH;` in `raw`. `None` when a reference is one whose meaning
/// depends on rules not implemented here (no semicolon, C1 or invalid code points).
pub(super) fn decode(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains('&') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let Some(first) = rest.chars().next() else {
            out.push('&');
            break;
        };
        if first == '#' {
            let (c, used) = numeric(&rest[1..])?;
            out.push(c);
            rest = &rest[1 + used..];
        } else if first.is_ascii_alphanumeric() {
            let name_len = rest
                .bytes()
                .take(MAX_NAME)
                .take_while(u8::is_ascii_alphanumeric)
                .count();
            if rest.as_bytes().get(name_len) != Some(&b';') {
                return None;
            }
            let (a, b) = *NAMED_ENTITIES.get(&rest[..=name_len])?;
            out.push(char::from_u32(a)?);
            if b != 0 {
                out.push(char::from_u32(b)?);
            }
            rest = &rest[name_len + 1..];
        } else {
            // `& `, `&&`, `&=`: not a reference, a literal ampersand.
            out.push('&');
        }
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// `N;` or `xH;` after `&#`: the character and the bytes used.
fn numeric(s: &str) -> Option<(char, usize)> {
    let (digits, radix, skip) = match s.as_bytes().first() {
        Some(b'x' | b'X') => (&s[1..], 16, 1),
        _ => (s, 10, 0),
    };
    let len = digits
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    if len == 0 || len > 8 || digits.as_bytes().get(len) != Some(&b';') {
        return None;
    }
    let cp = u32::from_str_radix(&digits[..len], radix).ok()?;
    if cp == 0 || (0x80..=0x9f).contains(&cp) || cp == 0x0d {
        return None;
    }
    Some((char::from_u32(cp)?, skip + len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_well_formed_references() {
        assert_eq!(decode("a &amp; b").as_deref(), Some("a & b"));
        assert_eq!(
            decode("&lt;p&gt;&#65;&#x42;&#X43;").as_deref(),
            Some("<p>ABC")
        );
        assert_eq!(
            decode("&NotNestedGreaterGreater;").as_deref(),
            Some("\u{2aa2}\u{338}")
        );
        assert_eq!(decode("5 & 6 &= x&").as_deref(), Some("5 & 6 &= x&"));
        assert!(matches!(decode("plain"), Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn hands_over_what_depends_on_more_rules() {
        for raw in [
            "&amp",
            "&copy2024",
            "&#128;",
            "&#0;",
            "&#xD800;",
            "&#65",
            "&nosuch;",
            "&#13;",
        ] {
            assert_eq!(decode(raw), None, "{raw}");
        }
    }
}
