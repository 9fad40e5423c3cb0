//! The compiled form of `render:`: fetch and run a page in a headless browser, then assert on
//! the DOM its scripts built.

use std::time::Duration;

use super::CssSelector;

/// Default budget of one render (navigation, scripts, `wait_for`, screenshot).
pub const DEFAULT_RENDER_TIMEOUT: Duration = Duration::from_secs(20);
/// Default viewport (width, height) in CSS pixels.
pub const DEFAULT_VIEWPORT: (u32, u32) = (1280, 800);

/// `render:` of a target.
#[derive(Debug, Clone)]
pub struct Render {
    /// Wait until this selector matches (else: the load event plus 500 ms).
    pub wait_for: Option<CssSelector>,
    /// Budget of the whole render.
    pub timeout: Duration,
    /// Viewport (width, height) in CSS pixels.
    pub viewport: (u32, u32),
    /// When to keep a screenshot.
    pub screenshot: Screenshot,
}

/// `render.screenshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screenshot {
    /// Keep one when the run did not succeed (the default).
    OnFailure,
    /// Keep one every run.
    Always,
    /// Never take one.
    Never,
}
