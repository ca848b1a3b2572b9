//! The request expectations: requests that must have been made (count, status, body) and
//! requests that must not have been.

use super::{Checker, DocCompiled};
use crate::scenario::error::ScenarioError;
use crate::scenario::model::RequestExpect;
use crate::scenario::view::body_value;
use crate::textdiff;
use serde_json::Value;

impl Checker<'_> {
    pub(super) fn request(
        &mut self,
        i: usize,
        r: &RequestExpect,
        url: &regex::Regex,
        body: &DocCompiled,
    ) -> Result<(), ScenarioError> {
        self.out.count += 1;
        let label = format!("expect.requests[{i}]");
        let idx = i.to_string();
        let at = ["expect", "requests", idx.as_str()];
        let line = self.line(&at);
        let result = self.result;
        let matching: Vec<_> = result
            .api_calls
            .iter()
            .filter(|c| method_matches(&r.method, &c.method) && url.is_match(&c.url))
            .filter(|c| r.step.as_ref().is_none_or(|s| s == &c.step))
            .collect();
        let want = format!("{} {}", r.method, r.url);
        let count_ok = match r.count {
            Some(n) => matching.len() == n,
            None => !matching.is_empty(),
        };
        if !count_ok {
            let expected = r.count.map_or("at least 1".to_string(), |n| n.to_string());
            let message = format!(
                "requests matching {want}: expected {expected}, got {}",
                matching.len()
            );
            self.fail(label, line, message, self.requests_made());
            return Ok(());
        }
        let Some(last) = matching.last() else {
            return Ok(());
        };
        if let Some(status) = r.status {
            self.out.count += 1;
            if last.status != status {
                let message = format!(
                    "{} {}: expected status {status}, got {}",
                    last.method, last.url, last.status
                );
                let d = textdiff::expected_actual(&status.to_string(), &last.status.to_string());
                self.fail(
                    format!("{label}.status"),
                    self.line(&[&at[..], &["status"][..]].concat()),
                    message,
                    d,
                );
            }
        }
        if let Some(check) = &r.body {
            let doc = last
                .request_body
                .as_deref()
                .map(body_value)
                .unwrap_or(Value::Null);
            let at = [&at[..], &["body"][..]].concat();
            self.document(&format!("{label}.body"), &at, &doc, check, body)?;
        }
        Ok(())
    }

    pub(super) fn no_request(&mut self, i: usize, method: &str, url: &regex::Regex) {
        self.out.count += 1;
        let made: Vec<String> = self
            .result
            .api_calls
            .iter()
            .filter(|c| method_matches(method, &c.method) && url.is_match(&c.url))
            .map(|c| format!("+ {} {} -> {}", c.method, c.url, c.status))
            .collect();
        if made.is_empty() {
            return;
        }
        let idx = i.to_string();
        let line = self.line(&["expect", "no_requests", idx.as_str()]);
        let message = format!(
            "expected no request matching {method} {}, got {}",
            url.as_str(),
            made.len()
        );
        self.fail(
            format!("expect.no_requests[{i}]"),
            line,
            message,
            made.join("\n") + "\n",
        );
    }

    /// Every request made, for context.
    fn requests_made(&self) -> String {
        let lines: Vec<String> = self
            .result
            .api_calls
            .iter()
            .map(|c| format!("  {} {} -> {} ({})", c.method, c.url, c.status, c.step))
            .collect();
        if lines.is_empty() {
            "  (no requests were made)\n".into()
        } else {
            format!("requests made:\n{}\n", lines.join("\n"))
        }
    }
}

fn method_matches(want: &str, got: &str) -> bool {
    want == "*" || want == got
}
