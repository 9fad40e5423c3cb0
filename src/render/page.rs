//! The script that renders one page in a tab of a running browser.
//!
//! Target.createTarget (about:blank) and attach with flattened sessions; Page, Network and
//! Runtime enabled; viewport and extra request headers set; Page.navigate. Then events are folded
//! into a [`PageState`] while the page is polled every 100 ms: for `wait_for`, until
//! `document.querySelector(selector) !== null`, else until 500 ms after the load event. Finally
//! the document's `outerHTML`, an optional PNG screenshot, and the tab is closed. Dialogs and
//! popups are handled by [`observe::auto_reply`](super::observe::auto_reply) as they come.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::future::try_join_all;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use url::Url;

use super::cdp::{Connection, Event};
use super::observe::{HTTP_ERROR_NAVIGATION, PageState};
use super::{RenderError, RenderRequest, Rendered};

/// How often the page is polled for `wait_for` and for the end of the settle time.
const POLL: Duration = Duration::from_millis(100);

/// How long after the load event the page is given to settle when there is no `wait_for`.
const SETTLE: Duration = Duration::from_millis(500);

/// How long closing the tab may take before the browser is deemed unhealthy.
const CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// What a render is doing, for the message of a timeout. A std mutex: set and read, never held
/// across an await.
#[derive(Debug)]
pub(crate) struct Progress(Mutex<String>);

impl Progress {
    /// Starts at `stage`.
    pub(super) fn new(stage: &str) -> Self {
        Progress(Mutex::new(stage.to_owned()))
    }

    /// Moves on to `stage`.
    pub(super) fn set(&self, stage: impl Into<String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = stage.into();
    }

    /// The current stage.
    pub(super) fn get(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The result of one page, and whether its tab was closed (if not, the browser is replaced).
pub(crate) struct PageOutcome {
    /// The render.
    pub result: Result<Rendered, RenderError>,
    /// Whether the tab was closed cleanly.
    pub closed: bool,
}

/// Renders `request` in a new tab of the browser behind `conn`, whose event stream is `events`.
pub(crate) async fn render_page(
    conn: &Connection,
    events: &mut UnboundedReceiver<Event>,
    request: &RenderRequest,
    started: Instant,
    progress: &Progress,
) -> PageOutcome {
    // Events left from earlier pages belong to closed sessions.
    while events.try_recv().is_ok() {}
    progress.set("opening a tab");
    let target = match conn
        .call(None, "Target.createTarget", json!({"url": "about:blank"}))
        .await
    {
        Ok(created) => created["targetId"].as_str().unwrap_or_default().to_owned(),
        Err(e) => {
            return PageOutcome {
                result: Err(e.into()),
                closed: false,
            };
        }
    };
    let result = drive(conn, events, request, &target, started, progress).await;
    progress.set("closing the tab");
    let closing = conn.call(None, "Target.closeTarget", json!({"targetId": target}));
    let closed = matches!(tokio::time::timeout(CLOSE_WITHIN, closing).await, Ok(Ok(_)));
    PageOutcome { result, closed }
}

/// Everything between creating the tab and closing it.
async fn drive(
    conn: &Connection,
    events: &mut UnboundedReceiver<Event>,
    request: &RenderRequest,
    target: &str,
    started: Instant,
    progress: &Progress,
) -> Result<Rendered, RenderError> {
    let attached = conn
        .call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )
        .await?;
    let session = attached["sessionId"]
        .as_str()
        .ok_or_else(|| RenderError::Protocol("Target.attachToTarget gave no sessionId".into()))?
        .to_owned();
    let s = Some(session.as_str());
    let (width, height) = request.viewport;
    let mut setup = vec![
        conn.call(s, "Page.enable", json!({})),
        conn.call(s, "Network.enable", json!({})),
        conn.call(s, "Runtime.enable", json!({})),
        conn.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        ),
    ];
    if !request.headers.is_empty() {
        let headers: serde_json::Map<String, Value> = request
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        setup.push(conn.call(
            s,
            "Network.setExtraHTTPHeaders",
            json!({"headers": headers}),
        ));
    }
    try_join_all(setup).await?;

    let mut state = PageState::new(session.clone(), target.to_owned());
    progress.set("waiting for the server's response to the page request");
    let navigated = conn
        .call(s, "Page.navigate", json!({"url": request.url.as_str()}))
        .await?;
    let error = navigated["errorText"].as_str().unwrap_or_default();
    if !error.is_empty() && error != HTTP_ERROR_NAVIGATION {
        return Err(RenderError::Navigation {
            url: request.url.to_string(),
            reason: error.to_owned(),
        });
    }
    state.frame = navigated["frameId"].as_str().unwrap_or(target).to_owned();

    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => state.on_event(&event),
                None => return Err(RenderError::Crashed("the browser closed its DevTools connection".into())),
            },
            _ = tick.tick() => {
                if let Some(why) = &state.crashed {
                    return Err(RenderError::Crashed(why.clone()));
                }
                progress.set(stage(request, &state));
                if ready(conn, s, request, &state).await? {
                    break;
                }
            }
        }
    }

    progress.set("taking the snapshot of the document");
    let snapshot = evaluate(
        conn,
        s,
        "(() => { const d = document.documentElement; \
         return {url: location.href, html: d ? d.outerHTML : ''}; })()",
    )
    .await?;
    let screenshot = if request.screenshot {
        progress.set("taking the screenshot");
        let shot = conn
            .call(s, "Page.captureScreenshot", json!({"format": "png"}))
            .await?;
        let data = shot["data"].as_str().unwrap_or_default();
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| RenderError::Protocol(format!("the screenshot is not base64: {e}")))?;
        Some(png)
    } else {
        None
    };
    // Whatever the page reported up to the snapshot.
    while let Ok(event) = events.try_recv() {
        state.on_event(&event);
    }
    let final_url = snapshot["url"]
        .as_str()
        .or(state.url.as_deref())
        .and_then(|u| Url::parse(u).ok())
        .unwrap_or_else(|| request.url.clone());
    Ok(Rendered {
        status: state.status,
        headers: state.headers,
        final_url,
        html: snapshot["html"].as_str().unwrap_or_default().to_owned(),
        console_errors: state.console_errors,
        failed_requests: state.failed_requests,
        dialogs: state.dialogs,
        popups: state.popups,
        screenshot,
        duration: started.elapsed(),
    })
}

/// What the page is being waited for, in words.
fn stage(request: &RenderRequest, state: &PageState) -> String {
    match (&request.wait_for, state.committed, state.loaded_at) {
        (_, false, _) => "waiting for the page to start loading".to_owned(),
        (Some(selector), true, _) => format!("waiting for `{selector}` to appear"),
        (None, true, None) => format!(
            "waiting for the load event; requests still loading: {}",
            state.pending_requests()
        ),
        (None, true, Some(_)) => "letting the page settle after the load event".to_owned(),
    }
}

/// Whether the page is ready for its snapshot: `wait_for` matches, or the settle time after the
/// load event has passed.
async fn ready(
    conn: &Connection,
    session: Option<&str>,
    request: &RenderRequest,
    state: &PageState,
) -> Result<bool, RenderError> {
    if !state.committed {
        return Ok(false);
    }
    let Some(selector) = &request.wait_for else {
        return Ok(state.loaded_at.is_some_and(|t| t.elapsed() >= SETTLE));
    };
    let literal = Value::String(selector.clone()).to_string();
    let expression = format!("document.querySelector({literal}) !== null");
    match evaluate(conn, session, &expression).await {
        Ok(found) => Ok(found.as_bool().unwrap_or(false)),
        Err(Evaluated::Threw(reason)) => Err(RenderError::InvalidSelector {
            selector: selector.clone(),
            reason,
        }),
        // The document was replaced mid-poll (a script navigated): poll again.
        Err(Evaluated::Failed(RenderError::Protocol(_))) => Ok(false),
        Err(Evaluated::Failed(e)) => Err(e),
    }
}

/// Why [`evaluate`] gave no value.
enum Evaluated {
    /// The expression threw; the exception's description.
    Threw(String),
    /// The command itself failed.
    Failed(RenderError),
}

impl From<Evaluated> for RenderError {
    fn from(e: Evaluated) -> Self {
        match e {
            Evaluated::Threw(reason) => {
                RenderError::Protocol(format!("evaluating in the page failed: {reason}"))
            }
            Evaluated::Failed(e) => e,
        }
    }
}

/// Evaluates `expression` in the page's main world and returns its value (by value).
async fn evaluate(
    conn: &Connection,
    session: Option<&str>,
    expression: &str,
) -> Result<Value, Evaluated> {
    let mut answer = conn
        .call(
            session,
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        )
        .await
        .map_err(|e| Evaluated::Failed(e.into()))?;
    if let Some(details) = answer.get("exceptionDetails") {
        let description = details["exception"]["description"]
            .as_str()
            .or(details["text"].as_str())
            .unwrap_or("exception");
        return Err(Evaluated::Threw(
            description.lines().next().unwrap_or_default().to_owned(),
        ));
    }
    Ok(answer["result"]["value"].take())
}
