//! The compiled model: what validation produces and the engine runs.
//!
//! Every value here has already been checked and compiled (selectors, regexes, JSONPaths,
//! schedules, URLs); the engine never re-parses configuration text.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use url::Url;

pub use schedule::Schedule;
pub use severity::Severity;

mod debug;
pub mod exprs;
mod fingerprint;
pub mod flow;
pub mod render;
pub mod schedule;
mod severity;

/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default largest accepted body: 10 MiB.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
/// Default redirect limit.
pub const DEFAULT_FOLLOW_REDIRECTS: u32 = 10;
/// Default extra attempts after a transport error.
pub const DEFAULT_RETRIES: u32 = 0;
/// Default of `tls_verify`.
pub const DEFAULT_TLS_VERIFY: bool = true;
/// Default schedule of a spec.
pub const DEFAULT_SCHEDULE: &str = "@every 1m";

/// Everything loaded from the spec files, in file order.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// One entry per spec file; names are unique.
    pub specs: Vec<Spec>,
}

impl Config {
    /// All targets of all specs, in order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.specs.iter().flat_map(|s| s.targets.iter())
    }
}

/// One spec file.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `name:` of the file, unique across all spec files.
    pub name: String,
    /// Where it was loaded from (for messages).
    pub file: PathBuf,
    /// Free labels handed to alert routing and payloads.
    pub labels: BTreeMap<String, String>,
    /// Its targets, defaults already merged in.
    pub targets: Vec<Target>,
}

/// One thing to check: a request plus what must hold of its response. Its `Debug` never shows
/// its secrets (`src/model/debug.rs`).
#[derive(Clone)]
pub struct Target {
    /// Name of the spec this target belongs to.
    pub spec: String,
    /// `name:` of the target, unique in its spec.
    pub name: String,
    /// The URL to request (http or https).
    pub url: Url,
    /// HTTP method.
    pub method: reqwest::Method,
    /// Request headers: defaults merged with the target's own (target wins, case-insensitive).
    pub headers: Vec<(String, String)>,
    /// Optional request body.
    pub body: Option<RequestBody>,
    /// When the daemon runs it.
    pub schedule: Schedule,
    /// Budget for the whole request including the body.
    pub timeout: Duration,
    /// Extra attempts after a transport error.
    pub retries: u32,
    /// Largest accepted (decompressed) body in bytes.
    pub max_body: u64,
    /// Maximum number of redirects followed; 0 = none.
    pub follow_redirects: u32,
    /// Verify the server's TLS certificate.
    pub tls_verify: bool,
    /// What must hold of the response.
    pub expect: Expect,
    /// Values to extract.
    pub extract: Vec<Extract>,
    /// Secret strings (from `${VAR}` and credential headers) never to print back.
    pub secrets: Secrets,
    /// `crawl:` with `expect_each:`: makes this a crawl target.
    pub crawl: Option<Arc<Crawl>>,
    /// `steps:` (with `vars:`): makes this a multi-step flow; `url` is then its first step's.
    pub flow: Option<Arc<flow::Flow>>,
    /// `render:`: fetch and run the page in a headless browser, assert on the rendered DOM.
    pub render: Option<Arc<render::Render>>,
    /// `depends_on:` (spec, target) of the targets whose failure keeps this one's alerts quiet.
    pub depends_on: Vec<(String, String)>,
}

impl Target {
    /// A target with every default of the contract: GET, status 2xx, 10 s timeout, no retries,
    /// 10 MiB body limit, 10 redirects, TLS verified, `@every 1m`.
    pub fn new(spec: &str, name: &str, url: Url) -> Target {
        Target {
            spec: spec.to_string(),
            name: name.to_string(),
            url,
            method: reqwest::Method::GET,
            headers: Vec::new(),
            body: None,
            schedule: Schedule::every(Duration::from_secs(60)),
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            max_body: DEFAULT_MAX_BODY,
            follow_redirects: DEFAULT_FOLLOW_REDIRECTS,
            tls_verify: DEFAULT_TLS_VERIFY,
            expect: Expect::default(),
            extract: Vec::new(),
            secrets: Secrets::default(),
            crawl: None,
            flow: None,
            render: None,
            depends_on: Vec::new(),
        }
    }

    /// `spec/target`, the id used in logs and output.
    pub fn id(&self) -> String {
        format!("{}/{}", self.spec, self.name)
    }

    /// Replace every secret in `text` by `***`.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secrets)
    }
}

pub use crate::redact::{Secret, Secrets, redact};

/// Default of `crawl.max_depth`: link hops from the seed.
pub const DEFAULT_CRAWL_MAX_DEPTH: u32 = 1;
/// Default of `crawl.max_pages`: pages fetched per run, the seed included.
pub const DEFAULT_CRAWL_MAX_PAGES: u32 = 100;
/// Default of `crawl.concurrency`: page requests of one crawl in flight.
pub const DEFAULT_CRAWL_CONCURRENCY: u32 = 4;
/// Default of `crawl.follow`.
pub const DEFAULT_CRAWL_FOLLOW: &str = "a[href]";

/// `crawl:` of a target: which links to follow from the seed and how far.
#[derive(Debug, Clone)]
pub struct Crawl {
    /// Elements whose `href` is followed.
    pub follow: CssSelector,
    /// Sitemap (or sitemap index) whose entries are extra seeds.
    pub sitemap: Option<Url>,
    /// A URL must match one of these; empty = same host and port as the seed.
    pub include: Vec<Regex>,
    /// A URL matching one of these is never requested.
    pub exclude: Vec<Regex>,
    /// Link hops from the seed.
    pub max_depth: u32,
    /// Pages fetched per run, the seed included.
    pub max_pages: u32,
    /// Page requests of this crawl in flight.
    pub concurrency: u32,
    /// Obey robots.txt (and its `Crawl-delay`).
    pub robots: bool,
    /// What must hold of every page but the seed (default: status 2xx).
    pub expect_each: Expect,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    /// `body:` sent as is.
    Raw(String),
    /// `json:` serialised, with `Content-Type: application/json` unless set.
    Json(Value),
}

/// What must hold of a response (`expect:` or `expect_each:`).
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Accepted statuses; empty means `2xx`.
    pub status: Vec<StatusPattern>,
    /// How much another status counts (`status: {in, severity}`).
    pub status_severity: Severity,
    /// Total time to the full body.
    pub max_duration: Option<Duration>,
    /// How much a too slow response counts (`max_duration: {limit, severity}`).
    pub max_duration_severity: Severity,
    /// Header name (lower-case) -> check.
    pub headers: Vec<HeaderCheck>,
    /// Checks on the body as text.
    pub body: Vec<Check>,
    /// Checks on the body as text whose failure is only a warning (`severity: warning`).
    pub body_warnings: Vec<Check>,
    /// TLS certificate validity.
    pub tls: Option<TlsExpect>,
    /// CSS selector assertions.
    pub html: Vec<HtmlAssertion>,
    /// JSONPath assertions.
    pub json: Vec<JsonAssertion>,
    /// Rendered pages: how many JavaScript errors and `console.error` calls are accepted.
    pub console_errors: Option<CountRange>,
    /// How much a count of console errors out of range counts.
    pub console_errors_severity: Severity,
    /// Rendered pages: how many failed (or >= 400) sub-requests are accepted.
    pub failed_requests: Option<CountRange>,
    /// How much a count of failed sub-requests out of range counts.
    pub failed_requests_severity: Severity,
}

/// One accepted status: an exact code or a class such as `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPattern {
    /// Exactly this code.
    Code(u16),
    /// `Nxx`: any code whose hundreds digit is N (1..=5).
    Class(u8),
}

impl StatusPattern {
    /// Does `status` satisfy this pattern?
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == u16::from(c),
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// `headers: {name: check}`.
#[derive(Debug, Clone)]
pub struct HeaderCheck {
    /// Lower-cased header name.
    pub name: String,
    /// The check on the header's value (several values are joined with ", ").
    pub check: Check,
    /// How much a failure counts.
    pub severity: Severity,
}

/// `tls: {min_days_valid: N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsExpect {
    /// The leaf certificate must stay valid at least this many days from now.
    pub min_days_valid: u32,
    /// How much a failure counts.
    pub severity: Severity,
}

/// `all` (default) or `any`: how many matches must pass the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Every match must pass.
    #[default]
    All,
    /// At least one match must pass.
    Any,
}

/// An inclusive range of counts or lengths; `min == max` for an exact value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountRange {
    /// Lower bound, inclusive.
    pub min: Option<u64>,
    /// Upper bound, inclusive.
    pub max: Option<u64>,
}

impl CountRange {
    /// An exact count.
    pub fn exactly(n: u64) -> Self {
        CountRange {
            min: Some(n),
            max: Some(n),
        }
    }

    /// Does `n` fall in the range?
    pub fn contains(&self, n: u64) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

impl fmt::Display for CountRange {
    /// Renders as `3`, `>= 10`, `<= 2` or `between 1 and 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => write!(f, "{a}"),
            (Some(a), Some(b)) => write!(f, "between {a} and {b}"),
            (Some(a), None) => write!(f, ">= {a}"),
            (None, Some(b)) => write!(f, "<= {b}"),
            (None, None) => write!(f, "any"),
        }
    }
}

/// A check: every operation must hold. Written as a scalar (equals) or a map of operations.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// The operations, in the order they were written.
    pub ops: Vec<CheckOp>,
}

/// One operation of the check vocabulary.
#[derive(Debug, Clone)]
pub enum CheckOp {
    /// Equal to (scalars compare as numbers when both are numeric).
    Equals(Value),
    /// Not equal to.
    NotEquals(Value),
    /// Text contains (for arrays: has an element equal to it).
    Contains(String),
    /// Text does not contain.
    NotContains(String),
    /// Text matches the regex.
    Matches(Regex),
    /// Text does not match the regex.
    NotMatches(Regex),
    /// Equal to one of these.
    OneOf(Vec<Value>),
    /// Numerically less than.
    Lt(f64),
    /// Numerically less than or equal.
    Le(f64),
    /// Numerically greater than.
    Gt(f64),
    /// Numerically greater than or equal.
    Ge(f64),
    /// JSON type.
    Type(JsonType),
    /// Length of a string (chars), array (items) or object (keys).
    Length(CountRange),
    /// Empty (true) or not empty (false).
    Empty(bool),
    /// Present (true) or absent (false).
    Exists(bool),
}

/// A JSON type name for `type:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `string`
    String,
    /// `number`
    Number,
    /// `boolean`
    Boolean,
    /// `null`
    Null,
    /// `array`
    Array,
    /// `object`
    Object,
}

impl JsonType {
    /// The name as written in specs.
    pub fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// A compiled CSS selector with its source text.
#[derive(Debug, Clone)]
pub struct CssSelector {
    /// As written in the spec.
    pub source: String,
    /// Compiled once at validation (shared by every target that uses the same text).
    pub selector: Arc<scraper::Selector>,
    /// The same selector for the streaming path, when it can take it.
    pub fast: Option<Arc<FastCss>>,
}

/// A selector compiled for the streaming HTML path (`lol_html`).
#[derive(Debug, Clone)]
pub struct FastCss {
    /// The compiled selector.
    pub selector: lol_html::Selector,
    /// It looks at one element only (no combinators or structural pseudo-classes, no
    /// `html`/`head`/`body`), so it can be answered on a fragment without `<html>`.
    pub local: bool,
    /// Attributes whose values it tests (`class` for `.x`, `id` for `#x`, `[name...]`).
    pub tested_attrs: Vec<String>,
}

/// A compiled JSONPath (RFC 9535) with its source text.
#[derive(Debug, Clone)]
pub struct JsonPathExpr {
    /// As written in the spec.
    pub source: String,
    /// Compiled once at validation (shared by every target that uses the same text).
    pub path: Arc<serde_json_path::JsonPath>,
}

/// One `html:` assertion.
#[derive(Debug, Clone)]
pub struct HtmlAssertion {
    /// Stable id: `name` or `html[INDEX]`.
    pub id: String,
    /// The selector.
    pub css: CssSelector,
    /// Required number of matches; default `{min: 1}`.
    pub count: CountRange,
    /// Check on each match's text (whitespace collapsed, trimmed).
    pub text: Option<Check>,
    /// Attribute name -> check.
    pub attrs: Vec<(String, Check)>,
    /// All or any match must pass `text`/`attrs`.
    pub mode: MatchMode,
    /// How much a failure counts.
    pub severity: Severity,
}

/// One `json:` assertion.
#[derive(Debug, Clone)]
pub struct JsonAssertion {
    /// Stable id: `name` or `json[INDEX]`.
    pub id: String,
    /// The path.
    pub path: JsonPathExpr,
    /// Required number of matches; `None` means "at least one" unless `value` accepts absence.
    pub count: Option<CountRange>,
    /// Check on each matched value.
    pub value: Option<Check>,
    /// All or any match must pass `value`.
    pub mode: MatchMode,
    /// How much a failure counts.
    pub severity: Severity,
}

/// One `extract:` entry.
#[derive(Debug, Clone)]
pub struct Extract {
    /// `^[a-z_][a-z0-9_]*$`, unique in its target.
    pub name: String,
    /// Where the value comes from.
    pub source: ExtractSource,
    /// Optional regex; its first capture group (or whole match) is parsed as a number.
    pub regex: Option<Regex>,
}

/// Where an extracted value comes from.
#[derive(Debug, Clone)]
pub enum ExtractSource {
    /// Number of matches of the selector.
    CssCount(CssSelector),
    /// The first match's text, parsed as a number.
    CssText(CssSelector),
    /// The first match's attribute value, parsed as a number.
    CssAttr(CssSelector, String),
    /// The JSON number (or numeric string) at the path.
    Json(JsonPathExpr),
}
