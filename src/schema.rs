//! The JSON Schema of spec, alert and web config files (`dcrawl schema`), for editors.
//!
//! VS Code's YAML extension, and Neovim or Helix with yaml-language-server, use it to complete
//! keys, show their docs on hover and flag unknown keys and bad values while a spec is typed.
//! It is generated from the key tables that the loader walks and the reference docs render
//! ([`crate::spec::keys`], [`crate::alert::config::keys`],
//! `crate::server::web_config::keys`): each key's `Kind` says what its
//! value may be and its `Rule` how it relates to its neighbours, so the schema cannot drift
//! from the code. It follows draft-07, the newest draft that yaml-language-server fully supports.
//!
//! It errs towards accepting what the loader accepts: any string may hold `${VAR}`, so integers,
//! booleans, durations, sizes, URLs and choices also accept a string containing `${`, and values
//! the loader reads as text accept numbers and booleans too. Left to `dcrawl validate`: regex,
//! CSS and JSONPath syntax, cron fields, time zone names, ranges of numbers given as strings,
//! unique names, and route channels that exist.

use std::path::{Path, PathBuf};

use schemars::{Schema, json_schema};
use serde_json::{Map, Value};

use crate::config::keys::{KeyDoc, Kind, Rule, Table};
use crate::config::walk::{IDENTIFIER, SPEC_NAME};

/// File name of the spec file schema (in `docs/schema/` and what `--out` writes).
pub const SPEC_FILE: &str = "spec.schema.json";
/// File name of the alert file schema.
pub const ALERTS_FILE: &str = "alerts.schema.json";
/// File name of the web config file schema.
pub const WEB_FILE: &str = "web-config.schema.json";

/// The JSON Schema dialect of every document.
const DRAFT: &str = "http://json-schema.org/draft-07/schema#";

/// A string that holds `${VAR}` (the rest of such a string is judged by the loader).
const INTERP: &str = r"\$\{";
/// An integer written as a string.
const INT_TEXT: &str = r"^\s*\+?[0-9]+\s*$|\$\{";
/// A boolean written as a string, or a YAML 1.1 spelling (`yes`, `no`, `on`, `off`, `y`, `n`,
/// any case) that the loader's YAML parser reads as a boolean when it is not quoted, but an
/// editor (YAML 1.2) sees as a string.
const BOOL_TEXT: &str = r"^\s*(?:[tT][rR][uU][eE]|[fF][aA][lL][sS][eE]|[yY](?:[eE][sS])?|[nN][oO]?|[oO](?:[nN]|[fF][fF]))\s*$|\$\{";
/// A number written as a string.
const NUMBER_TEXT: &str = r"^\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$|\$\{";
/// One term of a duration, with the units of `humantime` (what the loader parses with).
const DURATION_TERM: &str = r"[0-9]+(?:\.[0-9]+)?\s*(?:nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y)";
/// A size with a unit of `bytesize` (case-insensitive), or a plain number of bytes.
const SIZE_TEXT: &str =
    r"^\s*(?:[0-9]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:[bB]|[kKmMgGtTpPeE][iI]?[bB]?))\s*$|\$\{";
/// A status code or class written as a string.
const STATUS_TEXT: &str = r"^\s*(?:[1-5][xX][xX]|[1-5][0-9][0-9])\s*$|\$\{";
/// An http or https URL.
const URL_TEXT: &str = r"^\s*[hH][tT][tT][pP][sS]?://|\$\{";
/// A JSONPath query.
const JSONPATH_TEXT: &str = r"^\s*\$";
/// An HTTP token: a header name (keys are not interpolated).
const TOKEN: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// An HTTP method.
const METHOD_TEXT: &str = r"^\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*$|\$\{";
/// A bearer token (RFC 6750's b64token), as the loader accepts it.
const BEARER_TOKEN_TEXT: &str = r"^[-._~+/0-9A-Za-z]+=*$|\$\{";
/// A basic auth user name: non-empty, without `:`.
const USER_NAME: &str = "^[^:]+$";
/// What editors say of a string that is not an integer.
const INT_MESSAGE: &str = "expected an integer";
/// What editors say of a bad header name.
const TOKEN_MESSAGE: &str = "invalid header name (letters, digits and !#$%&'*+-.^_`|~)";
/// What the loader reads as text.
const TEXT_TYPES: [&str; 3] = ["string", "number", "boolean"];

/// A duration such as `10s` or `1m30s`.
fn duration_text() -> String {
    format!(r"^\s*(?:{DURATION_TERM}\s*)+$|\$\{{")
}

/// `@every DURATION`, a named schedule or 5 or 6 cron fields.
fn schedule_text() -> String {
    let named = "@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)";
    let cron = r"[^@\s]+(?:\s+\S+){4,5}";
    format!(r"^\s*(?:@every\s*(?:{DURATION_TERM}\s*)+|{named}|{cron})\s*$|\$\{{")
}

/// Which file format a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Spec files (`specs/*.yaml`).
    Spec,
    /// Alert routing files (`alerts/*.yaml`).
    Alerts,
    /// The web config file (`dcrawl run --web-config FILE`).
    Web,
}

impl Format {
    /// Every format, in the order `--out` writes them.
    pub const ALL: [Format; 3] = [Format::Spec, Format::Alerts, Format::Web];

    /// The schema's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Spec => SPEC_FILE,
            Format::Alerts => ALERTS_FILE,
            Format::Web => WEB_FILE,
        }
    }

    /// The schema document.
    pub fn schema(self) -> Schema {
        match self {
            Format::Spec => spec_schema(),
            Format::Alerts => alerts_schema(),
            Format::Web => web_config_schema(),
        }
    }
}

/// The JSON Schema of a spec file.
pub fn spec_schema() -> Schema {
    let intro = "A dcrawl spec file: one spec (a name, a schedule, labels, request defaults) and the targets to check. Reference: docs/spec-reference.md.";
    document(&crate::spec::keys::SPEC, "dcrawl spec file", intro, false)
}

/// The JSON Schema of an alert routing file (an empty file is valid too).
pub fn alerts_schema() -> Schema {
    let intro = "A dcrawl alert routing file: channels (email, webhook, Alertmanager) and the routes that send target alerts to them. All alert files are merged. Reference: docs/alert-reference.md.";
    document(
        &crate::alert::config::keys::FILE,
        "dcrawl alert file",
        intro,
        true,
    )
}

/// The JSON Schema of the web config file (an empty file is valid too).
pub fn web_config_schema() -> Schema {
    let intro = "A dcrawl web config file (`dcrawl run --web-config FILE`): TLS, credentials and limits of the HTTP endpoints. Reference: docs/web-config.md.";
    document(
        &crate::server::web_config::keys::FILE,
        "dcrawl web config file",
        intro,
        true,
    )
}

/// The schema as pretty-printed JSON with a final newline: what `dcrawl schema` prints and
/// `docs/schema/` holds.
pub fn render(schema: &Schema) -> String {
    // Serialising a JSON value cannot fail (its map keys are strings).
    let mut out = serde_json::to_string_pretty(schema.as_value()).unwrap_or_default();
    out.push('\n');
    out
}

/// Print `format`'s schema on stdout. A reader that went away (`dcrawl schema | head`) is not
/// an error.
pub fn print(format: Format) -> std::io::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().write_all(render(&format.schema()).as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writing a schema file failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
pub struct WriteError {
    /// The file or folder that could not be written.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Write every schema into `dir` (created if needed); returns the files written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for format in Format::ALL {
        let path = dir.join(format.file_name());
        std::fs::write(&path, render(&format.schema())).map_err(|source| WriteError {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A whole document: `root`'s map, with every table it reaches in `definitions`.
fn document(root: &Table, title: &str, intro: &str, nullable: bool) -> Schema {
    let mut generator = Generator::default();
    let mut doc = generator.object(root);
    doc.insert("$schema".into(), DRAFT.into());
    doc.insert("title".into(), title.into());
    doc.insert("description".into(), intro.into());
    if nullable {
        // An empty file (nothing, or only comments) is valid.
        doc.insert("type".into(), serde_json::json!(["object", "null"]));
    }
    doc.insert("definitions".into(), Value::Object(generator.definitions));
    doc
}

/// Builds schemas, collecting the tables they refer to.
#[derive(Default)]
struct Generator {
    /// Schemas of the tables referred to so far, by id.
    definitions: Map<String, Value>,
}

/// The id of a table's schema in `definitions`.
fn id(table: &Table) -> String {
    table.name.replace(' ', "_")
}

impl Generator {
    /// A map with exactly `table`'s keys, its required ones and its rules.
    fn object(&mut self, table: &Table) -> Schema {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut dependencies = Map::new();
        let mut one_of = Vec::new();
        for key in table.keys {
            let mut schema = self.kind(key.kind);
            describe(&mut schema, key);
            properties.insert(key.name.into(), schema.to_value());
            if key.required {
                required.push(key.name);
            }
            match key.rule {
                Rule::None => {}
                Rule::Needs(other) => {
                    dependencies.insert(key.name.into(), serde_json::json!([other]));
                }
                Rule::Excludes(other) => {
                    let not = serde_json::json!({"not": {"required": [other]}});
                    dependencies.insert(key.name.into(), not);
                }
                Rule::OneOf => one_of.push(serde_json::json!({"required": [key.name]})),
            }
        }
        let mut schema = json_schema!({
            "type": "object",
            "description": table.intro,
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema.insert("required".into(), required.into());
        }
        if !dependencies.is_empty() {
            schema.insert("dependencies".into(), Value::Object(dependencies));
        }
        if !one_of.is_empty() {
            schema.insert("oneOf".into(), Value::Array(one_of));
        }
        schema
    }

    /// A `$ref` to `table`'s schema made by `build`, which is added on first use.
    fn reference(&mut self, table: &Table, build: fn(&mut Self, &Table) -> Schema) -> Schema {
        let id = id(table);
        if !self.definitions.contains_key(&id) {
            // A placeholder first, so that a table reaching itself would not recurse forever.
            self.definitions.insert(id.clone(), Value::Null);
            let schema = build(self, table);
            self.definitions.insert(id.clone(), schema.to_value());
        }
        Schema::new_ref(format!("#/definitions/{id}"))
    }

    /// Statuses or the table's map, in one schema (not `anyOf`), so that editors name what is
    /// wrong with a status rather than "none of the alternatives".
    fn statuses_or(&mut self, table: &Table) -> Schema {
        let mut schema = self.object(table);
        let statuses = self.kind(Kind::Statuses);
        for (key, value) in statuses.as_object().into_iter().flatten() {
            if key != "type" {
                schema.insert(key.clone(), value.clone());
            }
        }
        let types = ["integer", "string", "array", "object"];
        schema.insert("type".into(), serde_json::json!(types));
        schema
    }

    /// A check: a scalar (equals) or a non-empty map of operations.
    fn check(&mut self, table: &Table) -> Schema {
        let mut schema = self.object(table);
        let types = ["string", "number", "boolean", "null", "object"];
        schema.insert("type".into(), serde_json::json!(types));
        schema.insert("minProperties".into(), 1.into());
        schema
    }

    /// A count: an integer (exactly) or a non-empty `{min, max}`.
    fn count(&mut self, table: &Table) -> Schema {
        let mut schema = self.object(table);
        schema.insert(
            "type".into(),
            serde_json::json!(["integer", "string", "object"]),
        );
        schema.insert("minimum".into(), 0.into());
        schema.insert("pattern".into(), INT_TEXT.into());
        schema.insert("patternErrorMessage".into(), INT_MESSAGE.into());
        schema.insert("minProperties".into(), 1.into());
        schema
    }

    /// The schema of one kind of value.
    fn kind(&mut self, kind: Kind) -> Schema {
        match kind {
            Kind::Unspecified | Kind::Any => json_schema!({}),
            Kind::Text | Kind::Regex => json_schema!({"type": TEXT_TYPES}),
            Kind::Str => json_schema!({"type": "string"}),
            Kind::Name(pattern) => {
                let types: &[&str] = if pattern.matches("0") {
                    &["string", "integer"]
                } else {
                    &["string"]
                };
                let message = format!("expected a name matching {}", pattern.shown);
                matching(types, &format!("{}|{INTERP}", pattern.shown), &message)
            }
            Kind::Int { min, max } => {
                let mut s = matching(&["integer", "string"], INT_TEXT, INT_MESSAGE);
                s.insert("minimum".into(), min.into());
                if max != u64::MAX {
                    s.insert("maximum".into(), max.into());
                }
                s
            }
            Kind::Bool => matching(&["boolean", "string"], BOOL_TEXT, "expected true or false"),
            Kind::Number => matching(&["number", "string"], NUMBER_TEXT, "expected a number"),
            Kind::Duration => matching(
                &["string"],
                &duration_text(),
                "expected a duration such as 250ms, 10s, 1m30s, 2h or 7d",
            ),
            Kind::DurationOr(t) => {
                let map = self.reference(t, Self::object);
                json_schema!({"anyOf": [self.kind(Kind::Duration), map]})
            }
            Kind::StatusesOr(t) => self.reference(t, Self::statuses_or),
            Kind::Size => {
                let message = "expected a size such as 512KiB, 10MiB or 1GB, or a number of bytes";
                let mut s = matching(&["integer", "string"], SIZE_TEXT, message);
                s.insert("minimum".into(), 0.into());
                s
            }
            Kind::Schedule => {
                let message = "expected @every DURATION, @hourly, @daily, @weekly, @monthly, \
                               @yearly or a 5- or 6-field cron expression";
                let mut s = matching(&["string"], &schedule_text(), message);
                let examples = ["@every 1m", "@hourly", "*/5 * * * *"];
                s.insert("examples".into(), examples.as_slice().into());
                s
            }
            Kind::Url => matching(&["string"], URL_TEXT, "expected an http:// or https:// URL"),
            Kind::Method => {
                let mut s = matching(&["string"], METHOD_TEXT, "expected an HTTP method");
                let examples = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
                s.insert("examples".into(), examples.as_slice().into());
                s
            }
            Kind::Css => json_schema!({"type": "string", "minLength": 1}),
            Kind::JsonPath => matching(
                &["string"],
                JSONPATH_TEXT,
                "a JSONPath query starts with $ (e.g. $.items[*])",
            ),
            Kind::Regexes => json_schema!({
                "type": ["string", "number", "boolean", "array"],
                "items": {"type": TEXT_TYPES},
            }),
            Kind::Choice(words) => json_schema!({
                "anyOf": [
                    {"type": "string", "enum": words},
                    {"type": "string", "pattern": INTERP},
                ],
            }),
            Kind::Values => json_schema!({"type": "array"}),
            Kind::Statuses => {
                let message = "expected a status code (100..=599) or a class such as 2xx";
                let mut one = matching(&["integer", "string"], STATUS_TEXT, message);
                one.insert("minimum".into(), 100.into());
                one.insert("maximum".into(), 599.into());
                let mut list = one.clone();
                list.insert(
                    "type".into(),
                    serde_json::json!(["integer", "string", "array"]),
                );
                list.insert("items".into(), one.to_value());
                list.insert("minItems".into(), 1.into());
                list
            }
            Kind::Headers => json_schema!({
                "type": "object",
                "propertyNames": matching(&["string"], TOKEN, TOKEN_MESSAGE),
                "additionalProperties": {"type": TEXT_TYPES},
            }),
            Kind::Labels => json_schema!({
                "type": "object",
                "propertyNames": matching(
                    &["string"],
                    IDENTIFIER.shown,
                    &format!("expected a label name matching {}", IDENTIFIER.shown),
                ),
                "additionalProperties": {"type": TEXT_TYPES},
            }),
            Kind::Recipients => json_schema!({
                "type": ["string", "array"],
                "items": {"type": "string"},
                "minItems": 1,
            }),
            Kind::Names => json_schema!({
                "type": "array",
                "items": {"type": TEXT_TYPES},
                "minItems": 1,
                "uniqueItems": true,
            }),
            Kind::TargetRefs => {
                let shown = SPEC_NAME
                    .shown
                    .trim_start_matches('^')
                    .trim_end_matches('$');
                let item = matching(
                    &["string"],
                    &format!("^{shown}/{shown}$|{INTERP}"),
                    "expected spec/target, e.g. shop/home",
                );
                json_schema!({"type": "array", "items": item, "uniqueItems": true})
            }
            Kind::Users => json_schema!({
                "type": "object",
                "propertyNames": matching(
                    &["string"],
                    USER_NAME,
                    "a user name is non-empty, without `:`",
                ),
                "additionalProperties": {"type": TEXT_TYPES},
            }),
            Kind::Tokens => {
                let message = "a bearer token has letters, digits and -._~+/ (then = padding)";
                let one = matching(&["string"], BEARER_TOKEN_TEXT, message);
                let mut items = one.clone();
                items.insert("type".into(), serde_json::json!(TEXT_TYPES));
                let mut s = one;
                s.insert("type".into(), serde_json::json!(["string", "array"]));
                s.insert("items".into(), items.to_value());
                s
            }
            Kind::Map(t) => self.reference(t, Self::object),
            Kind::List(t) => {
                json_schema!({"type": "array", "items": self.reference(t, Self::object)})
            }
            Kind::NonEmptyList(t) => json_schema!({
                "type": "array",
                "items": self.reference(t, Self::object),
                "minItems": 1,
            }),
            Kind::ListOrNull(t) => json_schema!({
                "type": ["array", "null"],
                "items": self.reference(t, Self::object),
            }),
            Kind::NamedOrNull(t) => json_schema!({
                "type": ["object", "null"],
                "propertyNames": matching(
                    &["string"],
                    SPEC_NAME.shown,
                    &format!("expected a name matching {}", SPEC_NAME.shown),
                ),
                "additionalProperties": self.reference(t, Self::object),
            }),
            Kind::NamedMaps(pattern, t) => json_schema!({
                "type": "object",
                "propertyNames": matching(
                    &["string"],
                    pattern.shown,
                    &format!("expected a name matching {}", pattern.shown),
                ),
                "additionalProperties": self.reference(t, Self::object),
            }),
            Kind::Check(t) => self.reference(t, Self::check),
            Kind::Checks(t) => {
                let check = self.reference(t, Self::check);
                json_schema!({"anyOf": [check.clone(), {"type": "array", "items": check}]})
            }
            Kind::HeaderChecks(t) => json_schema!({
                "type": "object",
                "propertyNames": matching(&["string"], TOKEN, TOKEN_MESSAGE),
                "additionalProperties": self.reference(t, Self::check),
            }),
            Kind::AttrChecks(t) => json_schema!({
                "type": "object",
                "additionalProperties": self.reference(t, Self::check),
            }),
            Kind::Count(t) => self.reference(t, Self::count),
        }
    }
}

/// A scalar of `types` whose strings match `pattern`, with the message editors show when one
/// does not (`patternErrorMessage` is yaml-language-server's keyword; validators ignore it).
fn matching(types: &[&str], pattern: &str, message: &str) -> Schema {
    let types = match types {
        [one] => Value::from(*one),
        many => Value::from(many),
    };
    json_schema!({"type": types, "pattern": pattern, "patternErrorMessage": message})
}

/// Add `key`'s description (with its documented default) and, where the default is a literal
/// value, a JSON `default` that editors offer as completion.
fn describe(schema: &mut Schema, key: &KeyDoc) {
    if schema.get("$ref").is_some() {
        // Draft-07 ignores keywords next to `$ref`: wrap it so the description counts.
        *schema = json_schema!({"allOf": [schema.clone()]});
    }
    let mut text = key.doc.to_string();
    if !key.required && !key.default.is_empty() {
        text.push_str(&format!(" Default: {}.", key.default));
    }
    schema.insert("description".into(), text.into());
    if let Some(value) = default_value(key) {
        schema.insert("default".into(), value);
    }
}

/// The documented default as a JSON value, when it is one literal (`` `10s` ``, `` `0` ``).
fn default_value(key: &KeyDoc) -> Option<Value> {
    let literal = key.default.strip_prefix('`')?.strip_suffix('`')?;
    if literal.contains('`') {
        return None;
    }
    match key.kind {
        Kind::Int { .. } => literal.parse::<u64>().ok().map(Value::from),
        Kind::Bool => literal.parse::<bool>().ok().map(Value::from),
        Kind::Duration
        | Kind::Size
        | Kind::Schedule
        | Kind::Css
        | Kind::Method
        | Kind::Statuses
        | Kind::Choice(_) => Some(literal.into()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "schema/tests.rs"]
mod tests;
