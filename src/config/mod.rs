//! The configuration-file layer that spec, alert and web config files share: YAML parsed into
//! a positioned tree ([`yaml`]), `${VAR}` interpolation ([`interp`]), durations and sizes
//! ([`units`]), key tables ([`keys`]) and the walker that checks a tree against them while
//! collecting every problem ([`walk`]) as a positioned [`Diagnostic`] ([`diag`]), reading the
//! files under the paths a user gave ([`files`]), and the reference docs rendered from the
//! tables ([`reference`]).
//!
//! It knows nothing of specs or alerts: [`crate::spec`], [`crate::alert`] and
//! [`crate::server`]'s web config each bring their own tables and compile what they walk.

pub(crate) mod diag;
pub(crate) mod files;
pub(crate) mod interp;
pub(crate) mod keys;
pub(crate) mod reference;
pub(crate) mod units;
pub(crate) mod walk;
pub(crate) mod yaml;
mod yaml_fast;

pub use diag::{Diagnostic, Diagnostics};

/// Looks up an environment variable (`std::env::var` in production, a map in tests and demo).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One configuration file's text with the name used in messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file as the user named it.
    pub name: String,
    /// Its contents.
    pub text: String,
}
