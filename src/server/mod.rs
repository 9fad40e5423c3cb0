//! The HTTP endpoints of `run` and `demo`: `/metrics`, `/`, `/api/v1/status`,
//! `/healthz`, `/api/v1/silences` ([`silences`]), and from [`history`] `/api/v1/history` and the
//! badges of [`badge`].
//!
//! How they are served comes from the web config ([`web_config`]): optional TLS ([`tls`]),
//! optional credentials ([`auth`]) and, always, bounds on slow and numerous clients
//! ([`listen`]).

pub mod auth;
pub mod badge;
pub mod history;
pub mod listen;
pub mod page;
pub mod silences;
pub mod status;
pub mod tls;
pub mod web_config;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// The parts of a [`ServerHandle`] besides the metrics: what the daemon's target tasks write and
/// the endpoints read.
pub use crate::health::Health;
pub use crate::screenshots::Screenshots;
pub use crate::status::StatusStore;

/// What the endpoints read, and nothing else of the daemon: the daemon builds it and keeps
/// writing to the same parts.
#[derive(Clone)]
pub struct ServerHandle {
    /// `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `/` and `/api/v1/status`.
    pub status: Arc<StatusStore>,
    /// `/healthz`.
    pub health: Arc<Health>,
    /// `/screenshots/SPEC/TARGET.png`, when rendered targets keep screenshots.
    pub screenshots: Option<Arc<Screenshots>>,
    /// `/api/v1/history`, badges and the status page's uptime (`None`: no history kept).
    pub history: Option<Arc<history::HistoryHandle>>,
    /// `/api/v1/silences` (`None` without an alert engine: the routes answer 503).
    pub silences: Option<Arc<crate::alert::silence::Silences>>,
}

async fn metrics(State(handle): State<ServerHandle>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (body, content_type) = handle.metrics.encode_for(accept);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn healthz(State(handle): State<ServerHandle>) -> Response {
    match handle.health.check() {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

async fn api_status(State(handle): State<ServerHandle>) -> Response {
    let status = &handle.status;
    let doc = status::document(&status.snapshot(), status.share(), chrono::Utc::now());
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

async fn index(State(handle): State<ServerHandle>) -> Response {
    let status = &handle.status;
    let summaries = match &handle.history {
        Some(h) => h.summaries().await,
        None => None,
    };
    let now = chrono::Utc::now();
    match page::render_with(
        &status.snapshot(),
        status.share(),
        now,
        summaries.as_deref(),
    ) {
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

/// `GET /screenshots/SPEC/TARGET.png`: a rendered target's latest screenshot.
async fn screenshot(
    State(handle): State<ServerHandle>,
    axum::extract::Path((spec, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let png = match (&handle.screenshots, file.strip_suffix(".png")) {
        (Some(shots), Some(target)) => shots.read(&spec, target).await,
        _ => None,
    };
    match png {
        Some(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            png,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such screenshot\n").into_response(),
    }
}

/// The endpoints' routes.
pub fn router(handle: ServerHandle) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/api/v1/status", get(api_status))
        .route("/screenshots/{spec}/{file}", get(screenshot))
        .route("/api/v1/history", get(history::api))
        .route("/badge/{spec}/{file}", get(badge::badge))
        .route(
            "/api/v1/silences",
            get(silences::list)
                .post(silences::create)
                .layer(DefaultBodyLimit::max(silences::MAX_BODY)),
        )
        .route(
            "/api/v1/silences/{id}",
            delete(silences::expire).layer(DefaultBodyLimit::max(silences::MAX_BODY)),
        )
        .with_state(handle)
}

/// Serve the endpoints as `web` says (TLS, credentials, limits) until `stop` turns true. A
/// reload that replaces the web config in `web` applies to new connections and requests; the
/// limits stay those of the web config served at start.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: ServerHandle,
    web: Arc<web_config::Live>,
    stop: watch::Receiver<bool>,
) {
    let limits = web.current().limits;
    // Always in place: a reload may add credentials to a server that started without any.
    let routes = router(handle).layer(axum::middleware::from_fn_with_state(
        Arc::clone(&web),
        auth::require,
    ));
    listen::serve(listener, routes, web, limits, stop).await;
}
