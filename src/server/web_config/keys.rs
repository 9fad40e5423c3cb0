//! The key tables of the web config file (`--web-config FILE`), in one place.
//!
//! The loader uses them to decide which keys are allowed and required, and
//! [`super::reference_markdown`] renders them into `docs/web-config.md`, so the reference cannot
//! drift from the code.

use crate::config::keys::{Kind, Table, key, req};

/// The top level of the web config file.
#[rustfmt::skip]
pub static FILE: Table = Table {
    name: "web config",
    title: "Web config file (top level)",
    intro: "Read once at start by `dcrawl run --web-config FILE` and checked by `dcrawl validate --web-config FILE`. Every key is optional: without a file (or with an empty one) the endpoints are served over plain HTTP to anyone who can reach `--listen`, with the `limits` defaults. `tls_server_config` and `basic_auth_users` follow the web config of Prometheus' exporter-toolkit (`--web.config.file`); `bearer_tokens`, `protect_metrics` and `limits` are dcrawl's additions.",
    keys: &[
        key("tls_server_config", "map (see `tls_server_config`)", "plain HTTP", "Serve the endpoints over HTTPS only.").of(Kind::Map(&TLS)),
        key("basic_auth_users", "map of user name to bcrypt hash", "", "Users accepted with HTTP basic auth, each with the bcrypt hash (`$2y$`, `$2b$`, `$2a$`) of their password, e.g. from `htpasswd -nBC 10 USER`. A name may not contain `:`.").of(Kind::Users),
        key("bearer_tokens", "list of strings (or one string)", "", "Tokens accepted as `Authorization: Bearer TOKEN` (letters, digits and `-._~+/`, then optional `=`); write them as `\"${VAR}\"` to keep them out of the file.").of(Kind::Tokens),
        key("protect_metrics", "boolean", "`false`", "Whether `/metrics` needs credentials too; by default Prometheus scrapes it without any. Needs `basic_auth_users` or `bearer_tokens`.").of(Kind::Bool),
        key("limits", "map (see `limits`)", "the defaults below", "Bounds that keep slow or numerous clients from holding the server; they apply without a file too.").of(Kind::Map(&LIMITS)),
    ],
};

/// `tls_server_config:`.
#[rustfmt::skip]
pub static TLS: Table = Table {
    name: "tls_server_config",
    title: "`tls_server_config`",
    intro: "The server's certificate and private key, PEM files read at start and at each reload (a relative path is relative to the web config file's folder; a renewed certificate applies to new connections, see Reload below). TLS 1.2 and 1.3, HTTP/1.1, no client certificates.",
    keys: &[
        req("cert_file", "path", "The certificate chain: the server's certificate first, then any intermediates.").of(Kind::Text),
        req("key_file", "path", "The certificate's private key (PKCS#8, PKCS#1 RSA or SEC1 EC).").of(Kind::Text),
    ],
};

/// `limits:`.
#[rustfmt::skip]
pub static LIMITS: Table = Table {
    name: "limits",
    title: "`limits`",
    intro: "How long one client may take and how many may be served at once. Requests are `GET` (and `HEAD`) only and their bodies are never read, but for `POST` and `DELETE` of `/api/v1/silences`, whose bodies may be at most 64 KiB of JSON; a request head larger than 64 KiB is refused.",
    keys: &[
        key("header_read_timeout", "duration > 0", "`5s`", "A client must send its whole request line and headers (with TLS: finish the handshake first) within this, else it is disconnected. An idle keep-alive connection is closed after this too.").of(Kind::Duration),
        key("request_timeout", "duration > 0", "`10s`", "A connection is closed at most this long after its latest request's headers arrived, whether or not the response was sent (a client that does not read its response cannot hold the connection).").of(Kind::Duration),
        key("max_connections", "integer 1..=100000", "`256`", "Connections served at once; further ones wait in the listen backlog until one closes.").of(Kind::Int { min: 1, max: super::MAX_CONNECTIONS_LIMIT as u64 }),
    ],
};

/// Every web config table, in reference order.
pub static ALL: [&Table; 3] = [&FILE, &TLS, &LIMITS];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::web_config::Limits;

    #[test]
    fn documented_defaults_equal_the_code() {
        let d = Limits::default();
        let shown = |d: std::time::Duration| humantime::format_duration(d).to_string();
        assert_eq!(
            LIMITS.documented_default("header_read_timeout"),
            shown(d.header_read_timeout)
        );
        assert_eq!(
            LIMITS.documented_default("request_timeout"),
            shown(d.request_timeout)
        );
        assert_eq!(
            LIMITS.documented_default("max_connections"),
            d.max_connections.to_string()
        );
        assert_eq!(FILE.documented_default("protect_metrics"), "false");
        for t in ALL {
            assert!(t.keys.iter().all(|k| !k.doc.is_empty()), "{}", t.name);
        }
    }
}
