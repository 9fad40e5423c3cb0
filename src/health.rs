//! `/healthz`: is the daemon making progress?

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Utc;

/// How long without a heartbeat before the scheduler counts as stalled, in seconds.
const STALL_AFTER_SECS: i64 = 10;

/// The daemon's liveness, as `/healthz` reports it.
#[derive(Debug)]
pub struct Health {
    /// Unix seconds of the scheduler's last heartbeat.
    heartbeat: AtomicI64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            heartbeat: AtomicI64::new(Utc::now().timestamp()),
        }
    }
}

impl Health {
    /// The scheduler is alive now.
    pub fn beat(&self) {
        self.heartbeat
            .store(Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// `Ok` while alive; otherwise why not.
    pub fn check(&self) -> Result<(), String> {
        if Utc::now().timestamp() - self.heartbeat.load(Ordering::Relaxed) <= STALL_AFTER_SECS {
            Ok(())
        } else {
            Err("scheduler stalled".to_string())
        }
    }
}
