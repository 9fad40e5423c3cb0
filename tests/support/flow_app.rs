//! A small application behind a login, on 127.0.0.1, for the flow tests: a form login with a
//! CSRF token and a session cookie set on a 302, a JSON login that returns a bearer token, an
//! API that needs it, orders created by POST and read back by id, a logout, and a redirect to a
//! second origin that records which credentials reached it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};
use url::Url;

/// The password every user has.
pub const PASSWORD: &str = "pa ss&word";
/// The bearer token the JSON login hands out (a secret the tests grep for).
pub const TOKEN: &str = "tok-FLOWSECRET-42";
/// The session cookie's value.
pub const SESSION: &str = "sess-FLOWSESSION-7";

/// What the app saw.
#[derive(Default)]
pub struct Seen {
    /// Logouts received.
    pub logouts: AtomicUsize,
    /// Requests to `/api/me`.
    pub me: AtomicUsize,
    /// Orders by id.
    pub orders: Mutex<HashMap<String, String>>,
    /// `Cookie` and `Authorization` headers that reached the other origin.
    pub foreign: Mutex<Vec<(Option<String>, Option<String>)>>,
    /// The last `/echo` request's query and headers.
    pub echo: Mutex<Option<Value>>,
}

/// The running app.
pub struct App {
    /// Its base URL.
    pub base: Url,
    /// The other origin (a second port).
    pub other: Url,
    /// What it saw.
    pub seen: Arc<Seen>,
}

/// Start the app and the other origin.
pub async fn start() -> App {
    let seen = Arc::new(Seen::default());
    let other_router = Router::new()
        .route("/sink", get(sink))
        .with_state(Arc::clone(&seen));
    let other = crate::support::serve(other_router).await;
    let state = (Arc::clone(&seen), other.clone());
    let router = Router::new()
        .route("/login", get(login_form).post(login_post))
        .route("/account", get(account))
        .route("/api/login", post(api_login))
        .route("/api/me", get(me))
        .route("/api/orders", post(create_order))
        .route("/api/orders/{id}", get(read_order))
        .route("/api/logout", post(logout))
        .route("/away", get(away))
        .route("/slow", get(slow))
        .route("/echo", get(echo).post(echo))
        .with_state(state);
    let base = crate::support::serve(router).await;
    App { base, other, seen }
}

type AppState = (Arc<Seen>, Url);

async fn login_form() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><title>Log in</title></head><body>\
         <form method=post action=/login><input type=hidden name=\"csrf\" value=\"csrf-123\">\
         <input name=user><input name=password type=password></form></body></html>",
    )
}

async fn login_post(Form(form): Form<HashMap<String, String>>) -> Response {
    let ok = form.get("csrf").map(String::as_str) == Some("csrf-123")
        && form.get("password").map(String::as_str) == Some(PASSWORD);
    if !ok {
        return (StatusCode::FORBIDDEN, "bad login").into_response();
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, "/account".to_string()),
            (
                header::SET_COOKIE,
                format!("SID={SESSION}; Path=/; HttpOnly"),
            ),
        ],
    )
        .into_response()
}

async fn account(headers: HeaderMap) -> Response {
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !cookie.contains(&format!("SID={SESSION}")) {
        return (StatusCode::UNAUTHORIZED, Html("<h1>Please log in</h1>")).into_response();
    }
    Html(
        "<!doctype html><html><body><h1>Welcome  alice </h1>\
         <div id=\"order\" data-id=\"o-77\">Order 77</div></body></html>",
    )
    .into_response()
}

async fn api_login(Json(body): Json<Value>) -> Response {
    if body["password"] == PASSWORD && body["user"].is_string() {
        Json(json!({"token": TOKEN, "user": body["user"]})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "bad login"})),
        )
            .into_response()
    }
}

fn bearer_ok(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
}

async fn me(State((seen, _)): State<AppState>, headers: HeaderMap) -> Response {
    seen.me.fetch_add(1, Ordering::SeqCst);
    if !bearer_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "no token"}))).into_response();
    }
    Json(json!({"name": "alice", "email": "alice@example.com"})).into_response()
}

async fn create_order(
    State((seen, _)): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !bearer_ok(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let item = body["item"].as_str().unwrap_or_default().to_string();
    // An id with characters that must be percent-encoded in a URL path.
    let id = format!("o 1/{}?", item.len());
    seen.orders.lock().unwrap().insert(id.clone(), item.clone());
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/orders/{id}"))],
        Json(json!({"id": id, "item": item})),
    )
        .into_response()
}

async fn read_order(State((seen, _)): State<AppState>, Path(id): Path<String>) -> Response {
    match seen.orders.lock().unwrap().get(&id) {
        Some(item) => Json(json!({"id": id, "item": item})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such order", "id": id})),
        )
            .into_response(),
    }
}

async fn logout(State((seen, _)): State<AppState>) -> StatusCode {
    seen.logouts.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

async fn away(State((_, other)): State<AppState>) -> Response {
    let to = other.join("/sink").unwrap();
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn sink(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> &'static str {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    seen.foreign
        .lock()
        .unwrap()
        .push((get(header::COOKIE), get(header::AUTHORIZATION)));
    "sink"
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

async fn echo(
    State((seen, _)): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Json<Value> {
    let doc = json!({
        "query": query,
        "x_note": headers.get("x-note").and_then(|v| v.to_str().ok()),
        "body": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)),
    });
    *seen.echo.lock().unwrap() = Some(doc.clone());
    Json(doc)
}
