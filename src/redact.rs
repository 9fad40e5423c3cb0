//! Secrets out of text: every occurrence of a secret becomes `***`, and so does the part of a
//! secret that a shortened quote cut at its `…` (a page text shown as `"auth=Bearer tok-4…"`
//! would otherwise leak the secret's first characters).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use url::Url;

/// What a secret shows as.
const MASK: &str = "***";

/// A value that is a secret through and through (a password): its `Debug` is `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wrap `value`.
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself, for the one place that needs it (a login).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl From<String> for Secret<String> {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret<String> {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// The secret strings of a target or a channel (from `${VAR}`, credential headers, passwords):
/// what no output may show. Its `Debug` says how many there are, never which.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secrets(Arc<[String]>);

impl Deref for Secrets {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for Secrets {
    fn from(v: Vec<String>) -> Self {
        Secrets(Arc::from(v))
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|_| Masked))
            .finish()
    }
}

/// Shows as `***`.
struct Masked;

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Secrets {
    /// `value`'s `Debug` with every secret replaced by `***`, as it is written and as `Debug`
    /// escapes it inside a quoted string; for the `Debug` of what holds the secrets.
    pub fn in_debug<'a, T: fmt::Debug + ?Sized>(&'a self, value: &'a T) -> impl fmt::Debug + 'a {
        InDebug {
            value,
            secrets: self,
        }
    }
}

/// See [`Secrets::in_debug`].
struct InDebug<'a, T: ?Sized> {
    /// What is shown.
    value: &'a T,
    /// What must not show.
    secrets: &'a Secrets,
}

impl<T: fmt::Debug + ?Sized> fmt::Debug for InDebug<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            format!("{:#?}", self.value)
        } else {
            format!("{:?}", self.value)
        };
        let mut forms: Vec<String> = Vec::with_capacity(self.secrets.len() * 2);
        for s in self.secrets.iter() {
            let quoted = format!("{s:?}");
            let escaped = &quoted[1..quoted.len() - 1];
            if escaped != s {
                forms.push(escaped.to_string());
            }
            forms.push(s.clone());
        }
        f.write_str(&redact(&text, &forms))
    }
}

/// The mark quotes use where they cut text (see `evaluate::show`).
const CUT: char = '…';

/// The shortest piece of a secret next to a cut that is redacted: shorter ones say nothing
/// about the secret, and would mangle ordinary text.
const MIN_PIECE: usize = 3;

/// Replace every occurrence of each secret by `***` (longest first), then any piece of at least
/// three characters of a secret that ends at a `…` (its start) or begins after one (its end).
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if sorted.is_empty() {
        return text.to_string();
    }
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in &sorted {
        if out.contains(s) {
            out = out.replace(s, "***");
        }
    }
    if out.contains(CUT) {
        out = redact_cut_pieces(&out, &sorted);
    }
    out
}

/// The `…`-separated parts of `text`, each with the cut-off pieces of secrets at its edges
/// replaced.
fn redact_cut_pieces(text: &str, secrets: &[&str]) -> String {
    let parts: Vec<&str> = text.split(CUT).collect();
    let last = parts.len() - 1;
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(CUT);
        }
        // After a cut, the part may begin with a secret's end; before one, end with its start.
        let head = if i > 0 {
            longest_tail_at_start(part, secrets)
        } else {
            0
        };
        let tail = if i < last {
            longest_head_at_end(part, secrets)
        } else {
            0
        };
        if head + tail >= part.len() && (head > 0 || tail > 0) {
            out.push_str("***");
            continue;
        }
        if head > 0 {
            out.push_str("***");
        }
        out.push_str(&part[head..part.len() - tail]);
        if tail > 0 {
            out.push_str("***");
        }
    }
    out
}

/// Length in bytes of the longest end of a secret (at least [`MIN_PIECE`] characters) that
/// `part` starts with; 0 if none.
fn longest_tail_at_start(part: &str, secrets: &[&str]) -> usize {
    secrets
        .iter()
        .flat_map(|s| s.char_indices().map(move |(i, _)| &s[i..]))
        .filter(|piece| piece.chars().count() >= MIN_PIECE && part.starts_with(piece))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Length in bytes of the longest start of a secret (at least [`MIN_PIECE`] characters) that
/// `part` ends with; 0 if none.
fn longest_head_at_end(part: &str, secrets: &[&str]) -> usize {
    secrets
        .iter()
        .flat_map(|s| {
            s.char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain(std::iter::once(s.len()))
                .map(move |end| &s[..end])
        })
        .filter(|piece| piece.chars().count() >= MIN_PIECE && part.ends_with(piece))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Is `name` a header whose value is a credential?
pub(crate) fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["token", "key", "secret", "password"]
        .iter()
        .any(|w| n.contains(w))
}

/// The forms a secret takes once it is part of a URL (percent-encoded as in a query or a
/// path), where they differ from the secret: URLs are printed, and must be redacted too.
pub(crate) fn secret_forms(secret: &str) -> Vec<String> {
    let Ok(mut url) = Url::parse("http://host/") else {
        return Vec::new();
    };
    url.set_query(Some(secret));
    let query = url.query().unwrap_or_default().to_string();
    url.set_query(None);
    url.set_path(secret);
    let path = url.path().trim_start_matches('/').to_string();
    let mut forms = Vec::new();
    for form in [query, path] {
        if form != secret && !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Vec<String> {
        vec!["tok-abcdef".into(), "Bearer tok-abcdef".into()]
    }

    #[test]
    fn whole_secrets_longest_first() {
        assert_eq!(
            redact("auth: Bearer tok-abcdef, again tok-abcdef", &secrets()),
            "auth: ***, again ***"
        );
        assert_eq!(redact("nothing here", &secrets()), "nothing here");
        assert_eq!(redact("tok-abcdef", &[]), "tok-abcdef");
    }

    #[test]
    fn a_secret_cut_by_a_quote_is_redacted_on_both_sides() {
        assert_eq!(
            redact("found \"auth=Bearer tok-ab…\"", &secrets()),
            "found \"auth=***…\""
        );
        assert_eq!(
            redact("found \"…bcdef and more…\"", &secrets()),
            "found \"…*** and more…\""
        );
        // A part that is nothing but pieces of secrets.
        assert_eq!(redact("\"…cdef…\"", &secrets()), "\"…***…\"");
        // Short pieces and pieces not at a cut stay.
        assert_eq!(redact("\"to…\" tok-a", &secrets()), "\"to…\" tok-a");
        assert_eq!(redact("…", &secrets()), "…");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secrets = Secrets::from(vec!["tok\"en-1".to_string(), "pässwörd".to_string()]);
        assert_eq!(format!("{secrets:?}"), "[***, ***]");
        assert_eq!(format!("{:?}", Secret::new("pässwörd")), "***");
        let held = vec![("Authorization", "Bearer tok\"en-1"), ("X", "pässwörd!")];
        let shown = format!("{:?}", secrets.in_debug(&held));
        assert_eq!(shown, r#"[("Authorization", "Bearer ***"), ("X", "***!")]"#);
        let pretty = format!("{:#?}", secrets.in_debug(&held));
        assert!(
            !pretty.contains("en-1") && !pretty.contains("wörd"),
            "{pretty}"
        );
        assert!(pretty.contains('\n'), "{pretty}");
    }

    #[test]
    fn multibyte_secrets_are_cut_on_char_boundaries() {
        let s = vec!["pässwörd".to_string()];
        assert_eq!(redact("x=päss…", &s), "x=***…");
        assert_eq!(redact("…wörd!", &s), "…***!");
    }
}
