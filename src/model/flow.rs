//! The compiled form of a multi-step flow (`steps:`): requests run in order in one run, with
//! one cookie jar, values captured from one step's response and used by the next as `{{name}}`.

use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use super::{CssSelector, Expect, JsonPathExpr};

/// `steps:` of a target, with its `vars:` and whole-flow `timeout:`.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Run-scoped variables (`${VAR}` already replaced), by name.
    pub vars: Vec<(String, String)>,
    /// Budget of the whole run, every step included.
    pub timeout: Option<Duration>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Flow {
    /// The first step's URL with the variables expanded (it can use nothing else): the URL a
    /// flow target is shown with.
    pub fn first_url(&self) -> Option<url::Url> {
        let first = self.steps.first()?;
        let value = |name: &str| {
            self.vars
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        url::Url::parse(&first.url.expand_url(value)).ok()
    }
}

/// What a value may contain unencoded in a URL: the unreserved characters of RFC 3986.
const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A value percent-encoded for a URL (everything but the unreserved characters).
pub fn encode_url_value(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, URL_VALUE).to_string()
}

/// One request of a flow.
#[derive(Debug, Clone)]
pub struct Step {
    /// `name:`, unique in its target.
    pub name: String,
    /// The URL, with `{{name}}` references (percent-encoded when expanded).
    pub url: Template,
    /// HTTP method.
    pub method: reqwest::Method,
    /// The step's own headers (over the target's), values with `{{name}}` references.
    pub headers: Vec<(String, Template)>,
    /// The request body, with `{{name}}` references.
    pub body: Option<BodyTemplate>,
    /// What must hold of the response.
    pub expect: Expect,
    /// Budget of this step's request (the flow's remaining budget bounds it too).
    pub timeout: Duration,
    /// Redirects followed; 0 = none.
    pub follow_redirects: u32,
    /// Values taken from the response, by name.
    pub capture: Vec<Capture>,
    /// Run even after an earlier step failed (clean-up such as a logout).
    pub always_run: bool,
}

/// A string with `{{name}}` references, split once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Literal text and references, in order.
    pub pieces: Vec<Piece>,
}

/// A piece of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text used as written.
    Text(String),
    /// `{{name}}`: a variable or a capture of an earlier step.
    Var(String),
}

impl Template {
    /// A template of plain text.
    pub fn text(s: &str) -> Template {
        Template {
            pieces: vec![Piece::Text(s.to_string())],
        }
    }

    /// Expand every reference with `value(name)`, each replaced once (a value that itself
    /// contains `{{...}}` is never expanded again); `encode` is applied to each value.
    pub fn expand(
        &self,
        value: impl Fn(&str) -> Option<String>,
        encode: fn(&str) -> String,
    ) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) => out.push_str(&encode(&value(name).unwrap_or_default())),
            }
        }
        out
    }

    /// Expand for a URL: every value is percent-encoded, except a reference that begins the
    /// template, which is the URL's base (`{{base}}/api`, or a captured absolute URL) and is
    /// inserted as it is.
    pub fn expand_url(&self, value: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) if i == 0 => out.push_str(&value(name).unwrap_or_default()),
                Piece::Var(name) => {
                    out.push_str(&encode_url_value(&value(name).unwrap_or_default()))
                }
            }
        }
        out
    }

    /// The names this template refers to.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(n) => Some(n.as_str()),
            Piece::Text(_) => None,
        })
    }
}

/// A step's request body.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTemplate {
    /// `body:` text.
    Raw(Template),
    /// `json:`: every string in it may hold references (JSON-encoded when serialised).
    Json(Value),
}

/// `capture: {NAME: {...}}`: one value taken from a step's response.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The name later steps use as `{{name}}`.
    pub name: String,
    /// Where the value comes from.
    pub source: CaptureSource,
    /// Optional regex whose first group (or whole match) is taken from the source's value.
    pub regex: Option<Regex>,
    /// Redact the value everywhere, like `${VAR}` values.
    pub secret: bool,
}

/// Where a capture's value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// The first JSONPath match (a string as is, anything else as JSON text).
    Json(JsonPathExpr),
    /// A response header (case-insensitive).
    Header(String),
    /// A cookie in the run's jar, by name.
    Cookie(String),
    /// The first CSS match's text, or an attribute of it.
    Css(CssSelector, CssValue),
    /// The body as text (with `regex`).
    Body,
    /// The final response's status code.
    Status,
    /// The URL the step ended at, after redirects.
    FinalUrl,
    /// The `Location` of the step's first redirect, resolved against the request URL.
    Redirect,
}

/// What a CSS capture takes from its match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CssValue {
    /// The text, whitespace collapsed.
    Text,
    /// This attribute's value.
    Attr(String),
}
