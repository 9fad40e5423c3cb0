//! The web config being served. A reload swaps it whole; the accept loop reads it for each new
//! connection (the TLS certificate of the handshake) and the credentials check for each request,
//! so a rotated certificate or token applies at once, while connections already open keep the
//! certificate they were established with.

use std::sync::{Arc, PoisonError, RwLock};

use tokio_rustls::TlsAcceptor;

use super::WebConfig;
use crate::server::auth::Auth;

/// The current web config, shared by the server and the reload loop.
#[derive(Debug, Default)]
pub struct Live {
    /// What new connections and requests use. A `std` lock: it is held only to clone or
    /// replace the `Arc`, never across an `.await`.
    current: RwLock<Arc<WebConfig>>,
}

impl Live {
    /// Serve `web` until [`Live::replace`] says otherwise.
    pub fn new(web: WebConfig) -> Live {
        Live {
            current: RwLock::new(Arc::new(web)),
        }
    }

    /// The web config being served.
    pub fn current(&self) -> Arc<WebConfig> {
        // Nothing can panic while the lock is held, so a poisoned lock still holds a whole value.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serve `web` from now on (checked first with [`super::check_reload`]).
    pub fn replace(&self, web: WebConfig) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(web);
    }

    /// The credentials requests are checked against now.
    pub fn auth(&self) -> Arc<Auth> {
        Arc::clone(&self.current().auth)
    }

    /// What a new connection's TLS handshake uses now; `None` serves plain HTTP.
    pub fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        let current = self.current();
        let tls = current.tls.as_ref()?;
        Some(TlsAcceptor::from(Arc::clone(&tls.config)))
    }
}
