//! TLS for the endpoints: the certificate chain and key of `tls_server_config`, read from PEM
//! files at start and at each reload into a rustls server configuration (aws-lc-rs, the crypto
//! provider the HTTP client and the mailer use too).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A loaded TLS server configuration.
#[derive(Clone)]
pub struct Tls {
    /// What the handshakes use.
    pub config: Arc<ServerConfig>,
    /// The certificate file it came from, for logs and to watch for a renewed certificate.
    pub cert_file: PathBuf,
    /// The key file it came from, watched like the certificate file.
    pub key_file: PathBuf,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

/// Why the certificate and key cannot serve TLS. Messages never quote the files' contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file cannot be read.
    #[error("cannot read the certificate file {}: {source}", path.display())]
    ReadCert {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no usable PEM certificate.
    #[error("the certificate file {} {reason}", path.display())]
    BadCert {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key file cannot be read.
    #[error("cannot read the key file {}: {source}", path.display())]
    ReadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key file holds no usable PEM private key.
    #[error("the key file {} {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the pair (e.g. the key does not belong to the certificate).
    #[error("the certificate and key cannot serve TLS: {0}")]
    Rejected(#[from] tokio_rustls::rustls::Error),
}

impl TlsError {
    /// The `tls_server_config` key the problem is about (`cert_file`, `key_file`), if one.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            TlsError::ReadCert { .. } | TlsError::BadCert { .. } => Some("cert_file"),
            TlsError::ReadKey { .. } | TlsError::BadKey { .. } => Some("key_file"),
            TlsError::Rejected(_) => None,
        }
    }
}

/// Read `cert_file` (a PEM chain, leaf first) and `key_file` (a PEM private key) into a
/// server configuration for HTTP/1.1.
pub fn load(cert_file: &Path, key_file: &Path) -> Result<Tls, TlsError> {
    let cert_pem = std::fs::read(cert_file).map_err(|source| TlsError::ReadCert {
        path: cert_file.to_path_buf(),
        source,
    })?;
    let bad_cert = |reason: String| TlsError::BadCert {
        path: cert_file.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_cert(format!("is not valid PEM: {e}")))?;
    if chain.is_empty() {
        return Err(bad_cert(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let key_pem = std::fs::read(key_file).map_err(|source| TlsError::ReadKey {
        path: key_file.to_path_buf(),
        source,
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::BadKey {
        path: key_file.to_path_buf(),
        reason: match e {
            tokio_rustls::rustls::pki_types::pem::Error::NoItemsFound => {
                "holds no PEM private key (-----BEGIN PRIVATE KEY-----)".to_string()
            }
            e => format!("is not valid PEM: {e}"),
        },
    })?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        cert_file: cert_file.to_path_buf(),
        key_file: key_file.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn loads_a_pair_and_names_the_file_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, &cert).unwrap();
        std::fs::write(&k, &key).unwrap();
        let tls = load(&c, &k).unwrap();
        assert_eq!(tls.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!format!("{tls:?}").contains("PRIVATE"), "{tls:?}");

        let missing = load(&dir.path().join("nope.pem"), &k).unwrap_err();
        assert_eq!(missing.key(), Some("cert_file"), "{missing}");
        let swapped = load(&k, &c).unwrap_err();
        assert_eq!(swapped.key(), Some("cert_file"), "{swapped}");
        assert!(
            swapped.to_string().contains("no PEM certificate"),
            "{swapped}"
        );

        let (_, other_key) = pair();
        std::fs::write(&k, &other_key).unwrap();
        let mismatch = load(&c, &k).unwrap_err();
        assert_eq!(mismatch.key(), None, "{mismatch}");
        std::fs::write(&k, "not a key").unwrap();
        let bad = load(&c, &k).unwrap_err();
        assert_eq!(bad.key(), Some("key_file"), "{bad}");
        assert!(!bad.to_string().contains("not a key"), "{bad}");
    }
}
