//! The other side of `scripts/bench-flows`: a tiny API behind a login on 127.0.0.1.
//!
//! Usage: `cargo run --release --example flow_site`. Prints
//! `flow_site: listening on http://ADDR` once it serves.
//!
//! - `POST /login` with `{"user": U}`: `{"token": "t-U"}`.
//! - `GET /me` with `Authorization: Bearer t-U`: `{"name": U}`; 401 without it.
//! - `POST /logout`: 204.
//! - `GET /plain/{i}`: `{"ok": true}` (the single-target comparison hits the same handler cost).

use anyhow::Context as _;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

async fn login(axum::Json(body): axum::Json<Value>) -> Response {
    let user = body["user"].as_str().unwrap_or("anon");
    axum::Json(json!({"token": format!("t-{user}")})).into_response()
}

async fn me(headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer t-"));
    match token {
        Some(user) => axum::Json(json!({"name": user})).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn plain(Path(_i): Path<u64>) -> axum::Json<Value> {
    axum::Json(json!({"ok": true}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!("flow_site: listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(|| async { StatusCode::NO_CONTENT }))
        .route("/plain/{i}", get(plain))
        .route("/plain/{i}", post(plain));
    axum::serve(listener, app).await?;
    Ok(())
}
