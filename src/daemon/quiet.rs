//! What keeps a target's alerts quiet, as the daemon sees it: the maintenance window and the
//! silence covering it and a failing dependency, recorded on the status page, in the API and in
//! `dcrawl_maintenance`.

use chrono::{DateTime, Utc};

use super::{Labels, Shared};
use crate::alert::engine::AlertEngine;
use crate::alert::state::Quiet;
use crate::model::Target;
use crate::result::{CheckResult, Outcome};

/// The quiet of `target` for its run that gave `result` at `at`, recorded for display.
///
/// A run that did not succeed is blocked by the first of its dependencies whose last run
/// failed (as far as this process has seen: another shard's targets never block).
pub(super) fn of_run(
    shared: &Shared,
    engine: &AlertEngine,
    target: &Target,
    labels: &Labels,
    result: &CheckResult,
    at: DateTime<Utc>,
) -> Quiet {
    let blocked_by = (result.outcome != Outcome::Success)
        .then(|| shared.status.failing_dependency(&target.depends_on))
        .flatten();
    let window = engine.maintenance(&target.spec, &target.name, labels, at);
    let quiet = Quiet {
        maintenance: window.is_some(),
        blocked: blocked_by.is_some(),
    };
    let status = &shared.status;
    status.set_blocked_by(&target.spec, &target.name, blocked_by);
    status.set_maintenance(&target.spec, &target.name, window);
    shared
        .metrics
        .set_maintenance(&target.spec, &target.name, quiet.maintenance);
    let silence = engine
        .silences()
        .covering(&target.spec, &target.name, labels, at);
    status.set_silenced(
        &target.spec,
        &target.name,
        silence.map(|s| (s.id, s.ends_at)),
    );
    quiet
}

/// Bring every target's maintenance window and silence up to date at `at`, between runs too:
/// they show on the status page and in `dcrawl_maintenance` from their first second.
pub fn refresh_quiet(shared: &Shared, engine: &AlertEngine, at: DateTime<Utc>) {
    let status = &shared.status;
    let silences = engine.silences();
    for (spec, target, labels) in status.targets_with_labels() {
        let window = engine.maintenance(&spec, &target, &labels, at);
        let on = window.is_some();
        if status.set_maintenance(&spec, &target, window) {
            shared.metrics.set_maintenance(&spec, &target, on);
        }
        let silence = silences.covering(&spec, &target, &labels, at);
        status.set_silenced(&spec, &target, silence.map(|s| (s.id, s.ends_at)));
    }
}
