//! The key tables of the spec format, in one place (the machinery is `crate::config::keys`).

use crate::config::keys::{KeyDoc, Kind, Table, at_least, key, req};
use crate::config::walk::{EXTRACT_NAME, IDENTIFIER, SPEC_NAME};

/// An extract item with two sources.
const ONE_SOURCE: &str = "`{a}` and `{b}` are exclusive: an extract item has exactly one source";
/// A key that only means something next to another.
const ONLY_WITH: &str = "`{a}` only applies with `{b}`";

/// `severity:` of an assertion.
#[rustfmt::skip]
const SEVERITY: KeyDoc = key("severity", "`failure` or `warning`", "`failure`", "`warning`: a failure of this assertion makes the run a `warning` (a fourth result, not `failure`), which routes with `severity: warning` hear about and `dcrawl check` prints as `WARN` without failing.").of(Kind::Choice(&["failure", "warning"]));

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
        key("url", "http(s) URL", "", "The URL to request; must be `http` or `https` with a host. A target has `url` or `steps`.").of(Kind::Url).one_of().because("`{a}` and `{b}` are exclusive: a flow's requests are its steps"),
        key("method", "HTTP method", "`GET`", "Request method (any valid token; upper-cased).").of(Kind::Method),
        key("headers", "map of header name to string", "", "Request headers, merged over `defaults.headers`.").of(Kind::Headers),
        key("body", "string", "", "Raw request body. Not together with `json`.").of(Kind::Text).excludes("json").because("`{a}` and `{b}` are exclusive: give one request body"),
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
        key("expect_each", "map (see `expect`)", "status 2xx", "With `crawl`: what must hold of every page found (the seed is checked with `expect`).").of(Kind::Map(&EXPECT)).needs("crawl").because("`{a}` needs `{b}`: it applies to the pages a crawl finds"),
        key("steps", "list (see `step`)", "", "Makes this a multi-step flow: requests run in order in one run with one cookie jar; `timeout` is then the whole flow's. Not together with `url`, `crawl`, `method`, `body`, `json` or `extract`.").of(Kind::NonEmptyList(&STEP)).one_of().because("`{a}` and `{b}` are exclusive: a flow's requests are its steps"),
        key("render", "map (see `render`)", "", "Fetch and run the page in headless Chromium; `status`, `headers` and `html` assertions and `extract` apply to the main document and the rendered DOM. Not together with `crawl` or `steps`.").of(Kind::Map(&RENDER)).excludes("crawl").because("`{a}` and `{b}` are exclusive: a rendered page is not crawled"),
        key("vars", "map of name to string", "", "With `steps`: run-scoped variables, used as `{{name}}`.").of(Kind::Labels).needs("steps").because("`{a}` needs `{b}`: variables are used by a flow's steps"),
        key("depends_on", "list of `spec/target`", "", "Targets (of any spec file) this one needs, e.g. `[core/db]`: while one of them fails (its last result is `failure` or `error`), this target's alerts do not fire and it is shown as \"blocked by spec/target\"; an alert that fires still resolves. No target may depend on itself, on an unknown target or in a cycle.").of(Kind::TargetRefs),
    ],
};

/// `render:` of a target.
#[rustfmt::skip]
pub static RENDER: Table = Table {
    name: "render",
    title: "`render`",
    intro: "The page is loaded in headless Chromium (`--browser PATH`, default `chromium` on PATH; at most `--browser-concurrency` pages at once, default 2). After `wait_for` matches (or the load event plus 500 ms) the rendered DOM is asserted on like any page. Without a browser the target is an `error` saying how to install one.",
    keys: &[
        key("wait_for", "CSS selector", "load event + 500 ms", "Wait until this selector matches.").of(Kind::Css),
        key("timeout", "duration", "`20s`", "Budget of the whole render; past it the browser is killed and the run is an `error`.").of(Kind::Duration),
        key("viewport", "map (see `viewport`)", "1280 x 800", "Viewport size in CSS pixels.").of(Kind::Map(&VIEWPORT)),
        key("screenshot", "`on_failure`, `always` or `never`", "`on_failure`", "When to keep a PNG screenshot in the state directory (linked from the status page and alerts).").of(Kind::Choice(&["on_failure", "always", "never"])),
    ],
};

/// `render.viewport`.
#[rustfmt::skip]
pub static VIEWPORT: Table = Table {
    name: "viewport",
    title: "`viewport` (of `render`)",
    intro: "The browser window's size in CSS pixels.",
    keys: &[
        key("width", "integer 200..=4000", "`1280`", "Width.").of(Kind::Int { min: 200, max: 4000 }),
        key("height", "integer 200..=4000", "`800`", "Height.").of(Kind::Int { min: 200, max: 4000 }),
    ],
};

/// One entry of a target's `steps:`.
#[rustfmt::skip]
pub static STEP: Table = Table {
    name: "step",
    title: "`step` (an entry of `steps`)",
    intro: "One request of a flow. `{{name}}` in `url`, header values, `body` and the strings of `json` is replaced (after `${VAR}`, once, never recursively) by a variable of `vars` or a capture of an earlier step: percent-encoded in `url` (except a reference that begins it, the URL's base such as `{{base}}/api` or a captured `redirect`), JSON-encoded in `json`. A failed step fails the target; the steps after it are skipped, except `always_run` ones. Failures are reported as `step.NAME.ASSERTION`.",
    keys: &[
        req("name", "string `^[a-z0-9][a-z0-9_-]*$`", "Name of the step; unique in its target.").of(Kind::Name(&SPEC_NAME)),
        req("url", "http(s) URL", "The URL to request (may hold `{{name}}`).").of(Kind::Text),
        key("method", "HTTP method", "`GET`", "Request method.").of(Kind::Method),
        key("headers", "map of header name to string", "", "Request headers, merged over the target's.").of(Kind::Headers),
        key("body", "string", "", "Raw request body. Not together with `json`.").of(Kind::Text).excludes("json").because("`{a}` and `{b}` are exclusive: give one request body"),
        key("json", "any value", "", "Request body serialised as JSON (sets `Content-Type: application/json` unless set).").of(Kind::Any),
        key("timeout", "duration", "from `defaults`", "This step's request budget (the flow's `timeout` bounds it too).").of(Kind::Duration),
        key("follow_redirects", "integer 0..=50", "the target's", "Redirects followed; 0 = none (to capture a `Location`).").of(Kind::Int { min: 0, max: 50 }),
        key("expect", "map (see `expect`)", "status 2xx", "What must hold of this step's response.").of(Kind::Map(&EXPECT)),
        key("capture", "map of name to capture", "", "Values taken from the response (see `capture`), used by later steps as `{{name}}`.").of(Kind::NamedMaps(&IDENTIFIER, &CAPTURE)),
        key("always_run", "boolean", "`false`", "Run even after an earlier step failed (clean-up, such as a logout).").of(Kind::Bool),
    ],
};

/// One entry of a step's `capture:`.
#[rustfmt::skip]
pub static CAPTURE: Table = Table {
    name: "capture",
    title: "`capture` (a value of a step's `capture`)",
    intro: "Where a captured value comes from: exactly one of `json`, `header`, `cookie`, `css`, `status`, `url` or `redirect`, or `regex` alone (on the body). A capture that finds nothing fails its step with assertion `capture.NAME`.",
    keys: &[
        key("json", "JSONPath", "", "The first match: a string as is, any other value as JSON text.").of(Kind::JsonPath),
        key("header", "header name", "", "A response header's value.").of(Kind::Text),
        key("cookie", "cookie name", "", "A cookie of the run's jar (set by this or an earlier response).").of(Kind::Text),
        key("css", "CSS selector", "", "The first match's text, or its attribute `attr`.").of(Kind::Css),
        key("text", "boolean", "`true`", "With `css`: take the text (the default).").of(Kind::Bool).needs("css").because(ONLY_WITH),
        key("attr", "string", "", "With `css`: take this attribute.").of(Kind::Text).needs("css").because(ONLY_WITH),
        key("status", "boolean `true`", "", "The response's status code.").of(Kind::Bool),
        key("url", "boolean `true`", "", "The URL the step ended at, after redirects.").of(Kind::Bool),
        key("redirect", "boolean `true`", "", "The resolved `Location` of the step's first redirect (followed or not).").of(Kind::Bool),
        key("regex", "regex", "", "Alone: applied to the body; with a source: applied to its value. The first group (or the whole match) is taken.").of(Kind::Regex),
        key("secret", "boolean", "`false`", "Redact the value everywhere, like `${VAR}` values.").of(Kind::Bool),
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
    intro: "Every assertion must hold. Each failed one is reported with a stable id: `status`, `max_duration`, `headers.NAME`, `body`, `tls`, `html[INDEX]` or its `name`, `json[INDEX]` or its `name`. Every assertion may say `severity: warning` (html and json items and `tls` as a key; `status`, `max_duration`, `console_errors` and `failed_requests` in their map forms `{in, severity}`, `{limit, severity}` and `{min, max, severity}`; header and body checks inside the check): its failure then makes the run a `warning` instead of a `failure`.",
    keys: &[
        key("status", "status, a list of them, or `{in, severity}`", "`2xx`", "Accepted statuses: an integer 100..=599 or a class `1xx`..`5xx`, e.g. `[200, 204, \"3xx\"]`; `{in: [200, 204], severity: warning}` makes another status a warning.").of(Kind::StatusesOr(&STATUS)),
        key("max_duration", "duration, or `{limit, severity}`", "", "Total time to the full body; `{limit: 800ms, severity: warning}` makes a slower response a warning.").of(Kind::DurationOr(&LIMIT)),
        key("headers", "map of header name to check", "", "Response header (case-insensitive) -> check on its value; `{exists: false}` for absence.").of(Kind::HeaderChecks(&CHECK)),
        key("body", "check, or a list of checks", "", "Checks on the body as text.").of(Kind::Checks(&CHECK)),
        key("tls", "map (see `tls`)", "", "https only: certificate validity.").of(Kind::Map(&TLS)),
        key("html", "list (see `html` item)", "", "CSS-selector assertions; the page is parsed once for all.").of(Kind::List(&HTML)),
        key("json", "list (see `json` item)", "", "JSONPath (RFC 9535) assertions on a JSON body.").of(Kind::List(&JSON)),
        key("console_errors", "integer or `{min, max}`, with an optional `severity`", "", "With `render`: JavaScript errors and `console.error` calls accepted (`0`: none); `{max: 0, severity: warning}` makes them a warning. Failure id `console_errors`, listing the first ones.").of(Kind::Count(&SEVERE_RANGE)),
        key("failed_requests", "integer or `{min, max}`, with an optional `severity`", "", "With `render`: sub-requests that failed or answered >= 400 accepted (`0`: none); `{max: 0, severity: warning}` makes them a warning. Failure id `failed_requests`, listing the first URLs.").of(Kind::Count(&SEVERE_RANGE)),
    ],
};

/// `expect.tls`.
#[rustfmt::skip]
pub static TLS: Table = Table {
    name: "tls",
    title: "`tls`",
    intro: "Certificate checks (https targets only).",
    keys: &[
        req("min_days_valid", "integer >= 0", "The leaf certificate must stay valid at least this many days from now.").of(Kind::Int { min: 0, max: u32::MAX as u64 }),
        SEVERITY,
    ],
};

/// `expect.status` as a map.
#[rustfmt::skip]
pub static STATUS: Table = Table {
    name: "status",
    title: "`status` as a map",
    intro: "`status: [200, 204]` is short for `status: {in: [200, 204]}`; the map form can make another status a warning.",
    keys: &[
        req("in", "status, or a list of them", "Accepted statuses, as `status` takes them.").of(Kind::Statuses),
        SEVERITY,
    ],
};

/// `expect.console_errors` and `expect.failed_requests` as a map.
#[rustfmt::skip]
pub static SEVERE_RANGE: Table = Table {
    name: "browser count",
    title: "`console_errors` and `failed_requests` as a map",
    intro: "At least one of `min` and `max`; `severity: warning` makes a count out of range a warning.",
    keys: &[
        key("min", "integer >= 0", "no lower bound", "Lower bound, inclusive.").of(at_least(0)),
        key("max", "integer >= 0", "no upper bound", "Upper bound, inclusive.").of(at_least(0)),
        SEVERITY,
    ],
};

/// `expect.max_duration` as a map.
#[rustfmt::skip]
pub static LIMIT: Table = Table {
    name: "max_duration",
    title: "`max_duration` as a map",
    intro: "`max_duration: 800ms` is short for `max_duration: {limit: 800ms}`; the map form can make a slow response a warning.",
    keys: &[
        req("limit", "duration", "Total time to the full body.").of(Kind::Duration),
        SEVERITY,
    ],
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
        SEVERITY,
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
        SEVERITY,
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
        key("css", "CSS selector", "", "Value: the number of matches (or, with `text`/`attr`, the first match's text/attribute as a number).").of(Kind::Css).one_of().because(ONE_SOURCE),
        key("text", "boolean", "`false`", "With `css`: take the first match's text, parsed as a number.").of(Kind::Bool).needs("css").because(ONLY_WITH),
        key("attr", "string", "", "With `css`: take the first match's attribute of this name, parsed as a number.").of(Kind::Text).needs("css").because(ONLY_WITH),
        key("path", "JSONPath", "", "Value: the JSON number (or numeric string) at the path.").of(Kind::JsonPath).one_of().because(ONE_SOURCE),
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
        key("severity", "`failure` or `warning`", "`failure`", "Not an operation: in a check of `headers` or `body` only, `warning` makes its failure a warning (an html or json item says `severity` itself).").of(Kind::Choice(&["failure", "warning"])),
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
pub static ALL: [&Table; 18] = [
    &SPEC,
    &DEFAULTS,
    &TARGET,
    &STEP,
    &CAPTURE,
    &CRAWL,
    &RENDER,
    &VIEWPORT,
    &EXPECT,
    &STATUS,
    &LIMIT,
    &SEVERE_RANGE,
    &TLS,
    &HTML,
    &JSON,
    &EXTRACT,
    &CHECK,
    &RANGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::reference::reference_markdown;

    #[test]
    fn tables_have_unique_documented_keys() {
        crate::config::keys::assert_sound(&ALL);
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
        use crate::config::units::{parse_duration, parse_size};
        use crate::model::*;
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
        // What the loader makes of a target that says nothing is what `Target::new` says.
        let source = crate::config::Source {
            name: "s.yaml".into(),
            text: "name: s\ntargets: [{name: t, url: \"http://127.0.0.1/\"}]\n".into(),
        };
        let loaded = crate::spec::load_sources(&[source], &|_| None).unwrap();
        let l = &loaded.specs[0].targets[0];
        assert_eq!(
            (
                l.timeout,
                l.retries,
                l.max_body,
                l.follow_redirects,
                l.tls_verify
            ),
            (
                t.timeout,
                t.retries,
                t.max_body,
                t.follow_redirects,
                t.tls_verify
            )
        );
        assert_eq!(
            (l.method.clone(), l.schedule.to_string()),
            (t.method.clone(), t.schedule.to_string())
        );
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
