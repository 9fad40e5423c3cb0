//! Specs and alert routing loaded together: what `validate`, `run` and every reload use.

use std::path::PathBuf;

use crate::alert::AlertConfig;
use crate::config::{Diagnostic, Diagnostics, EnvLookup};
use crate::model::Config;
use crate::spec;

/// The default alert folder, read only when it exists.
pub const DEFAULT_ALERTS: &str = "alerts";

/// A loaded configuration: specs and alert routing.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The specs.
    pub specs: Config,
    /// Channels and routes (empty when there are no alert files).
    pub alerts: AlertConfig,
}

/// Load the alert files. With no `given` paths the default folder `alerts` is read when it
/// exists (alerts are optional); a PATH the user named must exist.
pub fn load_alerts(given: &[PathBuf], env: EnvLookup<'_>) -> Result<AlertConfig, Diagnostics> {
    let mut missing = Diagnostics::default();
    for path in given {
        if let Err(e) = std::fs::metadata(path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            missing.push(Diagnostic::new(
                path.display().to_string(),
                1,
                1,
                format!("cannot read: {e}"),
            ));
        }
    }
    let paths = if given.is_empty() {
        vec![PathBuf::from(DEFAULT_ALERTS)]
    } else {
        given.to_vec()
    };
    missing.combine(crate::alert::config::load_paths(&paths, env))
}

/// Load specs and alerts, reporting every error of both at once (sorted).
pub fn load_files(
    specs: &[PathBuf],
    alerts: &[PathBuf],
    env: EnvLookup<'_>,
) -> Result<Loaded, Diagnostics> {
    let specs = spec::load_paths(specs, env);
    let alerts = load_alerts(alerts, env);
    let problems = specs.as_ref().err().cloned().unwrap_or_default();
    problems
        .combine(alerts)
        .and_then(|alerts| specs.map(|specs| Loaded { specs, alerts }))
}
