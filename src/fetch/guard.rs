//! `--deny-private-networks`: refuse to connect to private, loopback and link-local addresses,
//! checked after DNS resolution, so that specs written by others cannot reach internal services
//! (cloud metadata at 169.254.169.254, admin ports on localhost, the office network).
//!
//! Host names are checked in the resolver every connection goes through (so a name that resolves
//! to `10.0.0.5` is refused, and so is one that re-resolves there later); IP literals, which
//! never reach a resolver, are checked before each request and each redirect hop.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::FetchError;

/// Which addresses may not be connected to.
#[derive(Clone, Copy)]
pub(crate) struct Guard {
    /// True for an address that is refused.
    denied: fn(&IpAddr) -> bool,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Guard")
    }
}

impl Guard {
    /// The guard of `--deny-private-networks`.
    pub(crate) fn private_networks() -> Guard {
        Guard {
            denied: is_non_public,
        }
    }

    /// A guard with another rule (tests: only 127.0.0.1 and ::1 may be used here).
    #[cfg(test)]
    pub(crate) fn with(denied: fn(&IpAddr) -> bool) -> Guard {
        Guard { denied }
    }

    /// Refuse `url` if its host is an IP literal the guard denies. Names are checked when they
    /// are resolved.
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if (self.denied)(&ip) {
            return Err(FetchError::Denied(format!(
                "{ip} is a private, loopback or link-local address"
            )));
        }
        Ok(())
    }

    /// The resolver to give the HTTP client.
    pub(crate) fn resolver(self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { guard: self })
    }
}

/// The system resolver, minus the addresses a [`Guard`] denies.
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    /// The rule.
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let denied = self.guard.denied;
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: the connector puts the URL's port on every address it gets back.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (refused, allowed): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|a| denied(&a.ip()));
            if allowed.is_empty() && !refused.is_empty() {
                let ips: Vec<String> = refused.iter().map(|a| a.ip().to_string()).collect();
                return Err(Box::new(DeniedAddress(format!(
                    "{host} resolves only to private, loopback or link-local addresses ({})",
                    ips.join(", ")
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver's refusal, recognised by the error classifier (see `error::classify_send`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DeniedAddress(pub(crate) String);

/// Not an address on the public internet: loopback, private (RFC 1918, unique local), link-local,
/// shared address space (CGNAT), unspecified, broadcast, multicast, documentation, benchmarking
/// and reserved ranges, and IPv6 forms that embed such an IPv4 address.
pub fn is_non_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_non_public(v4),
        IpAddr::V6(v6) => v6_non_public(v6),
    }
}

/// [`is_non_public`] for IPv4.
fn v4_non_public(ip: &Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || a >= 240 // reserved
}

/// [`is_non_public`] for IPv6.
fn v6_non_public(ip: &Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_non_public(&v4);
    }
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        // IPv4-compatible ::a.b.c.d and NAT64 64:ff9b::a.b.c.d name an IPv4 host.
        || (segments[..6] == [0; 6] && v4_non_public(&embedded_v4(segments[6], segments[7])))
        || (segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            && v4_non_public(&embedded_v4(segments[6], segments[7])))
        // 6to4 2002:a.b.c.d::/48.
        || (segments[0] == 0x2002 && v4_non_public(&embedded_v4(segments[1], segments[2])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_ranges() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            assert!(is_non_public(&ip(s)), "{s} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
            "64:ff9b::808:808",
        ] {
            assert!(!is_non_public(&ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn ip_literals_are_checked_names_are_left_to_the_resolver() {
        let guard = Guard::private_networks();
        let err = guard
            .check_url(&Url::parse("http://127.0.0.1:8080/x").unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused by --deny-private-networks: 127.0.0.1 is a private, loopback or link-local address"
        );
        assert!(
            guard
                .check_url(&Url::parse("http://[::1]/").unwrap())
                .is_err()
        );
        assert!(
            guard
                .check_url(&Url::parse("http://localhost/").unwrap())
                .is_ok()
        );
        assert!(
            guard
                .check_url(&Url::parse("http://93.184.216.34/").unwrap())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn resolver_refuses_names_that_resolve_only_to_denied_addresses() {
        let resolver = Guard::private_networks().resolver();
        let name: Name = "localhost".parse().unwrap();
        let err = match resolver.resolve(name).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        let denied = err
            .downcast_ref::<DeniedAddress>()
            .expect("a DeniedAddress");
        assert!(
            denied.0.starts_with("localhost resolves only to private"),
            "{denied}"
        );
        assert!(denied.0.contains("127.0.0.1") || denied.0.contains("::1"));
    }

    #[tokio::test]
    async fn redirects_are_checked_hop_by_hop() {
        use crate::fetch::{FetchOptions, Fetcher};
        use crate::model::Target;
        use axum::response::Redirect;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new()
            .route("/ok", axum::routing::get(|| async { "fine" }))
            .route(
                "/to-v6",
                axum::routing::get(move || async move {
                    Redirect::temporary(&format!("http://[::1]:{port}/ok"))
                }),
            )
            .route(
                "/to-name",
                axum::routing::get(move || async move {
                    Redirect::temporary(&format!("http://localhost:{port}/ok"))
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });

        // Here only 127.0.0.1 may be used, so the rule under test denies IPv6 instead.
        let fetcher = Fetcher::with_guard(
            FetchOptions::default(),
            Some(Guard::with(|ip| ip.is_ipv6())),
        )
        .unwrap();
        let url = |path: &str| Url::parse(&format!("http://127.0.0.1:{port}{path}")).unwrap();
        let target = Target::new("s", "t", url("/ok"));

        let ok = fetcher.fetch(&target).await.unwrap();
        assert_eq!(&ok.body[..], b"fine");

        let err = fetcher
            .fetch_url(&target, &url("/to-v6"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "refused by --deny-private-networks: ::1 is a private, loopback or link-local address"
        );

        // A name is resolved through the guard: localhost keeps only 127.0.0.1 and works.
        let named = fetcher.fetch_url(&target, &url("/to-name")).await.unwrap();
        assert_eq!(named.final_url.host_str(), Some("localhost"));
        assert_eq!(&named.body[..], b"fine");

        // The real rule refuses the seed itself.
        let strict = Fetcher::new(FetchOptions {
            deny_private_networks: true,
            ..FetchOptions::default()
        })
        .unwrap();
        let err = strict.fetch(&target).await.unwrap_err();
        assert!(matches!(err, FetchError::Denied(_)), "{err}");
        let by_name = Target::new(
            "s",
            "t",
            Url::parse(&format!("http://localhost:{port}/ok")).unwrap(),
        );
        let err = strict.fetch(&by_name).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("refused by --deny-private-networks: localhost resolves only to"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn resolver_keeps_allowed_addresses() {
        // Deny only IPv6 loopback: localhost keeps its IPv4 address.
        let resolver = Guard::with(|ip| ip.is_ipv6()).resolver();
        let addrs: Vec<SocketAddr> = resolver
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.is_ipv4()), "{addrs:?}");
    }
}
