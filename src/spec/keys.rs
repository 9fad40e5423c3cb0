//! The key tables of the spec format, in one place.
//!
//! The schema walker uses them to decide which keys are allowed and required,
//! [`super::reference::reference_markdown`] renders them (plus the prose on checks, schedules,
//! units and `${VAR}`) into `docs/spec-reference.md`, and [`crate::schema`] turns their
//! [`Kind`]s and [`Rule`]s into the JSON Schema that editors use, so neither can drift from the
//! code.

use super::walk::{EXTRACT_NAME, NamePattern, SPEC_NAME};

/// What a key's value may be, as the loader reads it (for the JSON Schema of [`crate::schema`]).
///
/// Scalars that the loader reads as text accept numbers and booleans too, and typed scalars
/// (integers, booleans, durations, ...) accept a string holding `${VAR}`, as the loader does.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Not described; anything goes (every table of the spec, alert and web config files gives
    /// its keys a kind).
    Unspecified,
    /// Any scalar, read as text (a string, number or boolean).
    Text,
    /// A string (a time zone, a mailbox).
    Str,
    /// A name following a pattern.
    Name(&'static NamePattern),
    /// An integer in `min..=max` (`u64::MAX`: no upper bound), or a string holding one.
    Int {
        /// Smallest value accepted.
        min: u64,
        /// Largest value accepted.
        max: u64,
    },
    /// `true` or `false` (or the same as a string).
    Bool,
    /// A number (or a numeric string).
    Number,
    /// A duration such as `10s` or `1m30s`.
    Duration,
    /// A size such as `10MiB`, or a whole number of bytes.
    Size,
    /// `@every DURATION`, `@hourly`, ... or a 5- or 6-field cron expression.
    Schedule,
    /// An http(s) URL.
    Url,
    /// An HTTP method (a token such as `GET`).
    Method,
    /// A CSS selector.
    Css,
    /// A JSONPath query (starts with `$`).
    JsonPath,
    /// A regular expression (any scalar, read as text).
    Regex,
    /// A regular expression or a list of them.
    Regexes,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// Any value at all.
    Any,
    /// A list of any values.
    Values,
    /// A status code or class (`2xx`), or a non-empty list of them.
    Statuses,
    /// A map of header name to text.
    Headers,
    /// A map of label name (`^[a-zA-Z_][a-zA-Z0-9_]*$`) to text.
    Labels,
    /// One mailbox, or a non-empty list of them.
    Recipients,
    /// A non-empty list of names, each given once.
    Names,
    /// A map of user name (non-empty, without `:`) to text (a password hash).
    Users,
    /// One string, or a list of scalars read as text (tokens).
    Tokens,
    /// A map with the table's keys.
    Map(&'static Table),
    /// A list of maps with the table's keys.
    List(&'static Table),
    /// A non-empty list of maps with the table's keys.
    NonEmptyList(&'static Table),
    /// A list of maps with the table's keys, or nothing.
    ListOrNull(&'static Table),
    /// A map of name (`^[a-z0-9][a-z0-9_-]*$`) to a map with the table's keys, or nothing.
    NamedOrNull(&'static Table),
    /// A check: a scalar (equals) or a non-empty map with the table's keys (the operations).
    Check(&'static Table),
    /// A check or a list of checks.
    Checks(&'static Table),
    /// A map of header name to check.
    HeaderChecks(&'static Table),
    /// A map of attribute name to check.
    AttrChecks(&'static Table),
    /// An integer (exactly) or a non-empty map with the table's keys (`{min, max}`).
    Count(&'static Table),
}

/// How a key relates to the other keys of its map (beyond being allowed or required).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No relation.
    None,
    /// It needs this other key.
    Needs(&'static str),
    /// It cannot be used together with this other key.
    Excludes(&'static str),
    /// Exactly one of the map's `OneOf` keys must be present.
    OneOf,
}

/// One allowed key of a map.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    /// The key as written in YAML.
    pub name: &'static str,
    /// The accepted type, as shown to people.
    pub ty: &'static str,
    /// The default when absent ("" = none; "required" keys have none).
    pub default: &'static str,
    /// Must it be present?
    pub required: bool,
    /// One line saying what it does.
    pub doc: &'static str,
    /// The accepted type, for the JSON Schema.
    pub kind: Kind,
    /// Its relation to the other keys of the map.
    pub rule: Rule,
}

impl KeyDoc {
    /// The same key with its value's [`Kind`].
    pub const fn of(self, kind: Kind) -> KeyDoc {
        KeyDoc { kind, ..self }
    }

    /// The same key, needing `other`.
    pub const fn needs(self, other: &'static str) -> KeyDoc {
        KeyDoc {
            rule: Rule::Needs(other),
            ..self
        }
    }

    /// The same key, not allowed together with `other`.
    pub const fn excludes(self, other: &'static str) -> KeyDoc {
        KeyDoc {
            rule: Rule::Excludes(other),
            ..self
        }
    }

    /// The same key, one of the map's keys of which exactly one must be present.
    pub const fn one_of(self) -> KeyDoc {
        KeyDoc {
            rule: Rule::OneOf,
            ..self
        }
    }
}

/// The allowed keys of one kind of map.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// What the map is called in messages ("target", "expect", ...).
    pub name: &'static str,
    /// Where it appears, for the reference heading.
    pub title: &'static str,
    /// A sentence or two introducing it in the reference.
    pub intro: &'static str,
    /// The keys, in documentation order.
    pub keys: &'static [KeyDoc],
}

impl Table {
    /// Is `key` allowed here?
    pub fn allows(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k.name == key)
    }

    /// The allowed keys joined for messages: `name, url, method`.
    pub fn allowed(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The documented default of `key`, without its backticks (tests compare it to the code).
    #[cfg(test)]
    pub(crate) fn documented_default(&self, key: &str) -> String {
        let k = self.keys.iter().find(|k| k.name == key);
        k.map(|k| k.default.trim_matches('`').to_string())
            .unwrap_or_else(|| panic!("no key {key} in {}", self.name))
    }
}

/// An optional key (for tables built elsewhere, e.g. the alert file's).
pub(crate) const fn key(
    name: &'static str,
    ty: &'static str,
    default: &'static str,
    doc: &'static str,
) -> KeyDoc {
    KeyDoc {
        name,
        ty,
        default,
        required: false,
        doc,
        kind: Kind::Unspecified,
        rule: Rule::None,
    }
}

/// A required key.
pub(crate) const fn req(name: &'static str, ty: &'static str, doc: &'static str) -> KeyDoc {
    KeyDoc {
        name,
        ty,
        default: "",
        required: true,
        doc,
        kind: Kind::Unspecified,
        rule: Rule::None,
    }
}

/// Integers from `min` up, without an upper bound.
const fn at_least(min: u64) -> Kind {
    Kind::Int { min, max: u64::MAX }
}

/// The top level of a spec file.
#[rustfmt::skip]
pub static SPEC: Table = Table {
    name: "spec",
    title: "Spec file (top level)",
    intro: "One spec per file. Files are read from every `--specs` PATH (a file, or a folder read recursively for `*.yaml`/`*.yml`).",
    keys: &[
        req("name", "string `^[a-z0-9][a-z0-9_-]*$`", "Name of the spec; unique across all spec files.").of(Kind::Name(&SPEC_NAME)),
        key("schedule", "schedule", "`@every 1m`", "When its targets run, unless a target sets its own (see Schedules).").of(Kind::Schedule),
        key("timezone", "IANA time zone", "UTC", "Time zone of cron schedules, e.g. `Europe/Berlin`.").of(Kind::Str),
        key("labels", "map of string to string", "", "Free labels handed to alert routing and payloads; names match `^[a-zA-Z_][a-zA-Z0-9_]*$`.").of(Kind::Labels),
        key("defaults", "map (see `defaults`)", "", "Request settings merged into every target; a target's own keys win.").of(Kind::Map(&DEFAULTS)),
        req("targets", "non-empty list of targets", "The things to check (see `target`).").of(Kind::NonEmptyList(&TARGET)),
    ],
};

/// `defaults:` of a spec.
#[rustfmt::skip]
pub static DEFAULTS: Table = Table {
    name: "defaults",
    title: "`defaults`",
    intro: "Request settings for every target of the spec. A target's own key replaces the default; `headers` are merged (case-insensitively, the target's value wins).",
    keys: &[
        key("timeout", "duration", "`10s`", "Budget for the whole request including the body.").of(Kind::Duration),
        key("headers", "map of header name to string", "", "Request headers sent by every target.").of(Kind::Headers),
        key("retries", "integer 0..=10", "`0`", "Extra attempts after a transport error (not after a failed assertion).").of(Kind::Int { min: 0, max: 10 }),
        key("max_body", "size", "`10MiB`", "A larger (decompressed) body fails the check and is never read whole.").of(Kind::Size),
        key("follow_redirects", "integer 0..=50", "`10`", "Maximum number of redirects followed; 0 = do not follow.").of(Kind::Int { min: 0, max: 50 }),
        key("tls_verify", "boolean", "`true`", "Verify the server's TLS certificate.").of(Kind::Bool),
    ],
};

/// One entry of `targets:`.
#[rustfmt::skip]
pub static TARGET: Table = Table {
    name: "target",
    title: "`target` (an entry of `targets`)",
    intro: "A request plus what must hold of its response.",
    keys: &[
        req("name", "string `^[a-z0-9][a-z0-9_-]*$`", "Name of the target; unique in its spec.").of(Kind::Name(&SPEC_NAME)),
        req("url", "http(s) URL", "The URL to request; must be `http` or `https` with a host.").of(Kind::Url),
        key("method", "HTTP method", "`GET`", "Request method (any valid token; upper-cased).").of(Kind::Method),
        key("headers", "map of header name to string", "", "Request headers, merged over `defaults.headers`.").of(Kind::Headers),
        key("body", "string", "", "Raw request body. Not together with `json`.").of(Kind::Text).excludes("json"),
        key("json", "any value", "", "Request body serialised as JSON (sets `Content-Type: application/json` unless set). Not together with `body`.").of(Kind::Any),
        key("schedule", "schedule", "the spec's", "Overrides the spec's schedule.").of(Kind::Schedule),
        key("timezone", "IANA time zone", "the spec's", "Time zone of this target's cron schedule.").of(Kind::Str),
        key("timeout", "duration", "from `defaults`", "Overrides `defaults.timeout`.").of(Kind::Duration),
        key("retries", "integer 0..=10", "from `defaults`", "Overrides `defaults.retries`.").of(Kind::Int { min: 0, max: 10 }),
        key("max_body", "size", "from `defaults`", "Overrides `defaults.max_body`.").of(Kind::Size),
        key("follow_redirects", "integer 0..=50", "from `defaults`", "Overrides `defaults.follow_redirects`.").of(Kind::Int { min: 0, max: 50 }),
        key("tls_verify", "boolean", "from `defaults`", "Overrides `defaults.tls_verify`.").of(Kind::Bool),
        key("expect", "map (see `expect`)", "status 2xx", "What must hold of the response.").of(Kind::Map(&EXPECT)),
        key("extract", "list (see `extract`)", "", "Values to extract and export as metrics.").of(Kind::List(&EXTRACT)),
        key("crawl", "map (see `crawl`)", "", "Makes this a crawl target: follow links (and a sitemap) from `url`, the seed.").of(Kind::Map(&CRAWL)),
        key("expect_each", "map (see `expect`)", "status 2xx", "With `crawl`: what must hold of every page found (the seed is checked with `expect`).").of(Kind::Map(&EXPECT)).needs("crawl"),
    ],
};

/// `crawl:` of a target.
#[rustfmt::skip]
pub static CRAWL: Table = Table {
    name: "crawl",
    title: "`crawl`",
    intro: "Follows links breadth-first from the seed (`url`, depth 0) and checks every page found with `expect_each`. URLs are normalised (fragment dropped, scheme and host lower-cased, default port removed) and each is fetched once per run, in a deterministic order: the seed, then sitemap entries, then level by level in link order. Links are taken only from 2xx HTML pages; other pages get only the HTTP-level checks (status, headers, `max_duration`). A crawl run succeeds when every page passes; each failing page is reported as `page.ID` failures naming its URL and the page that linked to it.",
    keys: &[
        key("follow", "CSS selector", "`a[href]`", "Elements whose `href` is followed, resolved against `<base href>` or the page URL.").of(Kind::Css),
        key("sitemap", "http(s) URL", "", "A sitemap or sitemap index (gzip too) whose URLs are extra seeds (depth 0), filtered like links.").of(Kind::Url),
        key("include", "regex, or a list of them", "the seed's host and port", "A URL is followed only if it matches one of them (on the absolute, normalised URL).").of(Kind::Regexes),
        key("exclude", "regex, or a list of them", "", "A URL matching one of them is never requested.").of(Kind::Regexes),
        key("max_depth", "integer 0..=100", "`1`", "Link hops from the seed; pages at this depth are checked but not followed.").of(Kind::Int { min: 0, max: 100 }),
        key("max_pages", "integer 1..=1000000", "`100`", "Hard cap on pages fetched per run, the seed included.").of(Kind::Int { min: 1, max: 1_000_000 }),
        key("concurrency", "integer 1..=256", "`4`", "Page requests of this crawl in flight (the global and per-host bounds apply too).").of(Kind::Int { min: 1, max: 256 }),
        key("robots", "boolean", "`true`", "Obey robots.txt for the User-Agent's product token, and its `Crawl-delay` (capped at 60 s).").of(Kind::Bool),
    ],
};

/// `expect:` of a target.
#[rustfmt::skip]
pub static EXPECT: Table = Table {
    name: "expect",
    title: "`expect`",
    intro: "Every assertion must hold. Each failed one is reported with a stable id: `status`, `max_duration`, `headers.NAME`, `body`, `tls`, `html[INDEX]` or its `name`, `json[INDEX]` or its `name`.",
    keys: &[
        key("status", "status, or a list of them", "`2xx`", "Accepted statuses: an integer 100..=599 or a class `1xx`..`5xx`, e.g. `[200, 204, \"3xx\"]`.").of(Kind::Statuses),
        key("max_duration", "duration", "", "Total time to the full body.").of(Kind::Duration),
        key("headers", "map of header name to check", "", "Response header (case-insensitive) -> check on its value; `{exists: false}` for absence.").of(Kind::HeaderChecks(&CHECK)),
        key("body", "check, or a list of checks", "", "Checks on the body as text.").of(Kind::Checks(&CHECK)),
        key("tls", "map (see `tls`)", "", "https only: certificate validity.").of(Kind::Map(&TLS)),
        key("html", "list (see `html` item)", "", "CSS-selector assertions; the page is parsed once for all.").of(Kind::List(&HTML)),
        key("json", "list (see `json` item)", "", "JSONPath (RFC 9535) assertions on a JSON body.").of(Kind::List(&JSON)),
    ],
};

/// `expect.tls`.
#[rustfmt::skip]
pub static TLS: Table = Table {
    name: "tls",
    title: "`tls`",
    intro: "Certificate checks (https targets only).",
    keys: &[req("min_days_valid", "integer >= 0", "The leaf certificate must stay valid at least this many days from now.").of(Kind::Int { min: 0, max: u32::MAX as u64 })],
};

/// One entry of `expect.html`.
#[rustfmt::skip]
pub static HTML: Table = Table {
    name: "html item",
    title: "`html` item",
    intro: "A CSS selector and what must hold of its matches.",
    keys: &[
        req("css", "CSS selector", "Selects the elements.").of(Kind::Css),
        key("count", "integer or `{min, max}`", "`{min: 1}`", "Required number of matches; `0` means the selector must match nothing.").of(Kind::Count(&RANGE)),
        key("text", "check", "", "Check on each match's text (whitespace collapsed, trimmed).").of(Kind::Check(&CHECK)),
        key("attr", "map of attribute name to check", "", "Checks on attribute values; a scalar means equals.").of(Kind::AttrChecks(&CHECK)),
        key("match", "`all` or `any`", "`all`", "`all`: every match must pass `text`/`attr`; `any`: at least one.").of(Kind::Choice(&["all", "any"])),
        key("name", "string", "`html[INDEX]`", "Id used in failures and metrics.").of(Kind::Text),
    ],
};

/// One entry of `expect.json`.
#[rustfmt::skip]
pub static JSON: Table = Table {
    name: "json item",
    title: "`json` item",
    intro: "A JSONPath query (RFC 9535) and what must hold of the values it selects.",
    keys: &[
        req("path", "JSONPath", "Selects the values, e.g. `$.items[*].price`.").of(Kind::JsonPath),
        key("value", "check", "", "Check on each selected value.").of(Kind::Check(&CHECK)),
        key("count", "integer or `{min, max}`", "at least one match", "Required number of matches; `0` means the path must match nothing.").of(Kind::Count(&RANGE)),
        key("match", "`all` or `any`", "`all`", "`all`: every match must pass `value`; `any`: at least one.").of(Kind::Choice(&["all", "any"])),
        key("name", "string", "`json[INDEX]`", "Id used in failures and metrics.").of(Kind::Text),
    ],
};

/// One entry of `extract:`.
#[rustfmt::skip]
pub static EXTRACT: Table = Table {
    name: "extract item",
    title: "`extract` item",
    intro: "A value exported as `dcrawl_extracted_value{spec,target,name}`. Exactly one source: `css` or `path`. A value that cannot be extracted fails assertion `extract.NAME`.",
    keys: &[
        req("name", "string `^[a-z_][a-z0-9_]*$`", "Name of the value; unique in its target.").of(Kind::Name(&EXTRACT_NAME)),
        key("css", "CSS selector", "", "Value: the number of matches (or, with `text`/`attr`, the first match's text/attribute as a number).").of(Kind::Css).one_of(),
        key("text", "boolean", "`false`", "With `css`: take the first match's text, parsed as a number.").of(Kind::Bool).needs("css"),
        key("attr", "string", "", "With `css`: take the first match's attribute of this name, parsed as a number.").of(Kind::Text).needs("css"),
        key("path", "JSONPath", "", "Value: the JSON number (or numeric string) at the path.").of(Kind::JsonPath).one_of(),
        key("regex", "regex", "", "Applied to the text; its first capture group (or whole match) is parsed as a number.").of(Kind::Regex),
    ],
};

/// The operations of a check (`text`, attribute values, `value`, `headers`, `body`).
#[rustfmt::skip]
pub static CHECK: Table = Table {
    name: "check",
    title: "Checks",
    intro: "A check is a scalar (meaning `equals`) or a map of one or more of these operations, all of which must hold.",
    keys: &[
        key("equals", "any value", "", "Equal to (scalars compare as numbers when both are numeric).").of(Kind::Any),
        key("not_equals", "any value", "", "Not equal to.").of(Kind::Any),
        key("contains", "string", "", "Text contains it (for arrays: has an element equal to it).").of(Kind::Text),
        key("not_contains", "string", "", "Text does not contain it.").of(Kind::Text),
        key("matches", "regex", "", "Text matches the regular expression (Rust `regex` syntax).").of(Kind::Regex),
        key("not_matches", "regex", "", "Text does not match the regular expression.").of(Kind::Regex),
        key("one_of", "list of values", "", "Equal to one of them.").of(Kind::Values),
        key("lt", "number", "", "Less than (a numeric string is compared as a number).").of(Kind::Number),
        key("le", "number", "", "Less than or equal.").of(Kind::Number),
        key("gt", "number", "", "Greater than.").of(Kind::Number),
        key("ge", "number", "", "Greater than or equal.").of(Kind::Number),
        key("type", "`string`, `number`, `boolean`, `null`, `array` or `object`", "", "JSON type of the value.").of(Kind::Choice(&["string", "number", "boolean", "null", "array", "object"])),
        key("length", "integer or `{min, max}`", "", "Length: string characters, array items or object keys.").of(Kind::Count(&RANGE)),
        key("empty", "boolean", "", "Empty (`true`) or not empty (`false`).").of(Kind::Bool),
        key("exists", "boolean", "", "Present (`true`) or absent (`false`).").of(Kind::Bool),
    ],
};

/// `{min, max}` for `count` and `length`.
#[rustfmt::skip]
pub static RANGE: Table = Table {
    name: "range",
    title: "`{min, max}` ranges",
    intro: "Used by `count` and `length`. An integer means exactly that many; both bounds are inclusive and optional.",
    keys: &[
        key("min", "integer >= 0", "no lower bound", "Lower bound, inclusive.").of(at_least(0)),
        key("max", "integer >= 0", "no upper bound", "Upper bound, inclusive.").of(at_least(0)),
    ],
};

/// Every table, in reference order.
pub static ALL: [&Table; 11] = [
    &SPEC, &DEFAULTS, &TARGET, &CRAWL, &EXPECT, &TLS, &HTML, &JSON, &EXTRACT, &CHECK, &RANGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::reference::reference_markdown;

    #[test]
    fn tables_have_unique_documented_keys() {
        for t in ALL {
            let mut names: Vec<&str> = t.keys.iter().map(|k| k.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate key in {}", t.name);
            assert!(t.keys.iter().all(|k| !k.doc.is_empty()), "{}", t.name);
        }
    }

    #[test]
    fn reference_mentions_every_key() {
        let doc = reference_markdown();
        for t in ALL {
            for k in t.keys {
                assert!(doc.contains(&format!("| `{}` |", k.name)), "{}", k.name);
            }
        }
        assert!(doc.contains("## Schedules"));
        assert!(doc.contains("${NAME:-default}"));
    }

    #[test]
    fn documented_defaults_equal_the_code() {
        use crate::model::*;
        use crate::spec::units::{parse_duration, parse_size};
        assert_eq!(SPEC.documented_default("schedule"), DEFAULT_SCHEDULE);
        assert_eq!(
            parse_duration(&DEFAULTS.documented_default("timeout")),
            Ok(DEFAULT_TIMEOUT)
        );
        assert_eq!(
            parse_size(&DEFAULTS.documented_default("max_body")),
            Ok(DEFAULT_MAX_BODY)
        );
        assert_eq!(
            DEFAULTS.documented_default("follow_redirects"),
            DEFAULT_FOLLOW_REDIRECTS.to_string()
        );
        let t = Target::new("s", "t", url::Url::parse("http://127.0.0.1/").unwrap());
        assert_eq!(
            DEFAULTS.documented_default("retries"),
            t.retries.to_string()
        );
        assert_eq!(
            DEFAULTS.documented_default("tls_verify"),
            t.tls_verify.to_string()
        );
        assert_eq!(CRAWL.documented_default("follow"), DEFAULT_CRAWL_FOLLOW);
        assert_eq!(
            CRAWL.documented_default("max_depth"),
            DEFAULT_CRAWL_MAX_DEPTH.to_string()
        );
        assert_eq!(
            CRAWL.documented_default("max_pages"),
            DEFAULT_CRAWL_MAX_PAGES.to_string()
        );
        assert_eq!(
            CRAWL.documented_default("concurrency"),
            DEFAULT_CRAWL_CONCURRENCY.to_string()
        );
    }
}
