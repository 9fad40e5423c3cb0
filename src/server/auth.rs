//! Credentials for the endpoints: HTTP basic auth against bcrypt hashes (as Prometheus'
//! exporter-toolkit) and bearer tokens, for every path but `/healthz` (and `/metrics` unless
//! `protect_metrics`).
//!
//! Nothing secret is kept in the clear or printed: tokens are held as SHA-256 digests and
//! compared in constant time; `Debug` shows user names only. A bcrypt check is slow on purpose
//! (tens of milliseconds), so it runs off the async workers, two at a time, and a successful
//! (user, password) pair is remembered by digest, as Prometheus does, so that a scraper or a
//! refreshing status page does not pay it on every request.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, digest};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tokio::sync::Semaphore;

use super::web_config::Live;

/// Realm of the `WWW-Authenticate` challenges.
const REALM: &str = "dcrawl";
/// bcrypt checks run at once; more wait.
const CONCURRENT_BCRYPT: usize = 2;
/// Remembered successful logins; the memory is cleared when it is full.
const VERIFIED_CAPACITY: usize = 1024;
/// A bcrypt hash (cost 10) checked when the user is unknown, so that a wrong user name takes as
/// long to refuse as a wrong password.
const UNKNOWN_USER_HASH: &str = "$2b$10$0rlUZFtkaaRmLXyzjaV1oeD6j7f4q5doYBEcy3caVQuWXuByyCZ0y";

/// Who may read the protected endpoints. The default lets everyone in.
pub struct Auth {
    /// User name -> bcrypt hash of the password.
    users: BTreeMap<String, String>,
    /// SHA-256 of each accepted bearer token.
    tokens: Vec<[u8; 32]>,
    /// Whether `/metrics` needs credentials too.
    protect_metrics: bool,
    /// Digests of (user, password, hash) triples that passed a bcrypt check.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// Bounds the bcrypt checks running at once.
    bcrypt_slots: Semaphore,
}

impl Default for Auth {
    fn default() -> Self {
        Auth::new(BTreeMap::new(), &[], false)
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: BTreeMap<&str, &str> = self.users.keys().map(|u| (u.as_str(), "***")).collect();
        f.debug_struct("Auth")
            .field("basic_auth_users", &users)
            .field(
                "bearer_tokens",
                &format_args!("{} (***)", self.tokens.len()),
            )
            .field("protect_metrics", &self.protect_metrics)
            .finish()
    }
}

/// The credentials of one `Authorization` header.
enum Presented {
    /// `Basic base64(user:password)`.
    Basic {
        /// The user name.
        user: String,
        /// The password, as bytes.
        password: Vec<u8>,
    },
    /// `Bearer TOKEN`.
    Bearer(String),
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut joined = Vec::new();
    for p in parts {
        joined.extend_from_slice(&(p.len() as u64).to_be_bytes());
        joined.extend_from_slice(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, &joined).as_ref());
    out
}

/// Parse an `Authorization` value; schemes are case-insensitive.
fn parse(value: &HeaderValue) -> Option<Presented> {
    let value = value.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
        Some(Presented::Basic {
            user,
            password: decoded[colon + 1..].to_vec(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presented::Bearer(rest.to_string()))
    } else {
        None
    }
}

impl Auth {
    /// Credentials from the web config: users with bcrypt hashes (already checked to parse)
    /// and bearer tokens (kept as digests only).
    pub fn new(users: BTreeMap<String, String>, tokens: &[String], protect_metrics: bool) -> Auth {
        Auth {
            users,
            tokens: tokens.iter().map(|t| sha256(&[t.as_bytes()])).collect(),
            protect_metrics,
            verified: Mutex::new(HashSet::new()),
            bcrypt_slots: Semaphore::new(CONCURRENT_BCRYPT),
        }
    }

    /// No credentials configured: every endpoint is open.
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Does a request for `path` need credentials? `/healthz` never does, `/metrics` only with
    /// `protect_metrics`; every other path (including unknown ones) does.
    pub fn protects(&self, path: &str) -> bool {
        !self.is_open() && path != "/healthz" && (path != "/metrics" || self.protect_metrics)
    }

    /// Do the `Authorization` header's credentials match a user or a token?
    pub async fn accepts(&self, authorization: Option<&HeaderValue>) -> bool {
        match authorization.and_then(parse) {
            Some(Presented::Bearer(token)) => self.token_matches(&token),
            Some(Presented::Basic { user, password }) => {
                self.password_matches(user, password).await
            }
            None => false,
        }
    }

    /// Compare with every token in constant time (no early exit).
    fn token_matches(&self, token: &str) -> bool {
        let presented = sha256(&[token.as_bytes()]);
        self.tokens.iter().fold(false, |found, t| {
            found | aws_lc_rs::constant_time::verify_slices_are_equal(t, &presented).is_ok()
        })
    }

    async fn password_matches(&self, user: String, password: Vec<u8>) -> bool {
        let (known, hash) = match self.users.get(&user) {
            Some(h) => (true, h.clone()),
            None => (false, UNKNOWN_USER_HASH.to_string()),
        };
        let key = sha256(&[user.as_bytes(), &password, hash.as_bytes()]);
        if known && self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let Ok(_slot) = self.bcrypt_slots.acquire().await else {
            return false;
        };
        let checked = tokio::task::spawn_blocking(move || bcrypt::verify(&password, &hash));
        // Awaited for an unknown user too: refusing it takes as long as a wrong password.
        let matched = matches!(checked.await, Ok(Ok(true)));
        let ok = known && matched;
        if ok && let Ok(mut v) = self.verified.lock() {
            if v.len() >= VERIFIED_CAPACITY {
                v.clear();
            }
            v.insert(key);
        }
        ok
    }

    /// The 401 answer, with a challenge for each configured scheme.
    fn challenge(&self) -> Response {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "401 Unauthorized: this endpoint needs credentials\n",
        )
            .into_response();
        let headers = response.headers_mut();
        if !self.users.is_empty() {
            let basic = format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"");
            if let Ok(v) = HeaderValue::from_str(&basic) {
                headers.append(header::WWW_AUTHENTICATE, v);
            }
        }
        if !self.tokens.is_empty() {
            let bearer = format!("Bearer realm=\"{REALM}\"");
            if let Ok(v) = HeaderValue::from_str(&bearer) {
                headers.append(header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}

/// Middleware: let a request through when its path is open or its credentials match; else 401.
/// The credentials are those of the web config being served when the request arrives.
pub async fn require(State(live): State<Arc<Live>>, request: Request, next: Next) -> Response {
    let auth = live.auth();
    if !auth.protects(request.uri().path())
        || auth
            .accepts(request.headers().get(header::AUTHORIZATION))
            .await
    {
        return next.run(request).await;
    }
    tracing::debug!(
        path = request.uri().path(),
        "request without valid credentials refused"
    );
    auth.challenge()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderValue {
        let raw = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {raw}")).unwrap()
    }

    fn auth() -> Auth {
        let users = BTreeMap::from([("alice".to_string(), bcrypt::hash("pa:ss", 4).unwrap())]);
        Auth::new(users, &["tok-en".to_string()], false)
    }

    #[tokio::test]
    async fn basic_and_bearer_credentials() {
        let a = auth();
        assert!(a.accepts(Some(&basic("alice", "pa:ss"))).await);
        // Remembered: the second check is answered from the memory of verified logins.
        assert!(a.accepts(Some(&basic("alice", "pa:ss"))).await);
        assert_eq!(a.verified.lock().unwrap().len(), 1);
        assert!(!a.accepts(Some(&basic("alice", "pa:sS"))).await);
        assert!(!a.accepts(Some(&basic("bob", "pa:ss"))).await);
        assert!(
            a.accepts(Some(&HeaderValue::from_static("bearer tok-en")))
                .await
        );
        assert!(
            !a.accepts(Some(&HeaderValue::from_static("Bearer tok-e")))
                .await
        );
        assert!(!a.accepts(Some(&HeaderValue::from_static("Bearer"))).await);
        assert!(
            !a.accepts(Some(&HeaderValue::from_static("Basic !!!")))
                .await
        );
        assert!(!a.accepts(None).await);
    }

    /// A wrong user name is refused only after a full bcrypt check (cost 10, tens of
    /// milliseconds), like a wrong password, so timing does not tell which user names exist.
    #[tokio::test]
    async fn an_unknown_user_costs_a_bcrypt_check() {
        let a = auth();
        let started = std::time::Instant::now();
        assert!(!a.accepts(Some(&basic("mallory", "pa:ss"))).await);
        let took = started.elapsed();
        assert!(took >= std::time::Duration::from_millis(10), "{took:?}");
    }

    #[test]
    fn which_paths_need_credentials() {
        let a = auth();
        for path in ["/", "/api/v1/status", "/api/other", "/nope", "/healthz/"] {
            assert!(a.protects(path), "{path}");
        }
        assert!(!a.protects("/healthz"));
        assert!(!a.protects("/metrics"));
        let strict = Auth::new(BTreeMap::new(), &["t".to_string()], true);
        assert!(strict.protects("/metrics"));
        assert!(!strict.protects("/healthz"));
        assert!(!Auth::default().protects("/"));
    }

    #[test]
    fn challenges_name_each_scheme_and_debug_shows_no_secret() {
        let a = auth();
        let r = a.challenge();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let challenges: Vec<_> = r
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .collect();
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].to_str().unwrap().starts_with("Basic realm="));
        assert!(challenges[1].to_str().unwrap().starts_with("Bearer realm="));
        let shown = format!("{a:?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(
            !shown.contains("tok-en") && !shown.contains("$2"),
            "{shown}"
        );
    }
}
