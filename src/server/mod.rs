//! The HTTP endpoints of `run` and `demo` (CONTRACT §5): `/metrics`, `/`, `/api/v1/status`,
//! `/healthz`.

pub mod page;
pub mod status;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

use crate::daemon::Shared;

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (body, content_type) = shared.metrics.encode_for(accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.alive() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "scheduler stalled\n").into_response()
    }
}

async fn api_status(State(shared): State<Arc<Shared>>) -> Response {
    let doc = status::document(&shared.status.snapshot(), chrono::Utc::now());
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    match page::render(&shared.status.snapshot(), chrono::Utc::now()) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "status page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "status page failed to render; see the logs\n",
            )
                .into_response()
        }
    }
}

/// The endpoints' routes.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/api/v1/status", get(api_status))
        .with_state(shared)
}

/// Serve until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let shutdown = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                return;
            }
        }
    };
    if let Err(e) = axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "HTTP server stopped");
    }
}
