//! `Debug` of a target without its secrets: every field is shown with each of the target's
//! secrets replaced by `***` (a `${VAR}` value may sit in the URL, a header, the body, a check
//! or a crawl pattern), and the secrets themselves only as a count.

use std::fmt;

use super::Target;

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Taken apart without `..`: a new field must be shown (redacted) here too.
        let Target {
            spec,
            name,
            url,
            method,
            headers,
            body,
            schedule,
            timeout,
            retries,
            max_body,
            follow_redirects,
            tls_verify,
            expect,
            extract,
            secrets,
            crawl,
            flow,
            render,
            depends_on,
        } = self;
        f.debug_struct("Target")
            .field("spec", &secrets.in_debug(spec))
            .field("name", &secrets.in_debug(name))
            .field("url", &secrets.in_debug(url.as_str()))
            .field("method", method)
            .field("headers", &secrets.in_debug(headers))
            .field("body", &secrets.in_debug(body))
            .field("schedule", &secrets.in_debug(schedule))
            .field("timeout", timeout)
            .field("retries", retries)
            .field("max_body", max_body)
            .field("follow_redirects", follow_redirects)
            .field("tls_verify", tls_verify)
            .field("expect", &secrets.in_debug(expect))
            .field("extract", &secrets.in_debug(extract))
            .field("secrets", secrets)
            .field("crawl", &secrets.in_debug(crawl))
            .field("flow", &secrets.in_debug(flow))
            .field("render", render)
            .field("depends_on", depends_on)
            .finish()
    }
}
