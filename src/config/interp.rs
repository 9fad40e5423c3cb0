//! `${NAME}` / `${NAME:-default}` interpolation of string values.
//!
//! `$${` is a literal `${`; any other `$` is literal, so JSONPath (`$.items[*]`) and regexes
//! (`^\$\d+$`, `x$`) pass through untouched. Values that came from the environment are reported
//! so that they can be redacted as secrets.

use super::EnvLookup;

/// The result of interpolating one string.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Interpolated {
    /// The string with every reference replaced.
    pub text: String,
    /// Values taken from the environment (not defaults), in order.
    pub from_env: Vec<String>,
    /// One message per problem (unset variable, malformed reference).
    pub errors: Vec<String>,
}

/// Interpolate `input`. Problems are collected, never fatal: every unset variable is reported.
pub(crate) fn interpolate(input: &str, env: EnvLookup<'_>) -> Interpolated {
    let mut out = Interpolated::default();
    if !input.contains("${") {
        out.text = input.to_string();
        return out;
    }
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.text.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(close) = after.find('}') else {
                out.errors
                    .push("unterminated `${` (write `$${` for a literal `${`)".to_string());
                out.text.push_str(tail);
                return out;
            };
            reference(&after[..close], env, &mut out);
            rest = &after[close + 1..];
        } else {
            out.text.push('$');
            rest = &tail[1..];
        }
    }
    out.text.push_str(rest);
    out
}

/// Resolve the inside of one `${...}`.
fn reference(inner: &str, env: EnvLookup<'_>, out: &mut Interpolated) {
    let (name, default) = match inner.split_once(":-") {
        Some((n, d)) => (n, Some(d)),
        None => (inner, None),
    };
    if !super::walk::IDENTIFIER.matches(name) {
        out.errors.push(format!(
            "invalid variable reference `${{{inner}}}`: expected ${{NAME}} or ${{NAME:-default}} \
             with NAME like [A-Za-z_][A-Za-z0-9_]* (write `$${{` for a literal `${{`)"
        ));
        return;
    }
    match (env(name), default) {
        (Some(v), Some(d)) if v.is_empty() => out.text.push_str(d),
        (Some(v), _) => {
            out.text.push_str(&v);
            out.from_env.push(v);
        }
        (None, Some(d)) => out.text.push_str(d),
        (None, None) => out.errors.push(format!(
            "environment variable `{name}` is not set (use ${{{name}:-default}} for a default)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(s: &str) -> Interpolated {
        interpolate(s, &env)
    }

    #[test]
    fn replaces_and_records_env_values() {
        let r = run("Bearer ${TOKEN}");
        assert_eq!(r.text, "Bearer s3cret");
        assert_eq!(r.from_env, vec!["s3cret".to_string()]);
        assert!(r.errors.is_empty());
    }

    #[test]
    fn defaults_are_not_secrets() {
        let r = run("${NOPE:-fallback}/${EMPTY:-e}/${EMPTY}");
        assert_eq!(r.text, "fallback/e/");
        assert_eq!(r.from_env, vec![String::new()]);
    }

    #[test]
    fn dollars_stay_literal() {
        for s in ["$.items[*]", r"^\$\d+$", "x$", "$", "a$b", "$$"] {
            let r = run(s);
            assert_eq!(r.text, s);
            assert!(r.errors.is_empty());
        }
        assert_eq!(run("$${TOKEN}").text, "${TOKEN}");
        assert_eq!(run("$$${TOKEN}").text, "$${TOKEN}");
    }

    #[test]
    fn every_unset_variable_is_an_error() {
        let r = run("${A}-${B}");
        assert_eq!(r.errors.len(), 2);
        assert!(r.errors[0].contains("`A` is not set"));
        assert!(r.errors[1].contains("`B` is not set"));
        assert!(run("${oops").errors[0].contains("unterminated"));
        assert!(run("${1x}").errors[0].contains("invalid variable reference"));
    }
}
