//! Compiling `render:` of a target.

use super::expect::css;
use super::keys::VIEWPORT;
use super::walk::{Fields, Walk};
use crate::model::Expect;
use crate::model::render::{DEFAULT_RENDER_TIMEOUT, DEFAULT_VIEWPORT, Render, Screenshot};

/// `render` of a target's fields: `None` when the target is not rendered (or `render` is
/// invalid; problems are recorded in `ctx`). Browser-only assertions without `render` are
/// reported here too.
pub(crate) fn render(ctx: &mut Walk<'_>, target: &Fields<'_>, expect: &Expect) -> Option<Render> {
    let Some(node) = target.get("render") else {
        if let Some((key, _)) = target.entry("expect")
            && (expect.console_errors.is_some() || expect.failed_requests.is_some())
        {
            ctx.err(
                key.pos,
                "`console_errors` and `failed_requests` need `render`: only a browser sees them",
            );
        }
        return None;
    };
    let f = ctx.fields(node, &super::keys::RENDER)?;
    let wait_for = match f.get("wait_for") {
        Some(n) => Some(css(ctx, n)?),
        None => None,
    };
    let timeout = match f.get("timeout") {
        Some(n) => ctx.duration(n)?,
        None => DEFAULT_RENDER_TIMEOUT,
    };
    let mut viewport = DEFAULT_VIEWPORT;
    if let Some(n) = f.get("viewport") {
        let v = ctx.fields(n, &VIEWPORT)?;
        if v.get("width").is_some() {
            viewport.0 = ctx.int_key(&v, "width")?;
        }
        if v.get("height").is_some() {
            viewport.1 = ctx.int_key(&v, "height")?;
        }
    }
    let screenshot = match f.get("screenshot") {
        None => Screenshot::OnFailure,
        Some(n) => match ctx.text(n, "`on_failure`, `always` or `never`")?.as_str() {
            "on_failure" => Screenshot::OnFailure,
            "always" => Screenshot::Always,
            "never" => Screenshot::Never,
            other => {
                let msg = format!(
                    "invalid screenshot {other:?}: expected `on_failure`, `always` or `never`"
                );
                ctx.err(n.pos, msg);
                return None;
            }
        },
    };
    Some(Render {
        wait_for,
        timeout,
        viewport,
        screenshot,
    })
}
