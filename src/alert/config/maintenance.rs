//! Compiling one entry of `maintenance:` (names are checked for uniqueness across files by the
//! caller).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::keys::MAINTENANCE;
use super::route::matchers;
use crate::alert::maintenance::{Maintenance, When};
use crate::config::walk::{Ctx, SPEC_NAME};
use crate::config::yaml::{Node, Pos};
use crate::model::Schedule;

/// Shortest window accepted.
const MIN_DURATION: Duration = Duration::from_secs(1);

/// Compile one window; returns it (when it has no error of its own) and its name with the
/// position of the name's value, for the duplicate check.
pub(super) fn window(
    ctx: &mut Ctx<'_>,
    node: &Node,
) -> (Option<Maintenance>, Option<(String, Pos)>) {
    let before = ctx.diags.len();
    let Some(f) = ctx.fields(node, &MAINTENANCE) else {
        return (None, None);
    };
    let name = f
        .get("name")
        .and_then(|n| ctx.name(n, &SPEC_NAME).map(|s| (s, n.pos)));
    let matchers = f.get("match").map(|n| matchers(ctx, n)).unwrap_or_default();
    let when = match (f.get("schedule"), f.get("start")) {
        (Some(schedule), None) => {
            recurring(ctx, schedule, f.get("duration"), f.get("timezone"), node)
        }
        (None, Some(start)) => once(ctx, start, f.get("end"), node),
        // Both: reported by the key table.
        (Some(_), Some(_)) => None,
        (None, None) => {
            let msg =
                "a maintenance window needs `schedule` (with `duration`) or `start` and `end`";
            ctx.err(node.pos, msg);
            None
        }
    };
    if ctx.diags.len() != before {
        return (None, name);
    }
    let window = match (&name, when) {
        (Some((name, _)), Some(when)) => Some(Maintenance {
            name: name.clone(),
            matchers,
            when,
        }),
        _ => None,
    };
    (window, name)
}

/// `schedule` + `duration` (+ `timezone`).
fn recurring(
    ctx: &mut Ctx<'_>,
    schedule: &Node,
    duration: Option<&Node>,
    timezone: Option<&Node>,
    window: &Node,
) -> Option<When> {
    let tz = match timezone {
        Some(n) => Some(ctx.text(n, "a time zone name").map(|t| (t, n.pos))?),
        None => None,
    };
    let text = ctx.text(schedule, "a cron expression")?;
    let length = match duration {
        Some(n) => ctx.duration(n).and_then(|d| {
            if d < MIN_DURATION {
                let shown = humantime::format_duration(d);
                ctx.err(
                    n.pos,
                    format!("duration must be at least 1s, found {shown}"),
                );
                return None;
            }
            Some(d)
        }),
        None => {
            ctx.err(
                window.pos,
                "`schedule` needs `duration`: how long each window lasts",
            );
            None
        }
    };
    if text.trim().starts_with("@every") {
        let msg = format!(
            "invalid maintenance schedule {:?}: a window starts at cron times (e.g. \"0 2 * * *\" or @daily), not @every",
            text.trim()
        );
        ctx.err(schedule.pos, msg);
        return None;
    }
    let parsed = match Schedule::parse(&text, tz.as_ref().map(|(t, _)| t.as_str())) {
        Ok(s) => s,
        Err(e) => {
            // A bad time zone is reported at the time zone.
            let pos = match &tz {
                Some((_, pos)) if e.contains("time zone") => *pos,
                _ => schedule.pos,
            };
            ctx.err(pos, e);
            return None;
        }
    };
    Some(When::Recurring {
        schedule: parsed,
        duration: length?,
    })
}

/// `start` + `end`.
fn once(ctx: &mut Ctx<'_>, start: &Node, end: Option<&Node>, window: &Node) -> Option<When> {
    let from = instant(ctx, start);
    let Some(end) = end else {
        ctx.err(
            window.pos,
            "`start` needs `end`: the first instant after the window",
        );
        return None;
    };
    let to = instant(ctx, end)?;
    let from = from?;
    if to <= from {
        ctx.err(end.pos, "`end` must be later than `start`");
        return None;
    }
    Some(When::Once {
        start: from,
        end: to,
    })
}

/// An RFC 3339 time with an offset.
fn instant(ctx: &mut Ctx<'_>, node: &Node) -> Option<DateTime<Utc>> {
    let text = ctx.text(node, "an RFC 3339 time (e.g. 2026-11-25T02:00:00+01:00)")?;
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            let msg = format!(
                "invalid time {text:?}: {e} (expected RFC 3339 with an offset, e.g. 2026-11-25T02:00:00+01:00 or 2026-11-25T01:00:00Z)"
            );
            ctx.err(node.pos, msg);
            None
        }
    }
}
