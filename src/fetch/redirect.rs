//! Following redirects by hand: where the next hop goes, with which method, and when to stop.

use reqwest::header::{HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use url::Url;

use super::FetchError;

/// One redirect to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    /// The resolved `Location`.
    pub(crate) url: Url,
    /// Method of the next request (GET after 303, and after 301/302 of a non-GET/HEAD).
    pub(crate) method: Method,
    /// The request body and its headers must be dropped (the method changed to GET).
    pub(crate) drop_body: bool,
    /// The next URL has another origin: credentials must not follow.
    pub(crate) cross_origin: bool,
}

/// If `status` is a redirect with a `Location`, the hop it asks for.
///
/// 300, 304 and 305 are not followed, nor is a 3xx without `Location`: those come back as is.
pub(crate) fn next_hop(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    current: &Url,
    method: &Method,
) -> Result<Option<Hop>, FetchError> {
    let to_get = match status.as_u16() {
        301 | 302 => *method != Method::GET && *method != Method::HEAD,
        303 => *method != Method::HEAD,
        307 | 308 => false,
        _ => return Ok(None),
    };
    let Some(location) = headers.get(LOCATION) else {
        return Ok(None);
    };
    let url = resolve(location, current)?;
    let method = if to_get { Method::GET } else { method.clone() };
    let cross_origin = url.origin() != current.origin();
    Ok(Some(Hop {
        url,
        method,
        drop_body: to_get,
        cross_origin,
    }))
}

/// Resolve `Location` against the current URL; only http(s) results are accepted.
fn resolve(location: &HeaderValue, current: &Url) -> Result<Url, FetchError> {
    let text = String::from_utf8_lossy(location.as_bytes()).into_owned();
    let url = current
        .join(text.trim())
        .map_err(|_| FetchError::InvalidLocation(text.clone()))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(FetchError::UnsupportedRedirect(url.to_string())),
    }
}

/// The URLs visited so far in one attempt, to enforce the limit and spot loops.
#[derive(Debug)]
pub(crate) struct Chain {
    /// Every URL requested, in order (fragments dropped).
    seen: Vec<Url>,
    /// `follow_redirects` of the target.
    limit: u32,
}

impl Chain {
    /// A chain starting at `start`, allowing `limit` redirects.
    pub(crate) fn new(start: &Url, limit: u32) -> Chain {
        Chain {
            seen: vec![without_fragment(start)],
            limit,
        }
    }

    /// Record a redirect to `url`; fails on a loop or when the limit is used up.
    pub(crate) fn follow(&mut self, url: &Url) -> Result<(), FetchError> {
        let url = without_fragment(url);
        if self.seen.contains(&url) {
            let mut urls: Vec<String> = self.seen.iter().map(Url::to_string).collect();
            urls.push(url.to_string());
            return Err(FetchError::RedirectLoop(urls));
        }
        let followed = self.seen.len() - 1;
        if u32::try_from(followed).unwrap_or(u32::MAX) >= self.limit {
            return Err(FetchError::TooManyRedirects(self.limit));
        }
        self.seen.push(url);
        Ok(())
    }
}

/// Fragments never reach the server, so they do not make a URL new.
fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn hop(status: u16, location: &str, method: Method) -> Result<Option<Hop>, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_str(location).unwrap());
        next_hop(
            StatusCode::from_u16(status).unwrap(),
            &headers,
            &url("http://a.test/dir/page"),
            &method,
        )
    }

    #[test]
    fn methods_switch_as_browsers_do() {
        let h = hop(303, "/x", Method::POST).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::GET, true));
        let h = hop(302, "/x", Method::POST).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::GET, true));
        let h = hop(301, "/x", Method::PUT).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::GET, true));
        let h = hop(302, "/x", Method::GET).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::GET, false));
        let h = hop(307, "/x", Method::POST).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::POST, false));
        let h = hop(308, "/x", Method::PUT).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::PUT, false));
        let h = hop(303, "/x", Method::HEAD).unwrap().unwrap();
        assert_eq!((h.method, h.drop_body), (Method::HEAD, false));
    }

    #[test]
    fn location_is_resolved_and_checked() {
        let h = hop(302, "next", Method::GET).unwrap().unwrap();
        assert_eq!(h.url.as_str(), "http://a.test/dir/next");
        assert!(!h.cross_origin);
        let h = hop(302, "https://a.test/", Method::GET).unwrap().unwrap();
        assert!(h.cross_origin, "scheme change is another origin");
        let h = hop(302, "//b.test/", Method::GET).unwrap().unwrap();
        assert!(h.cross_origin);
        let err = hop(302, "ftp://b.test/f", Method::GET).unwrap_err();
        assert_eq!(
            err.to_string(),
            "redirect to unsupported URL \"ftp://b.test/f\""
        );
        let err = hop(302, "http://[::1", Method::GET).unwrap_err();
        assert!(matches!(err, FetchError::InvalidLocation(_)), "{err}");
    }

    #[test]
    fn non_redirects_are_returned_as_is() {
        assert_eq!(hop(304, "/x", Method::GET).unwrap(), None);
        assert_eq!(hop(200, "/x", Method::GET).unwrap(), None);
        let none = next_hop(
            StatusCode::FOUND,
            &HeaderMap::new(),
            &url("http://a.test/"),
            &Method::GET,
        );
        assert_eq!(none.unwrap(), None);
    }

    #[test]
    fn chain_limits_and_loops() {
        let mut chain = Chain::new(&url("http://a/x"), 2);
        chain.follow(&url("http://a/y")).unwrap();
        let err = chain.follow(&url("http://a/x#frag")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "redirect loop: http://a/x -> http://a/y -> http://a/x"
        );
        chain.follow(&url("http://a/z")).unwrap();
        let err = chain.follow(&url("http://a/w")).unwrap_err();
        assert_eq!(err, FetchError::TooManyRedirects(2));
    }
}
