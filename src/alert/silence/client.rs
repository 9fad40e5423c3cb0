//! `dcrawl silence`: create, list and expire silences on a running daemon through its
//! `/api/v1/silences`, with the credentials of its web config.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cli::SilenceArgs;
use crate::config::walk::IDENTIFIER;

/// How long the daemon may take to answer.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why `dcrawl silence` failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The command line does not say what to do (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The daemon could not be reached (exit 1).
    #[error("cannot reach the daemon at {url}: {reason}")]
    Unreachable {
        /// Where it was looked for.
        url: String,
        /// Why not, with its causes.
        reason: String,
    },
    /// The daemon answered with an error (exit 1).
    #[error("the daemon refused: {0}")]
    Refused(String),
}

impl ClientError {
    /// The exit code: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// `KEY=VALUE` (or `KEY=~REGEX`) of `--match`.
pub fn parse_matcher(text: &str) -> Result<(String, String), ClientError> {
    let usage = |why: &str| {
        ClientError::Usage(format!(
            "invalid --match {text:?}: {why} (expected KEY=VALUE, e.g. spec=shop or target=~api-.*)"
        ))
    };
    let (key, value) = text.split_once('=').ok_or_else(|| usage("no `=`"))?;
    if !IDENTIFIER.matches(key) {
        return Err(usage("KEY is `spec`, `target` or a label name"));
    }
    if value.is_empty() {
        return Err(usage("VALUE is empty"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Do what `args` say; returns what to print.
pub async fn run(args: &SilenceArgs) -> Result<String, ClientError> {
    let client = Client::new(args)?;
    if args.list {
        let doc = client.send(reqwest::Method::GET, "", None).await?;
        return Ok(list_text(&doc));
    }
    if let Some(id) = &args.expire {
        let encoded = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
        let doc = client
            .send(reqwest::Method::DELETE, &format!("/{encoded}"), None)
            .await?;
        let id = doc["id"].as_str().unwrap_or(id);
        return Ok(format!("silence {id} expired\n"));
    }
    let mut matchers = BTreeMap::new();
    for m in &args.matchers {
        let (k, v) = parse_matcher(m)?;
        matchers.insert(k, v);
    }
    let mut body = json!({"matchers": matchers});
    match (&args.duration, &args.until) {
        (Some(d), _) => {
            crate::config::units::parse_duration(d)
                .map_err(|e| ClientError::Usage(format!("invalid --for: {e}")))?;
            body["duration"] = json!(d);
        }
        (None, Some(t)) => body["ends_at"] = json!(t),
        (None, None) => {
            return Err(ClientError::Usage(
                "give --for DURATION or --until TIME".into(),
            ));
        }
    }
    if let Some(c) = &args.comment {
        body["comment"] = json!(c);
    }
    let doc = client.send(reqwest::Method::POST, "", Some(body)).await?;
    let id = doc["id"].as_str().unwrap_or("?");
    let until = doc["ends_at"].as_str().unwrap_or("?");
    Ok(format!(
        "silence {id} created: {} until {until}\n",
        shown_matchers(&json!(matchers))
    ))
}

/// `spec="shop" target=~"api-.*"`.
fn shown_matchers(m: &Value) -> String {
    let Some(map) = m.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or_default();
            match v.strip_prefix('~') {
                Some(re) => format!("{k}=~{re:?}"),
                None => format!("{k}={v:?}"),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The active silences, one per line.
fn list_text(doc: &Value) -> String {
    let silences = doc["silences"].as_array().cloned().unwrap_or_default();
    if silences.is_empty() {
        return "no active silences\n".into();
    }
    let rows: Vec<[String; 4]> = silences
        .iter()
        .map(|s| {
            [
                s["id"].as_str().unwrap_or("?").to_string(),
                s["ends_at"].as_str().unwrap_or("?").to_string(),
                shown_matchers(&s["matchers"]),
                s["comment"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    // Columns as wide as their widest cell, so that matchers of any length line up.
    let header = ["ID", "ENDS", "MATCHERS", "COMMENT"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for cells in std::iter::once(header.map(String::from)).chain(rows) {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
    }
    let trimmed: String = out.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    trimmed
}

/// An HTTP client for one daemon.
struct Client {
    /// `URL/api/v1/silences`.
    endpoint: String,
    /// The HTTP client (trusting `--ca-cert` too).
    http: reqwest::Client,
    /// How to log in.
    auth: Option<Credentials>,
}

/// `--user`/`--password` or `--token`.
enum Credentials {
    /// Basic auth.
    Basic(String, String),
    /// A bearer token.
    Bearer(String),
}

impl Client {
    fn new(args: &SilenceArgs) -> Result<Client, ClientError> {
        let base = url::Url::parse(args.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                ClientError::Usage(format!(
                    "invalid --url {:?}: expected the daemon's http(s)://HOST:PORT",
                    args.url
                ))
            })?;
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &args.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                ClientError::Usage(format!("cannot read --ca-cert {}: {e}", path.display()))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                ClientError::Usage(format!("invalid --ca-cert {}: {e}", path.display()))
            })?;
            builder = builder.tls_certs_merge([cert]);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot build the HTTP client: {e}")))?;
        let auth = match (&args.user, &args.password, &args.token) {
            (Some(user), Some(password), _) => {
                Some(Credentials::Basic(user.clone(), password.clone()))
            }
            (Some(_), None, _) => {
                return Err(ClientError::Usage(
                    "--user needs --password (or DCRAWL_PASSWORD)".into(),
                ));
            }
            (None, _, Some(token)) => Some(Credentials::Bearer(token.clone())),
            (None, _, None) => None,
        };
        Ok(Client {
            endpoint: format!("{}/api/v1/silences", base.as_str().trim_end_matches('/')),
            http,
            auth,
        })
    }

    /// `METHOD endpoint+path` with an optional JSON body; the answer's JSON, or why not.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.endpoint);
        let mut request = self.http.request(method, &url);
        request = match &self.auth {
            Some(Credentials::Basic(u, p)) => request.basic_auth(u, Some(p)),
            Some(Credentials::Bearer(t)) => request.bearer_auth(t),
            None => request,
        };
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| ClientError::Unreachable {
            url: self.endpoint.clone(),
            reason: chain(&e),
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(doc);
        }
        let said = doc["error"]
            .as_str()
            .map_or_else(|| text.trim().to_string(), str::to_string);
        Err(ClientError::Refused(match status.as_u16() {
            401 => format!(
                "{status}: it needs credentials: give --token (or DCRAWL_TOKEN), or --user and --password, from its web config"
            ),
            _ => format!("{status}: {said}"),
        }))
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_are_key_equals_value() {
        assert_eq!(
            parse_matcher("spec=shop").unwrap(),
            ("spec".into(), "shop".into())
        );
        assert_eq!(
            parse_matcher("target=~api-.*").unwrap(),
            ("target".into(), "~api-.*".into())
        );
        assert_eq!(
            parse_matcher("team=a=b").unwrap(),
            ("team".into(), "a=b".into())
        );
        for bad in ["spec", "=shop", "spec=", "9x=a", "my-label=x"] {
            let e = parse_matcher(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("expected KEY=VALUE"), "{e}");
        }
    }

    #[test]
    fn lists_show_matchers_as_written() {
        let doc = json!({"silences": [{"id": "abc", "ends_at": "2026-01-01T00:00:00Z", "matchers": {"spec": "shop", "target": "~api-.*"}, "comment": "deploy"}]});
        let text = list_text(&doc);
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.contains("spec=\"shop\" target=~\"api-.*\"  deploy")),
            "{text}"
        );
        assert_eq!(list_text(&json!({"silences": []})), "no active silences\n");
    }

    #[test]
    fn list_columns_line_up_whatever_the_matchers() {
        let doc = json!({"silences": [
            {"id": "a", "ends_at": "2026-01-01T00:00:00Z", "matchers": {"spec": "shop"}, "comment": "one"},
            {"id": "bb", "ends_at": "2026-01-01T00:00:00Z", "matchers": {"spec": "shop", "team": "payments"}, "comment": "two"},
        ]});
        let text = list_text(&doc);
        let column = |l: &str, word: &str| l.find(word).unwrap_or(usize::MAX);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let comment = column(lines[0], "COMMENT");
        assert_eq!(column(lines[1], "one"), comment, "{text}");
        assert_eq!(column(lines[2], "two"), comment, "{text}");
        assert_eq!(column(lines[2], "2026"), column(lines[0], "ENDS"), "{text}");
    }
}
