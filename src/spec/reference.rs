//! Renders the key tables and the prose on checks, schedules, units and `${VAR}` into the
//! Markdown reference `docs/spec-reference.md` (a test keeps the file equal to this output).

use super::keys::ALL;
use crate::config::reference::render_reference;

const PREAMBLE: &str = "# Spec file reference\n\n\
<!-- Generated from src/spec/keys.rs by the test `reference_doc_is_current`; \
regenerate with `UPDATE_REFERENCE=1 cargo test --test validate`. Do not edit by hand. -->\n\n\
`dcrawl validate` reports every problem at once, each as `FILE:LINE:COLUMN: message` at the \
offending key or value. Unknown keys are errors that name the allowed keys.\n";

const PROSE: &str = "## Schedules\n\n\
- `@every DURATION`: a fixed interval of at least 1s (`@every 30s`, `@every 1h30m`).\n\
- `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`).\n\
- Standard 5-field cron (`*/5 * * * *`, minute first) or 6-field cron with seconds first \
(`*/10 * * * * *`).\n\
- `timezone` (spec or target) sets the time zone of cron schedules; default UTC.\n\n\
## Durations and sizes\n\n\
Durations: a number with a unit, e.g. `250ms`, `10s`, `1m30s`, `2h`, `7d`. A bare number is \
rejected (say `10s`).\n\n\
Sizes: `512KiB`, `10MiB`, `1GB` (powers of 1024 for `KiB`/`MiB`/`GiB`, of 1000 for \
`KB`/`MB`/`GB`), or a plain integer of bytes.\n\n\
Integers and booleans may also be written as strings (as `${VAR}` produces), e.g. \
`retries: \"${RETRIES:-1}\"`.\n\n\
## Environment variables (`${VAR}`)\n\n\
Every string value (not keys) may use `${NAME}` or `${NAME:-default}`; it is replaced by the \
environment variable `NAME` (with `:-`, the default is used when it is unset or empty). An unset \
variable without a default is a validation error at that value. `$${` is a literal `${`; any \
other `$` is literal, so JSONPath (`$.a`) and regexes (`\\$`, `x$`) are untouched.\n\n\
Values taken from the environment (3 characters or longer) and the values of credential \
headers (`Authorization`, `Proxy-Authorization`, `Cookie`, and any header whose name contains \
`token`, `key`, `secret` or `password`) are secrets: they are never printed back and show as \
`***`.\n\n\
## How HTML pages are parsed\n\n\
`html` assertions, CSS extracts and a crawl's links see a page as a browser's \
`document.querySelectorAll` and `textContent` do: the tree that the HTML standard's parsing \
algorithm builds (html5ever, through scraper), with the `html`, `head` and `body` it implies, \
parsed with scripting enabled as in a browser running JavaScript (the content of `<noscript>` \
is text, not elements). `<template>` contents are a separate document fragment, and what the \
parser removed from the document (the `<body>` that a `<frameset>` replaces) is no longer in \
it: no selector matches them and they are no element's text. A page whose structure is provably that \
tree is answered in one streaming pass instead, with the same answers. Both ways are checked \
against the html5lib tree-construction tests.\n\n\
Known deviations from the standard, not worked around:\n\n\
- `<selectedcontent>` (customizable `<select>`) stays empty: html5ever does not copy the \
selected `<option>`'s contents into it.\n\
- An HTML element inside MathML `<annotation-xml encoding=\"text/html\">` (or \
`application/xhtml+xml`) is put after the `<math>` element, not inside the `<annotation-xml>`: \
scraper's tree does not keep html5ever's mark of an HTML integration point.\n\n\
The suite shows no other difference: frameset-ok and foster parenting inside the adoption \
agency algorithm build the standard's tree (`<!doctype html><p><frameset><frame>` has no \
`p`).\n";

/// Render the reference documentation (the content of `docs/spec-reference.md`).
pub fn reference_markdown() -> String {
    render_reference(PREAMBLE, &ALL, PROSE)
}
