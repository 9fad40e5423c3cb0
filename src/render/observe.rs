//! What a page did, folded from its DevTools events: the main document's status and headers,
//! console errors, failed sub-requests, dialogs, popups, load and crashes. Pure bookkeeping, no
//! I/O, so it is tested with recorded event shapes.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::Value;

use super::cdp::{Command, Event};

/// The reason Chromium gives when navigation "fails" only because the main document answered
/// 4xx/5xx with an empty body: the status is still what the check wants to see.
pub(crate) const HTTP_ERROR_NAVIGATION: &str = "net::ERR_HTTP_RESPONSE_CODE_FAILURE";

/// Answers, from the connection's reader task, the events that would otherwise block the page:
/// JavaScript dialogs are dismissed (`beforeunload` is accepted so leaving the page goes on) and
/// popups (`window.open`: a new target with an opener) are closed.
pub(crate) fn auto_reply(event: &Event) -> Option<Command> {
    match event.method.as_str() {
        "Page.javascriptDialogOpening" => Some(Command {
            session: event.session.clone(),
            method: "Page.handleJavaScriptDialog",
            params: serde_json::json!({
                "accept": event.params["type"].as_str() == Some("beforeunload"),
            }),
        }),
        "Target.targetCreated" => {
            let info = &event.params["targetInfo"];
            let opener = info["openerId"].as_str().filter(|o| !o.is_empty());
            let target = info["targetId"].as_str();
            match (opener, target) {
                (Some(_), Some(target)) => Some(Command {
                    session: None,
                    method: "Target.closeTarget",
                    params: serde_json::json!({ "targetId": target }),
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A string field of a JSON object, or "".
fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

/// The first line of `s`.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// One `Runtime.RemoteObject` as console text: strings as they are, other values as JSON, objects
/// by the first line of their description.
fn remote_object(object: &Value) -> String {
    match &object["value"] {
        Value::String(s) => s.clone(),
        Value::Null if object.get("value").is_none() => {
            let description = text(object, "description");
            let unserializable = text(object, "unserializableValue");
            let shown = [description, unserializable, text(object, "type")]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("undefined");
            first_line(shown).to_owned()
        }
        other => other.to_string(),
    }
}

/// `Runtime.exceptionThrown` as one line: `Uncaught Error: boom (http://host/app.js:12)`.
fn exception_message(params: &Value) -> String {
    let details = &params["exceptionDetails"];
    let mut message = text(details, "text").to_owned();
    let exception = &details["exception"];
    let what = match text(exception, "description") {
        "" => match &exception["value"] {
            Value::Null => String::new(),
            value => remote_object(&serde_json::json!({ "value": value })),
        },
        description => first_line(description).to_owned(),
    };
    if !what.is_empty() && !message.contains(&what) {
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(&what);
    }
    if message.is_empty() {
        message.push_str("Uncaught exception");
    }
    let url = text(details, "url");
    if !url.is_empty() {
        let line = details["lineNumber"].as_u64().map_or(0, |l| l + 1);
        message.push_str(&format!(" ({url}:{line})"));
    }
    message
}

/// Everything the page did that a render reports, updated event by event.
#[derive(Debug)]
pub(crate) struct PageState {
    /// The flattened session of the page's target.
    session: String,
    /// The page's target id.
    target: String,
    /// The main frame id, from `Page.navigate`.
    pub frame: String,
    /// Request ids of main-frame documents (excluded from failed sub-requests).
    main_requests: HashSet<String>,
    /// Request ids not reported when they fail: the browser's own `/favicon.ico` request, which
    /// the page did not make.
    ignored: HashSet<String>,
    /// URLs of requests still in flight, for `Network.loadingFailed`, which carries none.
    in_flight: HashMap<String, String>,
    /// The main document's status.
    pub status: Option<u16>,
    /// The main document's response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The main frame's committed URL.
    pub url: Option<String>,
    /// Exceptions and `console.error`/`console.assert` messages, in order.
    pub console_errors: Vec<String>,
    /// `URL: reason` of sub-requests that failed or answered >= 400.
    pub failed_requests: Vec<String>,
    /// `type: message` of dialogs that were dismissed.
    pub dialogs: Vec<String>,
    /// URLs of popups the page opened (`Page.windowOpen`, blocked or not).
    pub popups: Vec<String>,
    /// Whether the navigation committed (the main frame navigated): before that, the target
    /// still shows `about:blank`.
    pub committed: bool,
    /// When the load event fired after the commit.
    pub loaded_at: Option<Instant>,
    /// Why the page is dead, if it is.
    pub crashed: Option<String>,
}

impl PageState {
    /// A page in `session` of `target`, before navigation.
    pub(super) fn new(session: String, target: String) -> Self {
        PageState {
            session,
            target,
            frame: String::new(),
            main_requests: HashSet::new(),
            ignored: HashSet::new(),
            in_flight: HashMap::new(),
            status: None,
            headers: Vec::new(),
            url: None,
            console_errors: Vec::new(),
            failed_requests: Vec::new(),
            dialogs: Vec::new(),
            popups: Vec::new(),
            committed: false,
            loaded_at: None,
            crashed: None,
        }
    }

    /// Requests sent and not finished yet.
    pub(super) fn pending_requests(&self) -> usize {
        self.in_flight.len()
    }

    /// Folds one event in; events of other sessions and unknown events are ignored.
    pub(super) fn on_event(&mut self, event: &Event) {
        let p = &event.params;
        match event.session.as_deref() {
            None => self.on_browser_event(&event.method, p),
            Some(s) if s == self.session => self.on_page_event(&event.method, p),
            Some(_) => {}
        }
    }

    /// Browser-level events: the page's target going away.
    fn on_browser_event(&mut self, method: &str, p: &Value) {
        match method {
            "Target.targetCrashed" if text(p, "targetId") == self.target => {
                self.crashed = Some(format!(
                    "the page's renderer process died ({})",
                    text(p, "status")
                ));
            }
            "Target.detachedFromTarget" if text(p, "sessionId") == self.session => {
                self.crashed
                    .get_or_insert_with(|| "the page's target was closed".to_owned());
            }
            _ => {}
        }
    }

    /// Events of the page's own session.
    fn on_page_event(&mut self, method: &str, p: &Value) {
        let request = text(p, "requestId");
        match method {
            "Network.requestWillBeSent" => {
                let url = text(&p["request"], "url");
                if text(p, "type") == "Document" && text(p, "frameId") == self.frame {
                    self.main_requests.insert(request.to_owned());
                } else if text(p, "type") == "Other" && is_default_favicon(url) {
                    self.ignored.insert(request.to_owned());
                }
                self.in_flight.insert(request.to_owned(), url.to_owned());
            }
            "Network.responseReceived" => self.on_response(request, p),
            "Network.loadingFinished" => {
                self.in_flight.remove(request);
            }
            "Network.loadingFailed" => {
                let url = self.in_flight.remove(request).unwrap_or_default();
                let canceled = p["canceled"].as_bool().unwrap_or(false);
                if !canceled
                    && !self.main_requests.contains(request)
                    && !self.ignored.contains(request)
                {
                    let mut reason = text(p, "errorText").to_owned();
                    let blocked = text(p, "blockedReason");
                    if !blocked.is_empty() {
                        reason.push_str(&format!(" (blocked: {blocked})"));
                    }
                    self.failed_requests.push(format!("{url}: {reason}"));
                }
            }
            "Page.frameNavigated" => {
                let frame = &p["frame"];
                if !self.frame.is_empty() && text(frame, "id") == self.frame {
                    self.committed = true;
                    self.url = Some(text(frame, "url").to_owned());
                }
            }
            "Page.loadEventFired" if self.committed => {
                self.loaded_at.get_or_insert_with(Instant::now);
            }
            "Runtime.exceptionThrown" => self.console_errors.push(exception_message(p)),
            "Runtime.consoleAPICalled" if matches!(text(p, "type"), "error" | "assert") => {
                let args = p["args"].as_array().map(Vec::as_slice).unwrap_or_default();
                let words: Vec<String> = args.iter().map(remote_object).collect();
                self.console_errors.push(words.join(" "));
            }
            "Page.windowOpen" => self.popups.push(text(p, "url").to_owned()),
            "Page.javascriptDialogOpening" => {
                self.dialogs
                    .push(format!("{}: {}", text(p, "type"), text(p, "message")));
            }
            "Inspector.targetCrashed" => {
                self.crashed = Some("the page's renderer process crashed".to_owned());
            }
            _ => {}
        }
    }

    /// A response: the main document's status and headers, or a failed sub-request.
    fn on_response(&mut self, request: &str, p: &Value) {
        let response = &p["response"];
        let status = response["status"].as_u64().unwrap_or(0);
        let main = self.main_requests.contains(request)
            || (text(p, "type") == "Document" && text(p, "frameId") == self.frame);
        if main {
            self.status = u16::try_from(status).ok();
            self.headers = headers(&response["headers"]);
        } else if status >= 400 && !self.ignored.contains(request) {
            self.failed_requests
                .push(format!("{}: HTTP {status}", text(response, "url")));
        }
    }
}

/// Whether `url` is a site's default icon, which the browser asks for on its own.
fn is_default_favicon(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.path() == "/favicon.ico")
}

/// A `Network.Headers` object as pairs, names lower-cased; Chromium joins repeated headers with
/// newlines, which are split back into one pair each.
fn headers(object: &Value) -> Vec<(String, String)> {
    let Some(map) = object.as_object() else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for (name, value) in map {
        let name = name.to_ascii_lowercase();
        for value in value.as_str().unwrap_or("").split('\n') {
            pairs.push((name.clone(), value.to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
