//! A target's fingerprint: a hash of every field that affects how it runs, so that a reload can
//! tell an unchanged target (its task keeps running on its schedule) from a changed one.
//!
//! Every struct is taken apart field by field without `..`: a field added to the model does not
//! compile until it is fingerprinted here. Compiled values are hashed by their source text
//! (regexes, selectors, JSONPaths, schedules), floats by their bits, JSON by its text.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use super::flow::{BodyTemplate, Capture, CaptureSource, CssValue, Flow, Piece, Step, Template};
use super::render::Render;

use super::{
    Check, CheckOp, CountRange, Crawl, CssSelector, Expect, Extract, ExtractSource, HeaderCheck,
    HtmlAssertion, JsonAssertion, JsonPathExpr, MatchMode, RequestBody, Target, TlsExpect,
};

impl Target {
    /// A hash of everything that affects a run of this target (its secrets included, which
    /// never show in its `Debug`). Equal definitions have equal fingerprints within a process.
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.feed(&mut h);
        h.finish()
    }
}

/// Feeding a model value into a hasher.
trait Feed {
    fn feed(&self, h: &mut DefaultHasher);
}

impl<T: Feed> Feed for [T] {
    fn feed(&self, h: &mut DefaultHasher) {
        self.len().hash(h);
        for x in self {
            x.feed(h);
        }
    }
}

impl<T: Feed> Feed for Vec<T> {
    fn feed(&self, h: &mut DefaultHasher) {
        self.as_slice().feed(h);
    }
}

impl<T: Feed> Feed for Option<T> {
    fn feed(&self, h: &mut DefaultHasher) {
        match self {
            None => 0u8.hash(h),
            Some(x) => {
                1u8.hash(h);
                x.feed(h);
            }
        }
    }
}

impl<T: Feed + ?Sized> Feed for std::sync::Arc<T> {
    fn feed(&self, h: &mut DefaultHasher) {
        (**self).feed(h);
    }
}

impl<A: Feed, B: Feed> Feed for (A, B) {
    fn feed(&self, h: &mut DefaultHasher) {
        self.0.feed(h);
        self.1.feed(h);
    }
}

/// Plain values that hash as they are.
macro_rules! feed_by_hash {
    ($($t:ty),*) => {$(
        impl Feed for $t {
            fn feed(&self, h: &mut DefaultHasher) {
                self.hash(h);
            }
        }
    )*};
}
feed_by_hash!(String, str, u32, u64, bool, std::time::Duration);

impl Feed for f64 {
    fn feed(&self, h: &mut DefaultHasher) {
        self.to_bits().hash(h);
    }
}

impl Feed for Value {
    fn feed(&self, h: &mut DefaultHasher) {
        // Compact JSON text; object keys come out sorted (serde_json's map is ordered).
        self.to_string().hash(h);
    }
}

impl Feed for regex::Regex {
    fn feed(&self, h: &mut DefaultHasher) {
        self.as_str().hash(h);
    }
}

impl Feed for url::Url {
    fn feed(&self, h: &mut DefaultHasher) {
        self.as_str().hash(h);
    }
}

impl Feed for Target {
    fn feed(&self, h: &mut DefaultHasher) {
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
        spec.feed(h);
        name.feed(h);
        url.feed(h);
        method.as_str().feed(h);
        headers.feed(h);
        body.feed(h);
        schedule.to_string().feed(h);
        schedule.timezone().name().feed(h);
        timeout.feed(h);
        retries.feed(h);
        max_body.feed(h);
        follow_redirects.feed(h);
        tls_verify.feed(h);
        expect.feed(h);
        extract.feed(h);
        secrets[..].feed(h);
        crawl.feed(h);
        flow.feed(h);
        render.feed(h);
        depends_on.feed(h);
    }
}

impl Feed for super::Severity {
    fn feed(&self, h: &mut DefaultHasher) {
        std::mem::discriminant(self).hash(h);
    }
}

impl Feed for Flow {
    fn feed(&self, h: &mut DefaultHasher) {
        let Flow {
            vars,
            timeout,
            steps,
        } = self;
        vars.feed(h);
        timeout.feed(h);
        steps.feed(h);
    }
}

impl Feed for Step {
    fn feed(&self, h: &mut DefaultHasher) {
        let Step {
            name,
            url,
            method,
            headers,
            body,
            expect,
            timeout,
            follow_redirects,
            capture,
            always_run,
        } = self;
        name.feed(h);
        url.feed(h);
        method.as_str().feed(h);
        headers.feed(h);
        body.feed(h);
        expect.feed(h);
        timeout.feed(h);
        follow_redirects.feed(h);
        capture.feed(h);
        always_run.feed(h);
    }
}

impl Feed for Template {
    fn feed(&self, h: &mut DefaultHasher) {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => (0u8, t.as_str()).hash(h),
                Piece::Var(n) => (1u8, n.as_str()).hash(h),
            }
        }
        self.pieces.len().hash(h);
    }
}

impl Feed for BodyTemplate {
    fn feed(&self, h: &mut DefaultHasher) {
        match self {
            BodyTemplate::Raw(t) => {
                0u8.hash(h);
                t.feed(h);
            }
            BodyTemplate::Json(v) => {
                1u8.hash(h);
                v.feed(h);
            }
        }
    }
}

impl Feed for Capture {
    fn feed(&self, h: &mut DefaultHasher) {
        let Capture {
            name,
            source,
            regex,
            secret,
        } = self;
        name.feed(h);
        std::mem::discriminant(source).hash(h);
        match source {
            CaptureSource::Json(p) => p.feed(h),
            CaptureSource::Header(s) | CaptureSource::Cookie(s) => s.feed(h),
            CaptureSource::Css(sel, value) => {
                sel.feed(h);
                match value {
                    CssValue::Text => 0u8.hash(h),
                    CssValue::Attr(a) => (1u8, a.as_str()).hash(h),
                }
            }
            CaptureSource::Body
            | CaptureSource::Status
            | CaptureSource::FinalUrl
            | CaptureSource::Redirect => {}
        }
        regex.feed(h);
        secret.feed(h);
    }
}

impl Feed for Render {
    fn feed(&self, h: &mut DefaultHasher) {
        let Render {
            wait_for,
            timeout,
            viewport,
            screenshot,
        } = self;
        wait_for.feed(h);
        timeout.feed(h);
        viewport.0.feed(h);
        viewport.1.feed(h);
        std::mem::discriminant(screenshot).hash(h);
    }
}

impl Feed for RequestBody {
    fn feed(&self, h: &mut DefaultHasher) {
        match self {
            RequestBody::Raw(text) => {
                0u8.hash(h);
                text.feed(h);
            }
            RequestBody::Json(value) => {
                1u8.hash(h);
                value.feed(h);
            }
        }
    }
}

impl Feed for Crawl {
    fn feed(&self, h: &mut DefaultHasher) {
        let Crawl {
            follow,
            sitemap,
            include,
            exclude,
            max_depth,
            max_pages,
            concurrency,
            robots,
            expect_each,
        } = self;
        follow.feed(h);
        sitemap.feed(h);
        include.feed(h);
        exclude.feed(h);
        max_depth.feed(h);
        max_pages.feed(h);
        concurrency.feed(h);
        robots.feed(h);
        expect_each.feed(h);
    }
}

impl Feed for Expect {
    fn feed(&self, h: &mut DefaultHasher) {
        let Expect {
            status,
            max_duration,
            headers,
            body,
            tls,
            html,
            json,
            console_errors,
            failed_requests,
            max_duration_severity,
            body_warnings,
            status_severity,
            console_errors_severity,
            failed_requests_severity,
        } = self;
        status.hash(h);
        max_duration.feed(h);
        headers.feed(h);
        body.feed(h);
        tls.feed(h);
        html.feed(h);
        json.feed(h);
        console_errors.feed(h);
        failed_requests.feed(h);
        max_duration_severity.feed(h);
        body_warnings.feed(h);
        status_severity.feed(h);
        console_errors_severity.feed(h);
        failed_requests_severity.feed(h);
    }
}

impl Feed for TlsExpect {
    fn feed(&self, h: &mut DefaultHasher) {
        let TlsExpect {
            min_days_valid,
            severity,
        } = self;
        min_days_valid.feed(h);
        severity.feed(h);
    }
}

impl Feed for HeaderCheck {
    fn feed(&self, h: &mut DefaultHasher) {
        let HeaderCheck {
            name,
            check,
            severity,
        } = self;
        name.feed(h);
        check.feed(h);
        severity.feed(h);
    }
}

impl Feed for Check {
    fn feed(&self, h: &mut DefaultHasher) {
        let Check { ops } = self;
        ops.feed(h);
    }
}

impl Feed for CheckOp {
    fn feed(&self, h: &mut DefaultHasher) {
        // The variant, then its value.
        std::mem::discriminant(self).hash(h);
        match self {
            CheckOp::Equals(v) | CheckOp::NotEquals(v) => v.feed(h),
            CheckOp::Contains(s) | CheckOp::NotContains(s) => s.feed(h),
            CheckOp::Matches(re) | CheckOp::NotMatches(re) => re.feed(h),
            CheckOp::OneOf(vs) => vs.feed(h),
            CheckOp::Lt(x) | CheckOp::Le(x) | CheckOp::Gt(x) | CheckOp::Ge(x) => x.feed(h),
            CheckOp::Type(t) => t.name().feed(h),
            CheckOp::Length(range) => range.feed(h),
            CheckOp::Empty(b) | CheckOp::Exists(b) => b.feed(h),
        }
    }
}

impl Feed for CountRange {
    fn feed(&self, h: &mut DefaultHasher) {
        let CountRange { min, max } = self;
        min.feed(h);
        max.feed(h);
    }
}

impl Feed for MatchMode {
    fn feed(&self, h: &mut DefaultHasher) {
        matches!(self, MatchMode::Any).feed(h);
    }
}

impl Feed for CssSelector {
    fn feed(&self, h: &mut DefaultHasher) {
        // `selector` and `fast` are compiled from `source`.
        self.source.feed(h);
    }
}

impl Feed for JsonPathExpr {
    fn feed(&self, h: &mut DefaultHasher) {
        // `path` is compiled from `source`.
        self.source.feed(h);
    }
}

impl Feed for HtmlAssertion {
    fn feed(&self, h: &mut DefaultHasher) {
        let HtmlAssertion {
            id,
            css,
            count,
            text,
            attrs,
            mode,
            severity,
        } = self;
        id.feed(h);
        css.feed(h);
        count.feed(h);
        text.feed(h);
        attrs.feed(h);
        mode.feed(h);
        severity.feed(h);
    }
}

impl Feed for JsonAssertion {
    fn feed(&self, h: &mut DefaultHasher) {
        let JsonAssertion {
            id,
            path,
            count,
            value,
            mode,
            severity,
        } = self;
        id.feed(h);
        path.feed(h);
        count.feed(h);
        value.feed(h);
        mode.feed(h);
        severity.feed(h);
    }
}

impl Feed for Extract {
    fn feed(&self, h: &mut DefaultHasher) {
        let Extract {
            name,
            source,
            regex,
        } = self;
        name.feed(h);
        std::mem::discriminant(source).hash(h);
        match source {
            ExtractSource::CssCount(css) | ExtractSource::CssText(css) => css.feed(h),
            ExtractSource::CssAttr(css, attr) => {
                css.feed(h);
                attr.feed(h);
            }
            ExtractSource::Json(path) => path.feed(h),
        }
        regex.feed(h);
    }
}

#[cfg(test)]
mod tests;
