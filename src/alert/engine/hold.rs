//! Notifications held back by silences, and their release when no silence covers their target
//! any more: what is still true then is notified once (a firing alert that was not notified,
//! or the recovery of one that was); what changed and changed back is not.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::AlertEngine;
use crate::alert::notification::{AlertStatus, Notification};
use crate::alert::silence::Silences;
use crate::alert::state::Transition;
use crate::alert::store::Held;

/// Longest wait between two looks at the held notifications.
const RELEASE_EVERY: Duration = Duration::from_secs(60);
/// How long after a silence's end it is looked at (its end instant itself is still silent).
const AFTER_END: Duration = Duration::from_millis(20);

/// A notification of `route`'s `transition` to hold back. Before a resolve or a repeat the
/// receiver had been told "firing"; before a fire it had not.
pub(super) fn held(route: &str, transition: Transition, notification: Notification) -> Held {
    Held {
        route: route.to_string(),
        told_firing: transition != Transition::Fire,
        notification,
    }
}

/// What to send for a released hold: its latest notification if it says something other than
/// what the receiver was told before the hold, else nothing.
fn to_send(held: &Held, now: DateTime<Utc>) -> Option<Notification> {
    let firing = held.notification.status == AlertStatus::Firing;
    if firing == held.told_firing {
        return None;
    }
    let mut n = held.notification.clone();
    // The receiver never heard of this alert: it is new to it, not a repeat.
    n.repeat = false;
    n.created_at = now;
    Some(n)
}

impl AlertEngine {
    /// The running silences.
    pub fn silences(&self) -> Arc<Silences> {
        Arc::clone(&self.silences)
    }

    /// Release every held notification whose target no silence covers at `now`.
    pub async fn release_held(&self, now: DateTime<Utc>) {
        let store = Arc::clone(&self.store);
        let held = match tokio::task::spawn_blocking(move || store.held()).await {
            Ok(Ok(held)) => held,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the notifications silences hold");
                return;
            }
            Err(_) => return,
        };
        let free: Vec<Held> = held
            .into_iter()
            .filter(|h| {
                let n = &h.notification;
                self.silences
                    .covering(&n.spec, &n.target, &n.labels, now)
                    .is_none()
            })
            .collect();
        if free.is_empty() {
            return;
        }
        let send: Vec<Notification> = free.iter().filter_map(|h| to_send(h, now)).collect();
        let (released, sent) = (free.len(), send.len());
        let store = Arc::clone(&self.store);
        let queued = send.clone();
        let saved = tokio::task::spawn_blocking(move || {
            store.release(&free, &queued, now.timestamp_millis())?;
            store.pending()
        })
        .await;
        match saved {
            Ok(Ok(pending)) => {
                self.metrics.set_notifications_pending(pending);
                tracing::info!(
                    released,
                    sent,
                    "no silence holds these notifications any more: sent what is still true"
                );
                self.reposts.track_released(&self.config(), &send);
                self.wake.notify_one();
            }
            Ok(Err(e)) => tracing::error!(error = %e, "could not release held notifications"),
            Err(e) => tracing::error!(error = %e, "releasing held notifications was interrupted"),
        }
    }

    /// Release held notifications as silences end or are expired (and once at start, for
    /// silences that ended while the daemon was down), until `stop`.
    pub async fn release_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let now = Utc::now();
            self.release_held(now).await;
            let silences = Arc::clone(&self.silences);
            let pruned = tokio::task::spawn_blocking(move || silences.prune(now)).await;
            if let Ok(Err(e)) = pruned {
                tracing::warn!(error = %e, "could not forget ended silences");
            }
            let wait = self
                .silences
                .next_end(now)
                .and_then(|end| (end - now).to_std().ok())
                .map_or(RELEASE_EVERY, |d| (d + AFTER_END).min(RELEASE_EVERY));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.silences.changed() => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(status: AlertStatus) -> Notification {
        let mut n = crate::alert::notification::sample();
        n.status = status;
        n.repeat = true;
        n
    }

    #[test]
    fn only_what_changed_for_the_receiver_is_sent() {
        let now = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let hold = |t, s| held("0:hook", t, note(s));
        // Fired under the silence, still firing: sent, as new.
        let sent = to_send(&hold(Transition::Fire, AlertStatus::Firing), now).unwrap();
        assert!(!sent.repeat);
        assert_eq!(sent.created_at, now);
        // Fired and resolved under it (the latest is the resolve): it never paged.
        let mut quiet = hold(Transition::Fire, AlertStatus::Firing);
        quiet.notification.status = AlertStatus::Resolved;
        assert_eq!(to_send(&quiet, now), None);
        // Firing before it, resolved under it: the resolve is sent.
        let resolved = hold(Transition::Resolve, AlertStatus::Resolved);
        assert_eq!(
            to_send(&resolved, now).map(|n| n.status),
            Some(AlertStatus::Resolved)
        );
        // Firing before it and still: a repeat under it is not sent.
        assert_eq!(
            to_send(&hold(Transition::Repeat, AlertStatus::Firing), now),
            None
        );
    }
}
