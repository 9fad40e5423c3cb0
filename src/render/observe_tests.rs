//! Unit tests of `observe.rs` with event shapes recorded from Chromium.

use serde_json::json;

use super::*;

fn page_event(method: &str, params: Value) -> Event {
    Event {
        method: method.to_owned(),
        session: Some("S".to_owned()),
        params,
    }
}

fn state() -> PageState {
    let mut state = PageState::new("S".to_owned(), "T".to_owned());
    state.frame = "T".to_owned();
    state
}

#[test]
fn the_main_document_gives_status_and_headers() {
    let mut s = state();
    s.on_event(&page_event(
        "Network.requestWillBeSent",
        json!({"requestId":"L1","loaderId":"L1","frameId":"T","type":"Document",
               "request":{"url":"http://h/","method":"GET"},"newField":1}),
    ));
    s.on_event(&page_event(
        "Network.responseReceived",
        json!({"requestId":"L1","frameId":"T","type":"Document",
               "response":{"url":"http://h/","status":404,
                           "headers":{"Content-Type":"text/html","Set-Cookie":"a=1\nb=2"}}}),
    ));
    assert_eq!(s.status, Some(404));
    assert_eq!(
        s.headers,
        vec![
            ("content-type".to_owned(), "text/html".to_owned()),
            ("set-cookie".to_owned(), "a=1".to_owned()),
            ("set-cookie".to_owned(), "b=2".to_owned()),
        ]
    );
    assert!(
        s.failed_requests.is_empty(),
        "the main document is no sub-request"
    );
}

#[test]
fn failed_and_erroring_sub_requests_are_listed() {
    let mut s = state();
    for (id, url) in [
        ("1", "http://h/a.png"),
        ("2", "http://h/api"),
        ("3", "http://h/x"),
    ] {
        s.on_event(&page_event(
            "Network.requestWillBeSent",
            json!({"requestId":id,"frameId":"T","type":"Image","request":{"url":url}}),
        ));
    }
    s.on_event(&page_event(
        "Network.responseReceived",
        json!({"requestId":"1","frameId":"T","type":"Image","response":{"url":"http://h/a.png","status":404}}),
    ));
    s.on_event(&page_event(
        "Network.loadingFailed",
        json!({"requestId":"2","errorText":"net::ERR_CONNECTION_REFUSED","canceled":false}),
    ));
    s.on_event(&page_event(
        "Network.loadingFailed",
        json!({"requestId":"3","errorText":"net::ERR_ABORTED","canceled":true}),
    ));
    assert_eq!(
        s.failed_requests,
        vec![
            "http://h/a.png: HTTP 404".to_owned(),
            "http://h/api: net::ERR_CONNECTION_REFUSED".to_owned()
        ]
    );
    assert_eq!(s.status, None);
}

#[test]
fn the_browsers_own_favicon_request_is_not_the_pages() {
    let mut s = state();
    s.on_event(&page_event(
        "Network.requestWillBeSent",
        json!({"requestId":"9","frameId":"T","type":"Other","initiator":{"type":"other"},
               "request":{"url":"http://h/favicon.ico"}}),
    ));
    s.on_event(&page_event(
        "Network.responseReceived",
        json!({"requestId":"9","frameId":"T","type":"Other","response":{"url":"http://h/favicon.ico","status":404}}),
    ));
    assert!(s.failed_requests.is_empty(), "{:?}", s.failed_requests);
}

#[test]
fn exceptions_and_console_errors_keep_their_order() {
    let mut s = state();
    s.on_event(&page_event(
        "Runtime.consoleAPICalled",
        json!({"type":"log","args":[{"type":"string","value":"fine"}]}),
    ));
    s.on_event(&page_event(
        "Runtime.consoleAPICalled",
        json!({"type":"error","args":[{"type":"string","value":"bad thing"},
               {"type":"number","value":42},{"type":"object","description":"Error: x\n    at f"}]}),
    ));
    s.on_event(&page_event(
        "Runtime.exceptionThrown",
        json!({"timestamp":1,"exceptionDetails":{"exceptionId":1,"text":"Uncaught",
               "lineNumber":11,"columnNumber":5,"url":"http://h/app.js",
               "exception":{"type":"object","subtype":"error","description":"Error: boom\n    at http://h/app.js:12:5"}}}),
    ));
    s.on_event(&page_event(
        "Runtime.exceptionThrown",
        json!({"exceptionDetails":{"text":"Uncaught","exception":{"type":"string","value":"plain"}}}),
    ));
    assert_eq!(
        s.console_errors,
        vec![
            "bad thing 42 Error: x".to_owned(),
            "Uncaught Error: boom (http://h/app.js:12)".to_owned(),
            "Uncaught plain".to_owned(),
        ]
    );
}

#[test]
fn other_sessions_and_unknown_events_are_ignored() {
    let mut s = state();
    let mut other = page_event(
        "Runtime.exceptionThrown",
        json!({"exceptionDetails":{"text":"Uncaught"}}),
    );
    other.session = Some("OTHER".to_owned());
    s.on_event(&other);
    s.on_event(&page_event("Some.newEvent", json!({"whatever": [1, 2]})));
    s.on_event(&page_event("Network.responseReceived", Value::Null));
    assert!(s.console_errors.is_empty() && s.failed_requests.is_empty());
}

#[test]
fn load_counts_only_after_the_commit() {
    let mut s = state();
    s.on_event(&page_event("Page.loadEventFired", json!({"timestamp": 1})));
    assert!(s.loaded_at.is_none(), "that was about:blank");
    s.on_event(&page_event(
        "Page.frameNavigated",
        json!({"frame":{"id":"T","loaderId":"L","url":"http://h/after"},"type":"Navigation"}),
    ));
    s.on_event(&page_event("Page.loadEventFired", json!({"timestamp": 2})));
    assert!(s.committed && s.loaded_at.is_some());
    assert_eq!(s.url.as_deref(), Some("http://h/after"));
}

#[test]
fn dialogs_are_dismissed_and_popups_closed() {
    let alert = page_event(
        "Page.javascriptDialogOpening",
        json!({"url":"http://h/","message":"hi","type":"alert","hasBrowserHandler":false}),
    );
    let reply = auto_reply(&alert);
    assert_eq!(
        reply,
        Some(Command {
            session: Some("S".to_owned()),
            method: "Page.handleJavaScriptDialog",
            params: json!({"accept": false}),
        })
    );
    let leave = page_event(
        "Page.javascriptDialogOpening",
        json!({"message":"","type":"beforeunload"}),
    );
    assert_eq!(
        auto_reply(&leave).map(|c| c.params),
        Some(json!({"accept": true}))
    );
    let popup = Event {
        method: "Target.targetCreated".to_owned(),
        session: None,
        params: json!({"targetInfo":{"targetId":"P","type":"page","url":"http://h/pop","openerId":"T"}}),
    };
    assert_eq!(
        auto_reply(&popup),
        Some(Command {
            session: None,
            method: "Target.closeTarget",
            params: json!({"targetId": "P"}),
        })
    );
    let tab = Event {
        method: "Target.targetCreated".to_owned(),
        session: None,
        params: json!({"targetInfo":{"targetId":"T2","type":"page","url":"about:blank"}}),
    };
    assert_eq!(auto_reply(&tab), None, "our own new tabs stay open");

    let mut s = state();
    s.on_event(&alert);
    s.on_event(&popup);
    s.on_event(&page_event(
        "Page.windowOpen",
        json!({"url":"http://h/pop","userGesture":false,"windowName":"_blank"}),
    ));
    assert_eq!(s.dialogs, vec!["alert: hi".to_owned()]);
    assert_eq!(s.popups, vec!["http://h/pop".to_owned()]);
}

#[test]
fn crashes_are_noticed() {
    let mut s = state();
    s.on_event(&page_event("Inspector.targetCrashed", json!({})));
    assert!(s.crashed.is_some());
    let mut s = state();
    s.on_event(&Event {
        method: "Target.detachedFromTarget".to_owned(),
        session: None,
        params: json!({"sessionId":"S","targetId":"T"}),
    });
    assert!(s.crashed.is_some());
}
