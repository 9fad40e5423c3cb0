//! The leaf certificate's expiry, read from reqwest's `TlsInfo`.

use x509_parser::prelude::{FromDer, X509Certificate};

/// `notAfter` of the peer's leaf certificate in Unix seconds, if the response came over TLS.
pub(crate) fn leaf_not_after(response: &reqwest::Response) -> Option<i64> {
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    not_after(info.peer_certificate()?)
}

/// `notAfter` of a DER-encoded certificate in Unix seconds; `None` if it does not parse.
pub(crate) fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none() {
        assert_eq!(not_after(b"not a certificate"), None);
        assert_eq!(not_after(&[]), None);
    }
}
