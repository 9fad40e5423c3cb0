//! A small, lenient Chrome DevTools Protocol client over one WebSocket.
//!
//! Messages are `serde_json::Value`s: a command is `{id, method, params, sessionId?}`, its answer
//! carries the same `id` with `result` or `error`, and everything else with a `method` is an
//! event. Unknown events and unknown fields are ignored rather than rejected, so a newer Chromium
//! that adds to the protocol does not break rendering (the reason strict typed clients are not
//! used here).
//!
//! One reader task routes answers to the waiting callers and events, in order, to a single
//! unbounded channel; one writer task sends. Before an event is queued, an `auto_reply` hook may
//! answer it at once from the reader task (used for JavaScript dialogs and popups, which would
//! otherwise block a command the page script is awaiting).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The largest message accepted from the browser: screenshots and whole documents travel as one
/// message each.
const MAX_MESSAGE: usize = 256 << 20;

/// Why a DevTools command did not get a result.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CdpError {
    /// The WebSocket could not be opened.
    #[error("could not connect to the browser's DevTools endpoint {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The connection closed (the browser exited or crashed) before the answer came.
    #[error("the browser closed its DevTools connection")]
    Closed,
    /// The browser answered the command with an error.
    #[error("DevTools command {method} failed: {message} (code {code})")]
    Remote {
        method: String,
        code: i64,
        message: String,
    },
}

/// An event from the browser.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// The event's name, like `Network.responseReceived`.
    pub method: String,
    /// The flattened session the event belongs to; `None` for browser-level events.
    pub session: Option<String>,
    /// The event's parameters (`Value::Null` when absent).
    pub params: Value,
}

/// A command to send without waiting for its answer (see [`Connection::connect`]'s hook).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    /// The session to send it in; `None` for the browser itself.
    pub session: Option<String>,
    /// The command's name.
    pub method: &'static str,
    /// Its parameters.
    pub params: Value,
}

/// Answers an event immediately from the reader task, or returns `None`.
pub(crate) type AutoReply = fn(&Event) -> Option<Command>;

/// What the reader task makes of one incoming text message.
#[derive(Debug, PartialEq)]
enum Incoming {
    /// The answer to command `id`.
    Answer(u64, Result<Value, (i64, String)>),
    /// An event.
    Event(Event),
    /// Not JSON, or neither an answer nor an event: ignored.
    Other,
}

/// Waiting callers by command id; `None` once the connection has closed.
type Pending = Arc<Mutex<Option<HashMap<u64, (String, oneshot::Sender<Result<Value, CdpError>>)>>>>;

/// An open DevTools connection. Dropping it stops its tasks and closes the socket.
pub(crate) struct Connection {
    /// The next command id.
    next_id: AtomicU64,
    /// Callers waiting for answers (a std mutex: held for a map operation only, never across an
    /// await).
    pending: Pending,
    /// Messages for the writer task.
    out: mpsc::UnboundedSender<Message>,
    /// The reader and writer tasks, aborted on drop.
    tasks: [JoinHandle<()>; 2],
}

impl Connection {
    /// Connects to `url` (a `ws://127.0.0.1:PORT/devtools/browser/ID` address) and returns the
    /// connection and its event stream. `auto_reply` sees every event first.
    pub(super) async fn connect(
        url: &str,
        auto_reply: AutoReply,
    ) -> Result<(Connection, mpsc::UnboundedReceiver<Event>), CdpError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| CdpError::Connect {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (events, events_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));

        let writer = tokio::spawn(async move {
            while let Some(message) = out_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_pending = Arc::clone(&pending);
        let reply_out = out.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let text = match &message {
                    Message::Text(text) => text.as_str(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                match parse(text) {
                    Incoming::Answer(id, result) => {
                        let waiter = lock(&reader_pending)
                            .as_mut()
                            .and_then(|map| map.remove(&id));
                        if let Some((method, tx)) = waiter {
                            let _ = tx.send(result.map_err(|(code, message)| CdpError::Remote {
                                method,
                                code,
                                message,
                            }));
                        }
                    }
                    Incoming::Event(event) => {
                        if let Some(command) = auto_reply(&event) {
                            let _ = reply_out.send(encode(0, &command));
                        }
                        // A closed receiver only means nobody listens any more.
                        let _ = events.send(event);
                    }
                    Incoming::Other => {}
                }
            }
            // Fail every caller still waiting, and any that comes later.
            if let Some(map) = lock(&reader_pending).take() {
                for (_, (_, tx)) in map {
                    let _ = tx.send(Err(CdpError::Closed));
                }
            }
        });
        let connection = Connection {
            next_id: AtomicU64::new(1),
            pending,
            out,
            tasks: [reader, writer],
        };
        Ok((connection, events_rx))
    }

    /// Sends `method` with `params` in `session` (or to the browser) and waits for its result.
    /// There is no timeout here: callers bound the whole render.
    pub(super) async fn call(
        &self,
        session: Option<&str>,
        method: &'static str,
        params: Value,
    ) -> Result<Value, CdpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut guard = lock(&self.pending);
            let Some(map) = guard.as_mut() else {
                return Err(CdpError::Closed);
            };
            map.insert(id, (method.to_owned(), tx));
        }
        let command = Command {
            session: session.map(str::to_owned),
            method,
            params,
        };
        if self.out.send(encode(id, &command)).is_err() {
            return Err(CdpError::Closed);
        }
        rx.await.unwrap_or(Err(CdpError::Closed))
    }

    /// Whether the connection is still open.
    pub(super) fn is_open(&self) -> bool {
        lock(&self.pending).is_some() && !self.tasks[0].is_finished()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Locks the pending map; a poisoned lock still holds a usable map.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The WebSocket message for `command` with `id` (0 for fire-and-forget: answers to id 0 find
/// no waiter and are dropped).
fn encode(id: u64, command: &Command) -> Message {
    let mut message = json!({"id": id, "method": command.method, "params": command.params});
    if let (Some(session), Some(object)) = (&command.session, message.as_object_mut()) {
        object.insert("sessionId".to_owned(), Value::String(session.clone()));
    }
    Message::text(message.to_string())
}

/// Classifies one incoming message, ignoring whatever it does not need.
fn parse(text: &str) -> Incoming {
    let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
        return Incoming::Other;
    };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        if let Some(error) = message.get("error") {
            let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
            let text = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            let text = match error.get("data").and_then(Value::as_str) {
                Some(data) => format!("{text}: {data}"),
                None => text.to_owned(),
            };
            return Incoming::Answer(id, Err((code, text)));
        }
        let result = message.remove("result").unwrap_or(Value::Null);
        return Incoming::Answer(id, Ok(result));
    }
    let Some(Value::String(method)) = message.remove("method") else {
        return Incoming::Other;
    };
    let session = match message.remove("sessionId") {
        Some(Value::String(session)) => Some(session),
        _ => None,
    };
    let params = message.remove("params").unwrap_or(Value::Null);
    Incoming::Event(Event {
        method,
        session,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_events_and_noise_are_told_apart() {
        assert_eq!(
            parse(r#"{"id":3,"result":{"frameId":"F","newField":[1]}}"#),
            Incoming::Answer(3, Ok(json!({"frameId":"F","newField":[1]})))
        );
        assert_eq!(
            parse(r#"{"id":4,"error":{"code":-32000,"message":"No target","data":"T1"}}"#),
            Incoming::Answer(4, Err((-32000, "No target: T1".to_owned())))
        );
        assert_eq!(
            parse(r#"{"method":"Some.futureEvent","params":{"x":1},"sessionId":"S","extra":true}"#),
            Incoming::Event(Event {
                method: "Some.futureEvent".to_owned(),
                session: Some("S".to_owned()),
                params: json!({"x":1}),
            })
        );
        assert_eq!(
            parse(r#"{"method":"Target.targetCreated"}"#),
            Incoming::Event(Event {
                method: "Target.targetCreated".to_owned(),
                session: None,
                params: Value::Null,
            })
        );
        assert_eq!(parse("not json"), Incoming::Other);
        assert_eq!(parse("[1,2]"), Incoming::Other);
        assert_eq!(parse(r#"{"neither":1}"#), Incoming::Other);
    }

    #[test]
    fn commands_carry_their_session() {
        let command = Command {
            session: Some("S1".to_owned()),
            method: "Page.enable",
            params: json!({}),
        };
        let Message::Text(text) = encode(7, &command) else {
            unreachable!("encode makes text messages")
        };
        let value: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        assert_eq!(
            value,
            json!({"id":7,"method":"Page.enable","params":{},"sessionId":"S1"})
        );
    }
}
