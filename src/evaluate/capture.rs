//! Reading values out of a response for a flow's captures: the body's text, the first CSS
//! match's text or attribute, the first JSONPath match. The body is decoded and parsed at most
//! once per response, however many captures ask.

use std::borrow::Cow;

use scraper::Html;
use serde_json::Value;

use super::{body, dom, html, json};
use crate::fetch::Response;
use crate::model::{CssSelector, JsonPathExpr};

/// A response, decoded and parsed as the captures of its step need it.
pub struct Parsed<'r> {
    /// The response.
    response: &'r Response,
    /// The body as text, once decoded.
    text: Option<Result<Cow<'r, str>, String>>,
    /// The HTML document, once parsed.
    dom: Option<Result<Html, String>>,
    /// The JSON document, once parsed.
    json: Option<Result<Value, String>>,
}

impl<'r> Parsed<'r> {
    /// Nothing decoded yet.
    pub fn new(response: &'r Response) -> Parsed<'r> {
        Parsed {
            response,
            text: None,
            dom: None,
            json: None,
        }
    }

    /// The body as text.
    pub fn text(&mut self) -> Result<&str, String> {
        let response = self.response;
        let text = self
            .text
            .get_or_insert_with(|| body::decode(&response.headers, &response.body));
        text.as_deref().map_err(Clone::clone)
    }

    /// The first element `selector` matches: its collapsed text, or its attribute `attr`.
    /// `Ok(None)` when nothing matches (or the element lacks the attribute).
    pub fn css(
        &mut self,
        selector: &CssSelector,
        attr: Option<&str>,
    ) -> Result<Option<String>, String> {
        if self.dom.is_none() {
            let parsed = self.text().and_then(dom::parse);
            self.dom = Some(parsed);
        }
        let doc = match &self.dom {
            Some(Ok(doc)) => doc,
            Some(Err(e)) => return Err(e.clone()),
            None => return Ok(None),
        };
        let Some(element) = doc.select(&selector.selector).next() else {
            return Ok(None);
        };
        Ok(match attr {
            Some(name) => element.value().attr(name).map(str::to_string),
            None => {
                let mut out = String::new();
                html::element_text(element, &mut out);
                Some(out)
            }
        })
    }

    /// The first node `path` matches: a string as it is, anything else as JSON text.
    pub fn json(&mut self, path: &JsonPathExpr) -> Result<Option<String>, String> {
        if self.json.is_none() {
            let parsed = self.text().and_then(|t| {
                serde_json::from_str::<Value>(t).map_err(|e| format!("invalid JSON: {e}"))
            });
            self.json = Some(parsed);
        }
        let doc = match &self.json {
            Some(Ok(doc)) => doc,
            Some(Err(e)) => return Err(e.clone()),
            None => return Ok(None),
        };
        Ok(json::query(path, doc).first().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }
}
