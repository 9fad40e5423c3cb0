//! `/api/v1/silences`: `POST` creates a silence, `GET` lists the active ones, `DELETE
//! /api/v1/silences/{id}` expires one. Behind the web config's credentials like every `/api`
//! path.
//!
//! These are the only routes that read a request body: at most [`MAX_BODY`], and only as
//! `application/json` (a browser cannot send that cross-site without asking first, so a page
//! elsewhere cannot silence alerts with a logged-in user's credentials).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::ServerHandle;
use crate::alert::silence::{MAX_COMMENT, MAX_SILENCE, SilenceError, compile_matchers};

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The keys of a POST body.
const KEYS: [&str; 4] = ["matchers", "duration", "ends_at", "comment"];

/// A JSON error answer: `{"error": message}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// 503: this process has no silences (no alert engine).
fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "silences are not available in this process",
    )
}

/// `GET /api/v1/silences`: the active silences, ending soonest first.
pub async fn list(State(handle): State<ServerHandle>) -> Response {
    let Some(silences) = handle.silences.as_deref() else {
        return unavailable();
    };
    let active: Vec<Value> = silences
        .active(Utc::now())
        .iter()
        .map(|s| s.to_json())
        .collect();
    Json(json!({"silences": active})).into_response()
}

/// `POST /api/v1/silences` with `{"matchers": {...}, "duration": "30m" | "ends_at": TIME,
/// "comment": "..."}`: `{"id", "ends_at"}`.
pub async fn create(
    State(handle): State<ServerHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(silences) = handle.silences.as_deref() else {
        return unavailable();
    };
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the silence as Content-Type: application/json",
        );
    }
    let now = Utc::now();
    let request = match parse(&body, now) {
        Ok(r) => r,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    let Request {
        given,
        ends_at,
        comment,
    } = request;
    let matchers = match compile_matchers(&given) {
        Ok(m) => m,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    match silences.add(given, matchers, ends_at, comment, now) {
        Ok(s) => {
            tracing::info!(silence = %s.id, until = %s.ends_at, matchers = ?s.given, "silence created");
            Json(json!({
                "id": s.id,
                "ends_at": s.ends_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            }))
            .into_response()
        }
        Err(e) => stored_error(&e),
    }
}

/// `DELETE /api/v1/silences/{id}`: expire it now.
pub async fn expire(State(handle): State<ServerHandle>, Path(id): Path<String>) -> Response {
    let Some(silences) = handle.silences.as_deref() else {
        return unavailable();
    };
    match silences.expire(&id, Utc::now()) {
        Ok(s) => {
            tracing::info!(silence = %s.id, "silence expired");
            Json(json!({"id": s.id, "expired": true})).into_response()
        }
        Err(SilenceError::NotFound(_)) => error(
            StatusCode::NOT_FOUND,
            format!("no active silence with id {id:?}"),
        ),
        Err(e) => stored_error(&e),
    }
}

/// The state directory failed.
fn stored_error(e: &SilenceError) -> Response {
    tracing::error!(error = %e, "a silence could not be saved");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the silence could not be saved; see the daemon's log",
    )
}

/// A checked POST body.
struct Request {
    /// The matchers as given.
    given: BTreeMap<String, String>,
    /// When it ends.
    ends_at: DateTime<Utc>,
    /// Why.
    comment: String,
}

/// Check a POST body: a JSON object with `matchers` (strings), `duration` or `ends_at` (in the
/// future, at most [`MAX_SILENCE`] away) and an optional `comment`.
fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Request, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(map) = doc else {
        return Err("expected a JSON object with `matchers` and `duration` or `ends_at`".into());
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key {unknown:?} (allowed: {})",
            KEYS.join(", ")
        ));
    }
    let given = match map.get("matchers") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!("matcher {k:?} must be a string, found {other}")),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?,
        Some(_) => return Err("`matchers` must be an object of key to value".into()),
        None => return Err("missing `matchers` (e.g. {\"spec\": \"shop\"})".into()),
    };
    let longest = chrono::Duration::from_std(MAX_SILENCE).unwrap_or(chrono::Duration::MAX);
    let ends_at = match (map.get("duration"), map.get("ends_at")) {
        (Some(_), Some(_)) => return Err("give `duration` or `ends_at`, not both".into()),
        (Some(Value::String(d)), None) => {
            let d =
                crate::config::units::parse_duration(d).map_err(|e| format!("`duration`: {e}"))?;
            let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
            if d < chrono::Duration::seconds(1) {
                return Err("`duration` must be at least 1s".into());
            }
            if d > longest {
                return Err("`duration` must be at most 366d".into());
            }
            now + d
        }
        (None, Some(Value::String(t))) => {
            let t = DateTime::parse_from_rfc3339(t.trim())
                .map_err(|e| {
                    format!("`ends_at` {t:?}: {e} (expected RFC 3339, e.g. 2026-11-25T18:00:00Z)")
                })?
                .with_timezone(&Utc);
            if t <= now {
                return Err("`ends_at` is not in the future".into());
            }
            if t - now > longest {
                return Err("`ends_at` must be at most 366 days away".into());
            }
            t
        }
        (Some(_), None) => return Err("`duration` must be a string such as \"30m\"".into()),
        (None, Some(_)) => return Err("`ends_at` must be an RFC 3339 string".into()),
        (None, None) => return Err("give `duration` (e.g. \"30m\") or `ends_at`".into()),
    };
    let comment = match map.get("comment") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(c)) if c.chars().count() <= MAX_COMMENT => c.clone(),
        Some(Value::String(_)) => {
            return Err(format!("`comment` is longer than {MAX_COMMENT} characters"));
        }
        Some(_) => return Err("`comment` must be a string".into()),
    };
    Ok(Request {
        given,
        ends_at,
        comment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_900_000_000, 0).unwrap()
    }

    fn err(body: &str) -> String {
        match parse(body.as_bytes(), now()) {
            Ok(_) => panic!("{body} accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn bodies_are_checked() {
        let ok = parse(
            br#"{"matchers": {"spec": "shop"}, "duration": "30m", "comment": "deploy"}"#,
            now(),
        )
        .unwrap();
        assert_eq!(ok.ends_at, now() + chrono::Duration::minutes(30));
        assert_eq!(ok.comment, "deploy");
        let until = parse(
            br#"{"matchers": {"target": "~api-.*"}, "ends_at": "2030-03-18T18:00:00+01:00"}"#,
            now(),
        )
        .unwrap();
        assert_eq!(until.ends_at.to_rfc3339(), "2030-03-18T17:00:00+00:00");
        for (body, says) in [
            ("nope", "not JSON"),
            ("[1]", "expected a JSON object"),
            (r#"{"duration": "1m"}"#, "missing `matchers`"),
            (
                r#"{"matchers": {"spec": 1}, "duration": "1m"}"#,
                "must be a string",
            ),
            (r#"{"matchers": {"spec": "a"}}"#, "give `duration`"),
            (
                r#"{"matchers": {"spec": "a"}, "duration": "1m", "ends_at": "x"}"#,
                "not both",
            ),
            (
                r#"{"matchers": {"spec": "a"}, "duration": "soon"}"#,
                "`duration`",
            ),
            (
                r#"{"matchers": {"spec": "a"}, "duration": "400d"}"#,
                "at most 366d",
            ),
            (
                r#"{"matchers": {"spec": "a"}, "ends_at": "2020-01-01T00:00:00Z"}"#,
                "not in the future",
            ),
            (
                r#"{"matchers": {"spec": "a"}, "duration": "1m", "for": "x"}"#,
                "unknown key \"for\"",
            ),
        ] {
            let e = err(body);
            assert!(e.contains(says), "{body}: {e}");
        }
    }
}
