//! The key tables of the spec format, in one place.
//!
//! The schema walker uses them to decide which keys are allowed and required, and
//! [`super::reference::reference_markdown`] renders them (plus the prose on checks, schedules, units and `${VAR}`)
//! into `docs/spec-reference.md`, so the reference cannot drift from the code.

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
    }
}

/// The top level of a spec file.
#[rustfmt::skip]
pub static SPEC: Table = Table {
    name: "spec",
    title: "Spec file (top level)",
    intro: "One spec per file. Files are read from every `--specs` PATH (a file, or a folder read recursively for `*.yaml`/`*.yml`).",
    keys: &[
        req("name", "string `^[a-z0-9][a-z0-9_-]*$`", "Name of the spec; unique across all spec files."),
        key("schedule", "schedule", "`@every 1m`", "When its targets run, unless a target sets its own (see Schedules)."),
        key("timezone", "IANA time zone", "UTC", "Time zone of cron schedules, e.g. `Europe/Berlin`."),
        key("labels", "map of string to string", "", "Free labels handed to alert routing and payloads; names match `^[a-zA-Z_][a-zA-Z0-9_]*$`."),
        key("defaults", "map (see `defaults`)", "", "Request settings merged into every target; a target's own keys win."),
        req("targets", "non-empty list of targets", "The things to check (see `target`)."),
    ],
};

/// `defaults:` of a spec.
#[rustfmt::skip]
pub static DEFAULTS: Table = Table {
    name: "defaults",
    title: "`defaults`",
    intro: "Request settings for every target of the spec. A target's own key replaces the default; `headers` are merged (case-insensitively, the target's value wins).",
    keys: &[
        key("timeout", "duration", "`10s`", "Budget for the whole request including the body."),
        key("headers", "map of header name to string", "", "Request headers sent by every target."),
        key("retries", "integer 0..=10", "`0`", "Extra attempts after a transport error (not after a failed assertion)."),
        key("max_body", "size", "`10MiB`", "A larger (decompressed) body fails the check and is never read whole."),
        key("follow_redirects", "integer 0..=50", "`10`", "Maximum number of redirects followed; 0 = do not follow."),
        key("tls_verify", "boolean", "`true`", "Verify the server's TLS certificate."),
    ],
};

/// One entry of `targets:`.
#[rustfmt::skip]
pub static TARGET: Table = Table {
    name: "target",
    title: "`target` (an entry of `targets`)",
    intro: "A request plus what must hold of its response.",
    keys: &[
        req("name", "string `^[a-z0-9][a-z0-9_-]*$`", "Name of the target; unique in its spec."),
        req("url", "http(s) URL", "The URL to request; must be `http` or `https` with a host."),
        key("method", "HTTP method", "`GET`", "Request method (any valid token; upper-cased)."),
        key("headers", "map of header name to string", "", "Request headers, merged over `defaults.headers`."),
        key("body", "string", "", "Raw request body. Not together with `json`."),
        key("json", "any value", "", "Request body serialised as JSON (sets `Content-Type: application/json` unless set). Not together with `body`."),
        key("schedule", "schedule", "the spec's", "Overrides the spec's schedule."),
        key("timezone", "IANA time zone", "the spec's", "Time zone of this target's cron schedule."),
        key("timeout", "duration", "from `defaults`", "Overrides `defaults.timeout`."),
        key("retries", "integer 0..=10", "from `defaults`", "Overrides `defaults.retries`."),
        key("max_body", "size", "from `defaults`", "Overrides `defaults.max_body`."),
        key("follow_redirects", "integer 0..=50", "from `defaults`", "Overrides `defaults.follow_redirects`."),
        key("tls_verify", "boolean", "from `defaults`", "Overrides `defaults.tls_verify`."),
        key("expect", "map (see `expect`)", "status 2xx", "What must hold of the response."),
        key("extract", "list (see `extract`)", "", "Values to extract and export as metrics."),
        key("crawl", "map (see `crawl`)", "", "Makes this a crawl target: follow links (and a sitemap) from `url`, the seed."),
        key("expect_each", "map (see `expect`)", "status 2xx", "With `crawl`: what must hold of every page found (the seed is checked with `expect`)."),
    ],
};

/// `crawl:` of a target.
#[rustfmt::skip]
pub static CRAWL: Table = Table {
    name: "crawl",
    title: "`crawl`",
    intro: "Follows links breadth-first from the seed (`url`, depth 0) and checks every page found with `expect_each`. URLs are normalised (fragment dropped, scheme and host lower-cased, default port removed) and each is fetched once per run, in a deterministic order: the seed, then sitemap entries, then level by level in link order. Links are taken only from 2xx HTML pages; other pages get only the HTTP-level checks (status, headers, `max_duration`). A crawl run succeeds when every page passes; each failing page is reported as `page.ID` failures naming its URL and the page that linked to it.",
    keys: &[
        key("follow", "CSS selector", "`a[href]`", "Elements whose `href` is followed, resolved against `<base href>` or the page URL."),
        key("sitemap", "http(s) URL", "", "A sitemap or sitemap index (gzip too) whose URLs are extra seeds (depth 0), filtered like links."),
        key("include", "regex, or a list of them", "the seed's host and port", "A URL is followed only if it matches one of them (on the absolute, normalised URL)."),
        key("exclude", "regex, or a list of them", "", "A URL matching one of them is never requested."),
        key("max_depth", "integer 0..=100", "`1`", "Link hops from the seed; pages at this depth are checked but not followed."),
        key("max_pages", "integer 1..=1000000", "`100`", "Hard cap on pages fetched per run, the seed included."),
        key("concurrency", "integer 1..=256", "`4`", "Page requests of this crawl in flight (the global and per-host bounds apply too)."),
        key("robots", "boolean", "`true`", "Obey robots.txt for the User-Agent's product token, and its `Crawl-delay` (capped at 60 s)."),
    ],
};

/// `expect:` of a target.
#[rustfmt::skip]
pub static EXPECT: Table = Table {
    name: "expect",
    title: "`expect`",
    intro: "Every assertion must hold. Each failed one is reported with a stable id: `status`, `max_duration`, `headers.NAME`, `body`, `tls`, `html[INDEX]` or its `name`, `json[INDEX]` or its `name`.",
    keys: &[
        key("status", "status, or a list of them", "`2xx`", "Accepted statuses: an integer 100..=599 or a class `1xx`..`5xx`, e.g. `[200, 204, \"3xx\"]`."),
        key("max_duration", "duration", "", "Total time to the full body."),
        key("headers", "map of header name to check", "", "Response header (case-insensitive) -> check on its value; `{exists: false}` for absence."),
        key("body", "check, or a list of checks", "", "Checks on the body as text."),
        key("tls", "map (see `tls`)", "", "https only: certificate validity."),
        key("html", "list (see `html` item)", "", "CSS-selector assertions; the page is parsed once for all."),
        key("json", "list (see `json` item)", "", "JSONPath (RFC 9535) assertions on a JSON body."),
    ],
};

/// `expect.tls`.
#[rustfmt::skip]
pub static TLS: Table = Table {
    name: "tls",
    title: "`tls`",
    intro: "Certificate checks (https targets only).",
    keys: &[req("min_days_valid", "integer >= 0", "The leaf certificate must stay valid at least this many days from now.")],
};

/// One entry of `expect.html`.
#[rustfmt::skip]
pub static HTML: Table = Table {
    name: "html item",
    title: "`html` item",
    intro: "A CSS selector and what must hold of its matches.",
    keys: &[
        req("css", "CSS selector", "Selects the elements."),
        key("count", "integer or `{min, max}`", "`{min: 1}`", "Required number of matches; `0` means the selector must match nothing."),
        key("text", "check", "", "Check on each match's text (whitespace collapsed, trimmed)."),
        key("attr", "map of attribute name to check", "", "Checks on attribute values; a scalar means equals."),
        key("match", "`all` or `any`", "`all`", "`all`: every match must pass `text`/`attr`; `any`: at least one."),
        key("name", "string", "`html[INDEX]`", "Id used in failures and metrics."),
    ],
};

/// One entry of `expect.json`.
#[rustfmt::skip]
pub static JSON: Table = Table {
    name: "json item",
    title: "`json` item",
    intro: "A JSONPath query (RFC 9535) and what must hold of the values it selects.",
    keys: &[
        req("path", "JSONPath", "Selects the values, e.g. `$.items[*].price`."),
        key("value", "check", "", "Check on each selected value."),
        key("count", "integer or `{min, max}`", "at least one match", "Required number of matches; `0` means the path must match nothing."),
        key("match", "`all` or `any`", "`all`", "`all`: every match must pass `value`; `any`: at least one."),
        key("name", "string", "`json[INDEX]`", "Id used in failures and metrics."),
    ],
};

/// One entry of `extract:`.
#[rustfmt::skip]
pub static EXTRACT: Table = Table {
    name: "extract item",
    title: "`extract` item",
    intro: "A value exported as `dcrawl_extracted_value{spec,target,name}`. Exactly one source: `css` or `path`. A value that cannot be extracted fails assertion `extract.NAME`.",
    keys: &[
        req("name", "string `^[a-z_][a-z0-9_]*$`", "Name of the value; unique in its target."),
        key("css", "CSS selector", "", "Value: the number of matches (or, with `text`/`attr`, the first match's text/attribute as a number)."),
        key("text", "boolean", "`false`", "With `css`: take the first match's text, parsed as a number."),
        key("attr", "string", "", "With `css`: take the first match's attribute of this name, parsed as a number."),
        key("path", "JSONPath", "", "Value: the JSON number (or numeric string) at the path."),
        key("regex", "regex", "", "Applied to the text; its first capture group (or whole match) is parsed as a number."),
    ],
};

/// The operations of a check (`text`, attribute values, `value`, `headers`, `body`).
#[rustfmt::skip]
pub static CHECK: Table = Table {
    name: "check",
    title: "Checks",
    intro: "A check is a scalar (meaning `equals`) or a map of one or more of these operations, all of which must hold.",
    keys: &[
        key("equals", "any value", "", "Equal to (scalars compare as numbers when both are numeric)."),
        key("not_equals", "any value", "", "Not equal to."),
        key("contains", "string", "", "Text contains it (for arrays: has an element equal to it)."),
        key("not_contains", "string", "", "Text does not contain it."),
        key("matches", "regex", "", "Text matches the regular expression (Rust `regex` syntax)."),
        key("not_matches", "regex", "", "Text does not match the regular expression."),
        key("one_of", "list of values", "", "Equal to one of them."),
        key("lt", "number", "", "Less than (a numeric string is compared as a number)."),
        key("le", "number", "", "Less than or equal."),
        key("gt", "number", "", "Greater than."),
        key("ge", "number", "", "Greater than or equal."),
        key("type", "`string`, `number`, `boolean`, `null`, `array` or `object`", "", "JSON type of the value."),
        key("length", "integer or `{min, max}`", "", "Length: string characters, array items or object keys."),
        key("empty", "boolean", "", "Empty (`true`) or not empty (`false`)."),
        key("exists", "boolean", "", "Present (`true`) or absent (`false`)."),
    ],
};

/// `{min, max}` for `count` and `length`.
#[rustfmt::skip]
pub static RANGE: Table = Table {
    name: "range",
    title: "`{min, max}` ranges",
    intro: "Used by `count` and `length`. An integer means exactly that many; both bounds are inclusive and optional.",
    keys: &[
        key("min", "integer >= 0", "no lower bound", "Lower bound, inclusive."),
        key("max", "integer >= 0", "no upper bound", "Upper bound, inclusive."),
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

    fn documented(t: &Table, key: &str) -> String {
        let k = t.keys.iter().find(|k| k.name == key).unwrap();
        k.default.trim_matches('`').to_string()
    }

    #[test]
    fn documented_defaults_equal_the_code() {
        use crate::model::*;
        use crate::spec::units::{parse_duration, parse_size};
        assert_eq!(documented(&SPEC, "schedule"), DEFAULT_SCHEDULE);
        assert_eq!(
            parse_duration(&documented(&DEFAULTS, "timeout")),
            Ok(DEFAULT_TIMEOUT)
        );
        assert_eq!(
            parse_size(&documented(&DEFAULTS, "max_body")),
            Ok(DEFAULT_MAX_BODY)
        );
        assert_eq!(
            documented(&DEFAULTS, "follow_redirects"),
            DEFAULT_FOLLOW_REDIRECTS.to_string()
        );
        let t = Target::new("s", "t", url::Url::parse("http://127.0.0.1/").unwrap());
        assert_eq!(documented(&DEFAULTS, "retries"), t.retries.to_string());
        assert_eq!(
            documented(&DEFAULTS, "tls_verify"),
            t.tls_verify.to_string()
        );
        assert_eq!(documented(&CRAWL, "follow"), DEFAULT_CRAWL_FOLLOW);
        assert_eq!(
            documented(&CRAWL, "max_depth"),
            DEFAULT_CRAWL_MAX_DEPTH.to_string()
        );
        assert_eq!(
            documented(&CRAWL, "max_pages"),
            DEFAULT_CRAWL_MAX_PAGES.to_string()
        );
        assert_eq!(
            documented(&CRAWL, "concurrency"),
            DEFAULT_CRAWL_CONCURRENCY.to_string()
        );
    }
}
