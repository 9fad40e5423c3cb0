//! Key tables: which keys a map of a configuration file allows or requires, what each means,
//! its default and the kind of value it takes.
//!
//! The schema walker ([`super::walk`]) checks maps against them, [`super::reference`] renders
//! them into the reference docs and [`crate::schema`] into the JSON Schema that editors use, so
//! none of the three can drift from the others. Spec, alert and web config files each define
//! their own tables.

use super::walk::NamePattern;

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
    /// A duration, or a map with the table's keys (`max_duration: {limit, severity}`).
    DurationOr(&'static Table),
    /// Statuses (see [`Kind::Statuses`]), or a map with the table's keys (`status: {in, severity}`).
    StatusesOr(&'static Table),
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
    /// A list of `spec/target` references, each given once.
    TargetRefs,
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
    /// A map of name (following the pattern) to a map with the table's keys.
    NamedMaps(&'static NamePattern, &'static Table),
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
    /// The message when the relation is broken, `{a}` standing for this key and `{b}` for the
    /// other ("" = a plain "`a` needs `b`" / "`a` and `b` are exclusive").
    pub why: &'static str,
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

    /// The same key, with `why` as the message when its relation is broken (`{a}`: this key,
    /// `{b}`: the other one).
    pub const fn because(self, why: &'static str) -> KeyDoc {
        KeyDoc { why, ..self }
    }

    /// The message for a broken relation between this key (`a`) and `b`.
    pub fn broken(&self, b: &str) -> String {
        match (self.why, self.rule) {
            ("", Rule::Needs(_)) => format!("`{}` needs `{b}`", self.name),
            ("", _) => format!("`{}` and `{b}` are exclusive", self.name),
            (why, _) => why.replace("{a}", self.name).replace("{b}", b),
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
        why: "",
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
        why: "",
    }
}

/// Integers from `min` up, without an upper bound.
pub(crate) const fn at_least(min: u64) -> Kind {
    Kind::Int { min, max: u64::MAX }
}

/// Every table of `tables` has each key once, and every key says what it does (the tests of
/// each file format's tables call this).
#[cfg(test)]
pub(crate) fn assert_sound(tables: &[&Table]) {
    for t in tables {
        let mut names: Vec<&str> = t.keys.iter().map(|k| k.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate key in {}", t.name);
        assert!(t.keys.iter().all(|k| !k.doc.is_empty()), "{}", t.name);
    }
}
