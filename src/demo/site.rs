//! The demo shop served with axum: HTML pages, a JSON API, one broken page, and an API health
//! endpoint that can break and recover on a cycle (so the daemon has something to notice).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// The catalogue: (id, name, price in cents).
const PRODUCTS: [(u32, &str, u32); 12] = [
    (1, "Espresso cup", 850),
    (2, "Latte glass", 1200),
    (3, "Milk jug", 1999),
    (4, "Tamper", 2450),
    (5, "Grinder", 12900),
    (6, "Scale", 3499),
    (7, "Kettle", 5900),
    (8, "Filter papers", 499),
    (9, "Dripper", 2200),
    (10, "Beans 1kg", 2890),
    (11, "Knock box", 1750),
    (12, "Cleaning tabs", 999),
];

/// The product whose page is broken: no price, and an error banner.
pub const BROKEN_PRODUCT: u32 = 7;

fn price(cents: u32) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

fn page(title: &str, main: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
         <header><a class=\"logo\" href=\"/\">Demo Shop</a><nav><a href=\"/products\">Products</a> \
         <a href=\"/api/health\">API health</a></nav></header><main>{main}</main></body></html>"
    ))
}

async fn home() -> Html<String> {
    page(
        "Demo Shop",
        "<h1>Welcome to the Demo Shop</h1><p>Coffee gear, checked by dcrawl.</p>",
    )
}

async fn products() -> Html<String> {
    let items: String = PRODUCTS
        .iter()
        .map(|(id, name, cents)| {
            format!(
                "<li><a href=\"/products/{id}\">{name}</a> <span class=\"price\">{}</span></li>",
                price(*cents)
            )
        })
        .collect();
    page(
        "Products",
        &format!("<h1>Products</h1><ul class=\"products\">{items}</ul>"),
    )
}

async fn product(Path(id): Path<u32>) -> Response {
    let Some((_, name, cents)) = PRODUCTS.iter().find(|(pid, _, _)| *pid == id) else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<h1>No such product</h1>"),
        )
            .into_response();
    };
    if id == BROKEN_PRODUCT {
        let main = format!(
            "<h1>{name}</h1><div class=\"error-banner\">Exception: price service unavailable</div>"
        );
        return page(name, &main).into_response();
    }
    let main = format!(
        "<h1>{name}</h1><p>Price: <span class=\"price\">{}</span></p>",
        price(*cents)
    );
    page(name, &main).into_response()
}

/// A cycle of health: healthy, then broken for `broken_for` at the end of every `period`.
#[derive(Debug, Clone, Copy)]
pub struct Flap {
    /// Length of one cycle.
    pub period: Duration,
    /// How long of each cycle the API reports itself degraded.
    pub broken_for: Duration,
}

impl Flap {
    /// The demo's cycle: 4 minutes healthy, 1 minute broken.
    pub const DEMO: Flap = Flap {
        period: Duration::from_secs(300),
        broken_for: Duration::from_secs(60),
    };
}

/// Shared state of the site's handlers.
#[derive(Debug, Clone)]
struct SiteState {
    /// When the site started (the flap cycle's origin).
    started: Instant,
    /// The health cycle, if the site flaps.
    flap: Option<Flap>,
}

impl SiteState {
    fn broken_now(&self) -> bool {
        self.flap.is_some_and(|f| {
            let period = f.period.as_millis().max(1);
            let into = self.started.elapsed().as_millis() % period;
            into >= period.saturating_sub(f.broken_for.as_millis())
        })
    }
}

async fn api_health(State(state): State<Arc<SiteState>>) -> Response {
    let (status, body) = if state.broken_now() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "degraded", "db": {"latency_ms": 950}, "queue": {"depth": 480}, "error": "database connection pool exhausted"}),
        )
    } else {
        (
            StatusCode::OK,
            json!({"status": "ok", "db": {"latency_ms": 12}, "queue": {"depth": 3}}),
        )
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The demo's webhook receiver: prints each alert it is sent.
async fn receive_alert(body: axum::body::Bytes) -> StatusCode {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(alert) => {
            let status = alert["status"].as_str().unwrap_or("?").to_uppercase();
            let first = alert["failures"][0]["message"]
                .as_str()
                .or(alert["error"].as_str())
                .unwrap_or("");
            println!(
                "  webhook received: [{status}] {}/{} (failing since {}, {} failed runs) {first}",
                alert["spec"].as_str().unwrap_or("?"),
                alert["target"].as_str().unwrap_or("?"),
                alert["since"].as_str().unwrap_or("?"),
                alert["consecutive_failures"],
            );
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn api_products() -> impl IntoResponse {
    let items: Vec<_> = PRODUCTS
        .iter()
        .map(
            |(id, name, cents)| json!({"id": id, "name": name, "price": f64::from(*cents) / 100.0}),
        )
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "items": items }).to_string(),
    )
}

/// The demo account's bearer token, handed out by `POST /api/login`.
pub const DEMO_TOKEN: &str = "demo-token-5e3f";

/// `POST /api/login` with `{"user": "demo", "password": "demo"}`: a bearer token.
async fn api_login(axum::Json(body): axum::Json<serde_json::Value>) -> Response {
    if body["user"] == "demo" && body["password"] == "demo" {
        axum::Json(json!({"token": DEMO_TOKEN})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "bad login"})),
        )
            .into_response()
    }
}

/// Is the request's bearer token the demo account's?
fn signed_in(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(DEMO_TOKEN)
}

/// `GET /api/account` with the bearer token: the account and its orders.
async fn api_account(headers: axum::http::HeaderMap) -> Response {
    if !signed_in(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "sign in first"})),
        )
            .into_response();
    }
    axum::Json(json!({"name": "demo", "orders": [{"id": 1041, "total": 24.5}]})).into_response()
}

/// `POST /api/logout`.
async fn api_logout(headers: axum::http::HeaderMap) -> StatusCode {
    if signed_in(&headers) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// The demo shop's routes; `flap` makes `/api/health` break and recover on a cycle.
pub fn router(flap: Option<Flap>) -> Router {
    let state = Arc::new(SiteState {
        started: Instant::now(),
        flap,
    });
    Router::new()
        .route("/", get(home))
        .route("/products", get(products))
        .route("/products/{id}", get(product))
        .route("/api/health", get(api_health))
        .route("/api/products", get(api_products))
        .route("/api/login", axum::routing::post(api_login))
        .route("/api/account", get(api_account))
        .route("/api/logout", axum::routing::post(api_logout))
        .route("/hooks/alerts", axum::routing::post(receive_alert))
        .with_state(state)
}

/// Serve the shop on `addr` (port 0 = any free port) in a background task; returns the address.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    spawn_with(addr, None).await
}

/// Like [`spawn`], with an optional health cycle.
pub async fn spawn_with(addr: SocketAddr, flap: Option<Flap>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(flap)).await {
            tracing::error!(error = %e, "demo site stopped");
        }
    });
    Ok(local)
}
