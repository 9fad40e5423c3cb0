//! Why a render failed, worded for the person who reads the target's verdict.

use std::path::PathBuf;
use std::time::Duration;

use super::cdp::CdpError;

/// Why [`Renderer::render`](super::Renderer::render) returned no page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No usable Chromium binary.
    #[error(
        "no Chromium browser at `{}`: {hint}; install one (`apt-get install chromium`) or pass --browser PATH",
        binary.display()
    )]
    NoBrowser {
        /// The binary that was looked for.
        binary: PathBuf,
        /// What was wrong with it (not found on PATH, not executable, ...).
        hint: String,
    },
    /// The browser was found but did not start.
    #[error("Chromium (`{}`) did not start: {reason}", binary.display())]
    Launch {
        /// The binary that was started.
        binary: PathBuf,
        /// Why it did not start, with the last lines it printed if any.
        reason: String,
    },
    /// The page did not finish within the request's timeout; its browser was killed.
    #[error(
        "the page did not finish rendering within {} (still {stage}); the browser was killed and will be restarted, raise render.timeout if the page is just slow",
        humantime::format_duration(*limit)
    )]
    Timeout {
        /// The request's timeout.
        limit: Duration,
        /// What the render was still doing, like `waiting for the load event`.
        stage: String,
    },
    /// The browser or the page's renderer died, or closed the DevTools connection.
    #[error("the browser crashed while rendering: {0}")]
    Crashed(String),
    /// The browser made the page's processes use more memory than allowed; it was killed.
    #[error(
        "the page made the browser use {} MiB of memory, over the limit of {} MiB; the browser was killed and will be restarted",
        used >> 20,
        limit >> 20
    )]
    MemoryLimit {
        /// Resident memory of the browser's processes when it was killed, in bytes.
        used: u64,
        /// The limit ([`BrowserOptions::rss_limit_bytes`](super::BrowserOptions::rss_limit_bytes)).
        limit: u64,
    },
    /// The browser could not load the page at all (DNS, refused connection, TLS, ...).
    #[error("the browser could not load {url}: {reason}")]
    Navigation {
        /// The address that was asked for.
        url: String,
        /// Chromium's reason, like `net::ERR_CONNECTION_REFUSED`.
        reason: String,
    },
    /// The `wait_for` selector is not valid CSS for the browser.
    #[error("wait_for selector `{selector}` is not valid in the browser: {reason}")]
    InvalidSelector {
        /// The selector.
        selector: String,
        /// The browser's complaint.
        reason: String,
    },
    /// The browser answered a DevTools command with an error or something unexpected.
    #[error("the browser's DevTools protocol failed: {0}")]
    Protocol(String),
    /// [`Renderer::shutdown`](super::Renderer::shutdown) was called.
    #[error("the browser renderer is shut down")]
    ShutDown,
}

impl RenderError {
    /// Whether the browser that produced this error should be killed rather than reused: it may
    /// be wedged, crashed or bloated. Page-level problems keep the browser.
    pub(crate) fn poisons_browser(&self) -> bool {
        !matches!(
            self,
            RenderError::Navigation { .. } | RenderError::InvalidSelector { .. }
        )
    }
}

impl From<CdpError> for RenderError {
    fn from(error: CdpError) -> Self {
        match error {
            CdpError::Closed => RenderError::Crashed(error.to_string()),
            CdpError::Connect { .. } | CdpError::Remote { .. } => {
                RenderError::Protocol(error.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let missing = RenderError::NoBrowser {
            binary: PathBuf::from("chromium"),
            hint: "not found on PATH".to_owned(),
        };
        assert_eq!(
            missing.to_string(),
            "no Chromium browser at `chromium`: not found on PATH; install one \
             (`apt-get install chromium`) or pass --browser PATH"
        );
        let timeout = RenderError::Timeout {
            limit: Duration::from_secs(20),
            stage: "waiting for the load event".to_owned(),
        };
        assert!(
            timeout.to_string().starts_with(
                "the page did not finish rendering within 20s (still waiting for the load event)"
            ),
            "{timeout}"
        );
        let memory = RenderError::MemoryLimit {
            used: 3 << 30,
            limit: 2 << 30,
        };
        assert!(
            memory
                .to_string()
                .contains("use 3072 MiB of memory, over the limit of 2048 MiB"),
            "{memory}"
        );
        assert!(timeout.poisons_browser());
        assert!(
            !RenderError::Navigation {
                url: "http://x/".to_owned(),
                reason: "net::ERR_NAME_NOT_RESOLVED".to_owned()
            }
            .poisons_browser()
        );
    }
}
