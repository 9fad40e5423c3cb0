//! Re-posting to Alertmanager (CONTRACT §3): a firing alert is re-posted every minute while it
//! fires (else Alertmanager resolves it by itself), a resolved one for 5 minutes.
//!
//! [`Reposts`] keeps the latest notification of every alert to re-post; the engine's loop
//! starts one re-post per channel per tick ([`Reposts::start`]), each in its own task and at most
//! one in flight per channel, so a hanging Alertmanager delays neither the outbox nor shutdown.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::task::{AbortHandle, JoinSet};

use super::channels::Deliverer;
use super::notification::{AlertStatus, Notification};
use super::state::TargetAlert;
use super::{AlertConfig, ChannelKind, Route};
use crate::alert::engine::AM_RESOLVED_FOR;

/// (channel, spec, target).
type Key = (String, String, String);

/// The alerts to re-post, and the re-posts in flight.
#[derive(Debug, Default)]
pub(super) struct Reposts {
    /// Alerts to re-post: (channel, spec, target) -> latest notification.
    active: Mutex<HashMap<Key, Notification>>,
}

/// Re-posts in flight: the tasks, and which channel each serves. Owned by the engine's loop.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    /// The tasks (aborted when this is dropped).
    tasks: JoinSet<()>,
    /// One per channel at most.
    by_channel: HashMap<String, AbortHandle>,
}

impl InFlight {
    /// Forget finished re-posts.
    fn reap(&mut self) {
        while self.tasks.try_join_next().is_some() {}
        self.by_channel.retain(|_, task| !task.is_finished());
    }

    /// Cancel every re-post in flight (they are repeated anyway; shutdown does not wait).
    pub(super) fn abort(&mut self) {
        self.tasks.abort_all();
        self.by_channel.clear();
    }
}

impl Reposts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Notification>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forget a removed target.
    pub(super) fn forget(&self, spec: &str, target: &str) {
        self.lock()
            .retain(|(_, s, t), _| !(s == spec && t == target));
    }

    /// Keep the set of alerts to re-post current after a check of a target in `state`, which
    /// queued `queued`; `template` makes a notification of that check.
    pub(super) fn track(
        &self,
        config: &AlertConfig,
        routes: &[(String, &Route)],
        state: &TargetAlert,
        queued: &[Notification],
        template: &dyn Fn(AlertStatus, &str, bool) -> Notification,
    ) {
        let mut active = self.lock();
        for (key, route) in routes {
            let firing = state.routes.get(key).is_some_and(|s| s.firing);
            for channel in &route.channels {
                if !matches!(
                    config.channels.get(channel).map(|c| &c.kind),
                    Some(ChannelKind::Alertmanager(_))
                ) {
                    continue;
                }
                let queued_here = queued.iter().find(|n| &n.channel == channel).cloned();
                let entry_key =
                    |n: &Notification| (channel.clone(), n.spec.clone(), n.target.clone());
                if queued_here.is_none() && !firing {
                    // Recovered without a queued resolve (route says `resolved: false`): tell
                    // Alertmanager anyway, or it keeps the alert until its own timeout.
                    let probe = template(AlertStatus::Resolved, channel, false);
                    if let Some(existing) = active.get_mut(&entry_key(&probe))
                        && existing.resolved_at.is_none()
                    {
                        *existing = probe;
                    }
                    continue;
                }
                let n = queued_here
                    .or_else(|| firing.then(|| template(AlertStatus::Firing, channel, false)));
                if let Some(n) = n {
                    active.insert((channel.clone(), n.spec.clone(), n.target.clone()), n);
                }
            }
        }
    }

    /// Keep the set current with notifications a silence held and has now released.
    pub(super) fn track_released(&self, config: &AlertConfig, sent: &[Notification]) {
        let mut active = self.lock();
        for n in sent {
            if !matches!(
                config.channels.get(&n.channel).map(|c| &c.kind),
                Some(ChannelKind::Alertmanager(_))
            ) {
                continue;
            }
            let key = (n.channel.clone(), n.spec.clone(), n.target.clone());
            match n.status {
                AlertStatus::Firing => {
                    active.insert(key, n.clone());
                }
                AlertStatus::Resolved => {
                    if let Some(existing) = active.get_mut(&key) {
                        *existing = n.clone();
                    }
                }
            }
        }
    }

    /// The alerts to re-post now, by channel; resolved ones older than 5 minutes are dropped.
    fn due(&self, now: DateTime<Utc>) -> BTreeMap<String, Vec<Notification>> {
        let mut active = self.lock();
        active.retain(|_, n| {
            n.resolved_at
                .is_none_or(|t| (now - t).to_std().is_ok_and(|d| d < AM_RESOLVED_FOR))
        });
        let mut by_channel: BTreeMap<String, Vec<Notification>> = BTreeMap::new();
        for ((channel, _, _), n) in active.iter() {
            by_channel
                .entry(channel.clone())
                .or_default()
                .push(n.clone());
        }
        by_channel
    }

    /// Start re-posting every active alert to its Alertmanager channel, one task per channel
    /// in `in_flight`; a channel whose previous re-post is still in flight is skipped this time.
    pub(super) fn start(
        &self,
        config: &AlertConfig,
        deliverer: &Arc<Deliverer>,
        in_flight: &mut InFlight,
        now: DateTime<Utc>,
    ) {
        in_flight.reap();
        for (channel, alerts) in self.due(now) {
            let Some(ch) = config.channels.get(&channel) else {
                continue;
            };
            let ChannelKind::Alertmanager(am) = &ch.kind else {
                continue;
            };
            if in_flight.by_channel.contains_key(&channel) {
                tracing::warn!(channel = %channel, "the previous re-post to Alertmanager is still in flight; skipping this one");
                continue;
            }
            let (am, secrets, deliverer) = (am.clone(), ch.secrets.clone(), Arc::clone(deliverer));
            let name = channel.clone();
            let task = in_flight.tasks.spawn(async move {
                if let Err(e) = deliverer.post_alertmanager(&am, &alerts).await {
                    let e = e.redacted(&secrets);
                    tracing::warn!(channel = %name, error = %e, "re-posting alerts to Alertmanager failed; will retry");
                }
            });
            in_flight.by_channel.insert(channel, task);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::alert::{AlertmanagerChannel, Channel};

    /// A re-post that hangs is not started again for the same channel on the next tick.
    #[tokio::test]
    async fn one_repost_per_channel_in_flight() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&accepted);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        let mut config = AlertConfig::default();
        config.channels.insert(
            "am".into(),
            Channel {
                name: "am".into(),
                kind: ChannelKind::Alertmanager(AlertmanagerChannel { url }),
                template: None,
                secrets: Default::default(),
            },
        );
        let reposts = Reposts::default();
        let mut n = crate::alert::notification::sample();
        n.channel = "am".into();
        n.resolved_at = None;
        reposts
            .lock()
            .insert(("am".into(), n.spec.clone(), n.target.clone()), n);
        let deliverer = Arc::new(Deliverer::new(Duration::from_secs(3600)).unwrap());
        let mut in_flight = InFlight::default();
        reposts.start(&config, &deliverer, &mut in_flight, Utc::now());
        while accepted.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        reposts.start(&config, &deliverer, &mut in_flight, Utc::now());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(in_flight.tasks.len(), 1);
        in_flight.abort();
        assert!(in_flight.by_channel.is_empty());
    }
}
