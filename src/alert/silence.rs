//! Silences: created at run time (`POST /api/v1/silences`, `dcrawl silence`), they hold back
//! the notifications of the targets they match until they end or are expired. A held
//! notification is not lost: what is still true when the silence ends is notified then (an
//! alert that fired under the silence and resolved under it never pages). Silences are kept in
//! the state directory and survive restarts.
//!
//! [`Silences`] is the running set, shared by the alert engine (which holds notifications back)
//! and the endpoints (which create, list and expire them).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio::sync::Notify;

pub mod client;

use super::store::{Store, StoreError};
use super::{MatchValue, Matcher, matches_target};
use crate::config::walk::IDENTIFIER;

/// Longest silence accepted.
pub const MAX_SILENCE: Duration = Duration::from_secs(366 * 24 * 3600);
/// Longest comment accepted, in characters.
pub const MAX_COMMENT: usize = 1000;
/// Most matchers in one silence.
const MAX_MATCHERS: usize = 32;

/// One silence.
#[derive(Debug, Clone)]
pub struct Silence {
    /// Its id (a random UUID).
    pub id: String,
    /// The matchers as given: key -> value or `~regex`.
    pub given: BTreeMap<String, String>,
    /// The same, compiled.
    pub matchers: Vec<Matcher>,
    /// When it was created.
    pub starts_at: DateTime<Utc>,
    /// When it ends (set to the time of expiry when expired early).
    pub ends_at: DateTime<Utc>,
    /// Why, for people.
    pub comment: String,
}

impl Silence {
    /// Is it on at `at`?
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// Does it cover target `target` of spec `spec` with `labels`?
    pub fn covers(&self, spec: &str, target: &str, labels: &BTreeMap<String, String>) -> bool {
        matches_target(&self.matchers, spec, target, labels)
    }

    /// The API's form: `{id, matchers, starts_at, ends_at, comment}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "matchers": self.given,
            "starts_at": self.starts_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "ends_at": self.ends_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "comment": self.comment,
        })
    }
}

/// Compile the matchers of a silence: a non-empty map of `spec`, `target` or a label name to a
/// value or `~regex` (as in routes).
pub fn compile_matchers(given: &BTreeMap<String, String>) -> Result<Vec<Matcher>, String> {
    if given.is_empty() {
        return Err("`matchers` is empty: a silence must say which targets it covers (e.g. {\"spec\": \"shop\"})".into());
    }
    if given.len() > MAX_MATCHERS {
        return Err(format!("at most {MAX_MATCHERS} matchers"));
    }
    given
        .iter()
        .map(|(key, value)| {
            if !IDENTIFIER.matches(key) {
                return Err(format!(
                    "invalid matcher key {key:?}: expected `spec`, `target` or a label name matching {}",
                    IDENTIFIER.shown
                ));
            }
            let value = MatchValue::parse(value).map_err(|e| format!("matcher {key:?}: {e}"))?;
            Ok(Matcher {
                key: key.clone(),
                value,
            })
        })
        .collect()
}

/// A new silence's id: a random (version 4) UUID.
fn new_id() -> String {
    let n = fastrand::u128(..);
    let n = (n & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Why a silence could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    /// No active silence has this id.
    #[error("no active silence with id {0:?}")]
    NotFound(String),
    /// The state directory failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The running silences, backed by the state directory.
pub struct Silences {
    /// Where they are kept.
    store: Arc<Store>,
    /// Every silence not yet long gone, as stored.
    all: RwLock<Vec<Silence>>,
    /// Woken when one is added or expired.
    changed: Notify,
}

impl Silences {
    /// The silences kept in `store`.
    pub fn load(store: Arc<Store>) -> Result<Silences, StoreError> {
        let all = store.load_silences()?;
        Ok(Silences {
            store,
            all: RwLock::new(all),
            changed: Notify::new(),
        })
    }

    /// Add a silence of `given` matchers (already compiled) until `ends_at`, created at `now`.
    pub fn add(
        &self,
        given: BTreeMap<String, String>,
        matchers: Vec<Matcher>,
        ends_at: DateTime<Utc>,
        comment: String,
        now: DateTime<Utc>,
    ) -> Result<Silence, SilenceError> {
        let silence = Silence {
            id: new_id(),
            given,
            matchers,
            starts_at: now,
            ends_at,
            comment,
        };
        self.store.save_silence(&silence)?;
        self.all
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(silence.clone());
        self.changed.notify_one();
        Ok(silence)
    }

    /// End the active silence `id` at `now`.
    pub fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<Silence, SilenceError> {
        let mut all = self.all.write().unwrap_or_else(|p| p.into_inner());
        let Some(silence) = all.iter_mut().find(|s| s.id == id && s.active_at(now)) else {
            return Err(SilenceError::NotFound(id.to_string()));
        };
        self.store.end_silence(id, now)?;
        silence.ends_at = now;
        let expired = silence.clone();
        drop(all);
        self.changed.notify_one();
        Ok(expired)
    }

    /// The silences on at `now`, ending soonest first.
    pub fn active(&self, now: DateTime<Utc>) -> Vec<Silence> {
        let all = self.all.read().unwrap_or_else(|p| p.into_inner());
        let mut on: Vec<Silence> = all.iter().filter(|s| s.active_at(now)).cloned().collect();
        on.sort_by(|a, b| a.ends_at.cmp(&b.ends_at).then_with(|| a.id.cmp(&b.id)));
        on
    }

    /// The silence covering a target at `now`, if any: of several, the one that ends last.
    pub fn covering(
        &self,
        spec: &str,
        target: &str,
        labels: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Option<Silence> {
        let all = self.all.read().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .filter(|s| s.active_at(now) && s.covers(spec, target, labels))
            .max_by_key(|s| s.ends_at)
            .cloned()
    }

    /// Is any silence on at `now`?
    pub fn any_active(&self, now: DateTime<Utc>) -> bool {
        let all = self.all.read().unwrap_or_else(|p| p.into_inner());
        all.iter().any(|s| s.active_at(now))
    }

    /// When the next active silence ends.
    pub fn next_end(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let all = self.all.read().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .filter(|s| s.active_at(now))
            .map(|s| s.ends_at)
            .min()
    }

    /// Resolves when a silence is added or expired.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Forget silences that ended more than a day before `now` (memory and state directory).
    pub fn prune(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let cutoff = now - chrono::Duration::days(1);
        self.store.prune_silences(cutoff)?;
        self.all
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| s.ends_at > cutoff);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn ids_are_version_4_uuids() {
        let id = new_id();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, new_id());
    }

    #[test]
    fn matchers_are_checked() {
        assert!(compile_matchers(&given(&[])).unwrap_err().contains("empty"));
        assert!(
            compile_matchers(&given(&[("9x", "a")]))
                .unwrap_err()
                .contains("invalid matcher key \"9x\"")
        );
        assert!(
            compile_matchers(&given(&[("target", "~(")]))
                .unwrap_err()
                .contains("invalid regex")
        );
        assert_eq!(
            compile_matchers(&given(&[("spec", "shop"), ("target", "~api-.*")]))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn silences_cover_expire_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let silences = Silences::load(Arc::clone(&store)).unwrap();
        let g = given(&[("spec", "shop"), ("team", "~web|ops")]);
        let m = compile_matchers(&g).unwrap();
        let web = given(&[("team", "web")]);
        let s = silences.add(g, m, t(1800), "deploy".into(), t(0)).unwrap();
        assert_eq!(
            silences.covering("shop", "home", &web, t(60)).map(|s| s.id),
            Some(s.id.clone())
        );
        assert!(silences.covering("blog", "home", &web, t(60)).is_none());
        assert!(
            silences
                .covering("shop", "home", &BTreeMap::new(), t(60))
                .is_none()
        );
        assert!(silences.covering("shop", "home", &web, t(1800)).is_none());
        assert_eq!(silences.next_end(t(60)), Some(t(1800)));
        // Kept across a restart.
        let again = Silences::load(Arc::clone(&store)).unwrap();
        let listed = again.active(t(60));
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].comment, "deploy");
        assert!(again.covering("shop", "home", &web, t(60)).is_some());
        // Expired early: gone, and an unknown or ended one is not found.
        again.expire(&s.id, t(120)).unwrap();
        assert!(again.active(t(121)).is_empty());
        assert!(matches!(
            again.expire(&s.id, t(130)),
            Err(SilenceError::NotFound(_))
        ));
        let third = Silences::load(store).unwrap();
        assert!(third.active(t(121)).is_empty());
        third.prune(t(200_000)).unwrap();
        assert!(third.all.read().unwrap().is_empty());
    }
}
