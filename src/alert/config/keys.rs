//! The key tables of the alert file format, in one place.
//!
//! The loader uses them to decide which keys are allowed and required, and
//! [`super::reference_markdown`] renders them into `docs/alert-reference.md`, so the reference
//! cannot drift from the code.

use crate::config::keys::{Kind, Table, key, req};
use crate::config::walk::SPEC_NAME;

/// A channel with two kinds.
const ONE_KIND: &str = "`{a}` and `{b}` are exclusive: a channel has exactly one of `email`, `webhook` or `alertmanager`";
/// Half a login.
const BOTH_OR_NEITHER: &str = "`{a}` without `{b}`: give both or neither";

/// The top level of an alert file.
#[rustfmt::skip]
pub static FILE: Table = Table {
    name: "alert file",
    title: "Alert file (top level)",
    intro: "Every `*.yaml`/`*.yml` file under each `--alerts` PATH (a file, or a folder read recursively) is read and all are merged. An empty file is fine; so is a missing default `alerts` folder (alerts are optional).",
    keys: &[
        key("channels", "map of channel name to channel", "", "Named receivers of notifications; names match `^[a-z0-9][a-z0-9_-]*$` and are unique across all alert files.").of(Kind::NamedOrNull(&CHANNEL)),
        key("routes", "list of routes", "", "Which channels hear about which targets; every route that matches a target applies.").of(Kind::ListOrNull(&ROUTE)),
        key("maintenance", "list of maintenance windows", "", "Times when matching targets are still checked and recorded but none of their alerts fires, repeats or resolves.").of(Kind::ListOrNull(&MAINTENANCE)),
    ],
};

/// One entry of `channels:`.
#[rustfmt::skip]
pub static CHANNEL: Table = Table {
    name: "channel",
    title: "`channel` (an entry of `channels`)",
    intro: "Exactly one of `email`, `webhook` or `alertmanager`, plus an optional `template`.",
    keys: &[
        key("email", "map (see `email`)", "", "Send an email over SMTP.").of(Kind::Map(&EMAIL)).one_of().because(ONE_KIND),
        key("webhook", "map (see `webhook`)", "", "POST a JSON document (generic or Slack).").of(Kind::Map(&WEBHOOK)).one_of().because(ONE_KIND),
        key("alertmanager", "map (see `alertmanager`)", "", "Post to Alertmanager's API v2.").of(Kind::Map(&ALERTMANAGER)).one_of().because(ONE_KIND),
        key("template", "map (see `template`)", "", "minijinja templates overriding the built-in rendering; checked for syntax at load.").of(Kind::Map(&TEMPLATE)),
    ],
};

/// `email:` of a channel.
#[rustfmt::skip]
pub static EMAIL: Table = Table {
    name: "email",
    title: "`email`",
    intro: "Email over SMTP. Subject: `[FIRING] spec/target: <first failure>` or `[RESOLVED] spec/target`.",
    keys: &[
        req("smtp", "map (see `smtp`)", "The SMTP server.").of(Kind::Map(&SMTP)),
        req("from", "mailbox", "Sender, e.g. `dcrawl <dcrawl@example.com>`.").of(Kind::Str),
        req("to", "non-empty list of mailboxes", "Recipients, e.g. `[oncall@example.com]` (a single string is one recipient).").of(Kind::Recipients),
    ],
};

/// `email.smtp`.
#[rustfmt::skip]
pub static SMTP: Table = Table {
    name: "smtp",
    title: "`smtp`",
    intro: "How to reach the SMTP server. `username` and `password` go together; the password is a secret.",
    keys: &[
        req("host", "host name or IP address", "SMTP server.").of(Kind::Text),
        key("port", "integer 1..=65535", "`587` (starttls), `465` (tls), `25` (none)", "SMTP port; the default depends on `tls`.").of(Kind::Int { min: 1, max: 65535 }),
        key("tls", "`starttls`, `tls` or `none`", "`starttls`", "`starttls`: plain connection upgraded with STARTTLS (required); `tls`: TLS from the first byte; `none`: no encryption.").of(Kind::Choice(&["starttls", "tls", "none"])),
        key("username", "string", "", "Login name (needs `password`).").of(Kind::Text).needs("password").because(BOTH_OR_NEITHER),
        key("password", "string", "", "Login password (needs `username`); a secret, e.g. `\"${SMTP_PASSWORD}\"`.").of(Kind::Text).needs("username").because(BOTH_OR_NEITHER),
        key("tls_verify", "boolean", "`true`", "Verify the server's certificate; `false` accepts a self-signed relay.").of(Kind::Bool),
    ],
};

/// `webhook:` of a channel.
#[rustfmt::skip]
pub static WEBHOOK: Table = Table {
    name: "webhook",
    title: "`webhook`",
    intro: "An HTTP POST of a JSON document (`Content-Type: application/json`) per notification.",
    keys: &[
        req("url", "http(s) URL", "Where to POST.").of(Kind::Url),
        key("format", "`json` or `slack`", "`json`", "`json`: the generic JSON payload (status, spec, target, url, labels, since, failures, ...); `slack`: `{\"text\": \"...\"}` for Slack incoming webhooks.").of(Kind::Choice(&["json", "slack"])),
        key("headers", "map of header name to string", "", "Extra request headers; values of credential headers (`Authorization`, `Cookie`, names with `token`, `key`, `secret`, `password`) are secrets.").of(Kind::Headers),
    ],
};

/// `alertmanager:` of a channel.
#[rustfmt::skip]
pub static ALERTMANAGER: Table = Table {
    name: "alertmanager",
    title: "`alertmanager`",
    intro: "Alertmanager API v2: alerts are POSTed to `URL/api/v2/alerts` with `alertname=\"DcrawlTargetDown\"`, `spec`, `target` and the spec's labels.",
    keys: &[req("url", "http(s) URL", "Alertmanager's base URL, e.g. `http://127.0.0.1:9093`.").of(Kind::Url)],
};

/// `template:` of a channel.
#[rustfmt::skip]
pub static TEMPLATE: Table = Table {
    name: "template",
    title: "`template`",
    intro: "minijinja templates rendered over the notification (`status`, `spec`, `target`, `url`, `labels`, `since`, `consecutive_failures`, `result`, `failures`, ...). A syntax error is reported at load.",
    keys: &[
        key("subject", "template", "built in", "Email subject.").of(Kind::Text),
        key("body", "template", "built in", "Email body (plain text), or the text of a Slack message.").of(Kind::Text),
        key("payload", "template", "built in", "Webhook JSON payload (must render to valid JSON).").of(Kind::Text),
    ],
};

/// One entry of `routes:`.
#[rustfmt::skip]
pub static ROUTE: Table = Table {
    name: "route",
    title: "`route` (an entry of `routes`)",
    intro: "An alert is per target: it fires after `after` consecutive failed runs (failure or error; with `severity: warning`, warnings too), is resolved by the first run that does not count as failed, and each channel of every matching route is notified once per transition (plus repeats).",
    keys: &[
        key("match", "map of key to value or `'~regex'`", "every target", "All must hold. Keys: `spec`, `target` or a label name (`^[a-zA-Z_][a-zA-Z0-9_]*$`); a value is matched exactly, or with a leading `~` as a regex against the whole value (a target without the label does not match).").of(Kind::Labels),
        req("channels", "non-empty list of channel names", "Channels notified (each must be defined in some alert file).").of(Kind::Names),
        key("after", "integer >= 1", "`2`", "Consecutive failed runs before the alert fires.").of(Kind::Int { min: 1, max: u32::MAX as u64 }),
        key("repeat", "duration >= 1s", "never", "Re-notify this often while the alert fires.").of(Kind::Duration),
        key("resolved", "boolean", "`true`", "Notify when the target recovers.").of(Kind::Bool),
        key("severity", "`failure` or `warning`", "`failure`", "Which runs count as failed: `failure`: failures and errors; `warning`: warnings (runs where only `severity: warning` assertions failed) as well as failures and errors. A route without it never hears about warnings.").of(Kind::Choice(&["failure", "warning"])),
    ],
};

/// A window with two kinds of times.
const ONE_WHEN: &str = "`{a}` and `{b}` are exclusive: a window recurs on a `schedule` or happens once from `start` to `end`";

/// One entry of `maintenance:`.
#[rustfmt::skip]
pub static MAINTENANCE: Table = Table {
    name: "maintenance window",
    title: "`maintenance` window (an entry of `maintenance`)",
    intro: "While a window is on, the targets it matches are checked and recorded as always, but none of their alerts fires, repeats or resolves: no notification is sent or queued for what happens in it. After the window the runs are judged as usual: a target still failing fires then (or, if it was firing before the window, is notified once more), one that recovered resolves. The status page and `/api/v1/status` show the window (`maintenance: {name, until}`) and `dcrawl_maintenance{spec,target}` is 1. A window recurs (`schedule` and `duration`) or happens once (`start` and `end`).",
    keys: &[
        req("name", "string `^[a-z0-9][a-z0-9_-]*$`", "Name of the window, unique across alert files; shown on the status page.").of(Kind::Name(&SPEC_NAME)),
        key("match", "map of key to value or `'~regex'`", "every target", "Which targets it covers, as a route's `match`: `spec`, `target` or a label name, matched exactly or with a leading `~` as a regex.").of(Kind::Labels),
        key("schedule", "cron schedule", "", "When each window starts: 5- or 6-field cron or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` (not `@every`), in `timezone`. A start in the hour the clocks skip happens at the end of that hour (02:30 becomes 03:00); one in the hour they repeat happens once, the first time.").of(Kind::Schedule).one_of().because(ONE_WHEN),
        key("duration", "duration >= 1s", "", "With `schedule`: how long each window lasts, in elapsed time (a 2h window from 01:30 on the night the clocks go forward ends at 04:30 local time).").of(Kind::Duration).needs("schedule").because("`{a}` needs `{b}`: it is the length of each window a schedule starts"),
        key("timezone", "IANA time zone", "UTC", "With `schedule`: the time zone of its cron times, e.g. `Europe/Berlin`.").of(Kind::Str).needs("schedule").because("`{a}` needs `{b}`: `start` and `end` carry their own offset"),
        key("start", "RFC 3339 time", "", "A window that happens once: its first instant, with an offset, e.g. `2026-11-25T02:00:00+01:00`.").of(Kind::Str).one_of().because(ONE_WHEN),
        key("end", "RFC 3339 time", "", "With `start`: the first instant after the window; later than `start`.").of(Kind::Str).needs("start"),
    ],
};

/// Every alert table, in reference order.
pub static ALL: [&Table; 9] = [
    &FILE,
    &CHANNEL,
    &EMAIL,
    &SMTP,
    &WEBHOOK,
    &ALERTMANAGER,
    &TEMPLATE,
    &ROUTE,
    &MAINTENANCE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::DEFAULT_AFTER;

    #[test]
    fn tables_have_unique_documented_keys() {
        crate::config::keys::assert_sound(&ALL);
    }

    #[test]
    fn documented_defaults_equal_the_code() {
        assert_eq!(ROUTE.documented_default("after"), DEFAULT_AFTER.to_string());
        assert_eq!(ROUTE.documented_default("resolved"), "true");
        assert_eq!(
            ROUTE.documented_default("severity"),
            crate::alert::Severity::default().as_str()
        );
        assert_eq!(SMTP.documented_default("tls"), "starttls");
        assert_eq!(SMTP.documented_default("tls_verify"), "true");
        assert_eq!(WEBHOOK.documented_default("format"), "json");
        let ports = SMTP.documented_default("port");
        for (tls, port) in [
            (crate::alert::SmtpTls::Starttls, "587` (starttls)"),
            (crate::alert::SmtpTls::Tls, "465` (tls)"),
            (crate::alert::SmtpTls::None, "25` (none)"),
        ] {
            let code = super::super::channel::default_port(tls).to_string();
            assert!(port.starts_with(&code), "{port}");
            assert!(ports.contains(port), "{ports} lacks {port}");
        }
    }
}
