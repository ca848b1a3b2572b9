//! Making a configured `api_call`: render its URL, headers and body, build the URL, send it
//! through the HyperFleet API port, record it, and classify the answer with the Go adapter's
//! error texts and the 404 resource-not-found rule.

use super::executor::Run;
use super::result::{ApiCallRecord, Phase};
use super::urls;
use crate::config::GoDuration;
use crate::config::task::ApiCall;
use crate::ports::ApiRequest;
use serde_json::Value;

/// A failed API call; the text is the Go adapter's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiFailure {
    /// 0 when no response was received.
    pub status: u16,
    pub body: String,
    pub message: String,
}

impl ApiFailure {
    /// The classification: by the HTTP status, `Unavailable` when no response was received.
    pub fn kind(&self) -> crate::ports::ErrorKind {
        match self.status {
            0 => crate::ports::ErrorKind::Unavailable,
            status => crate::ports::ErrorKind::of_http_status(status),
        }
    }

    /// A 404 that means "the resource does not exist" (not a broken endpoint): any 404 whose
    /// body is not an RFC 9457 problem with code `HYPERFLEET-NTF-000`.
    pub fn is_resource_not_found(&self) -> bool {
        is_resource_not_found(self.status, &self.body)
    }
}

pub fn is_resource_not_found(status: u16, body: &str) -> bool {
    if status != 404 {
        return false;
    }
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_string));
    code.as_deref() != Some("HYPERFLEET-NTF-000")
}

/// `"<code> <reason>"`, as Go's `http.Response.Status` reads.
pub fn status_text(code: u16) -> String {
    let reason = match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };
    if reason.is_empty() {
        code.to_string()
    } else {
        format!("{code} {reason}")
    }
}

impl Run<'_> {
    /// Performs `call` (config path `base`, e.g. `params[3].source.api_call`), returning the
    /// response body on 2xx.
    pub async fn api_call(
        &mut self,
        phase: Phase,
        step: &str,
        base: &str,
        call: &ApiCall,
    ) -> Result<String, ApiFailure> {
        let request = self.render_request(base, call)?;
        tracing::info!("Making API call: {} {}", call.method, request.url);
        let mut record = ApiCallRecord {
            phase,
            step: step.to_string(),
            method: call.method.clone(),
            url: request.url.clone(),
            request_body: if self.ex.detail {
                request.body.clone()
            } else {
                None
            },
            status: 0,
            response_body: String::new(),
        };
        let outcome = self.ex.ports.api.send(request).await;
        let result = match outcome {
            Err(e) => Err(no_answer(format!(
                "API request failed: {} {} after {} attempt(s): {}",
                call.method, record.url, e.attempts, e.message
            ))),
            Ok(resp) => {
                // Moved, not copied, when valid UTF-8 (bodies may be up to the size limit).
                let text = String::from_utf8(resp.body)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                record.status = resp.status;
                if self.ex.detail {
                    record.response_body = text.clone();
                }
                tracing::info!(
                    "API call completed: {} {}",
                    resp.status,
                    status_text(resp.status)
                );
                answer(call, &record.url, resp.status, resp.attempts, text)
            }
        };
        if let Err(e) = &result {
            tracing::warn!("API call failed: {}", e.message);
        }
        self.result.api_calls.push(record);
        result
    }

    /// Renders a call's URL, headers and body, builds the URL against the API's base and
    /// version, and reads its timeout and retry overrides.
    fn render_request(&mut self, base: &str, call: &ApiCall) -> Result<ApiRequest, ApiFailure> {
        let url = self
            .render_url(&format!("{base}.url"), &call.url)
            .map_err(|e| no_answer(format!("failed to render URL: {e}")))?;
        let mut headers = Vec::new();
        for (j, h) in call.headers.iter().enumerate() {
            let v = self
                .render(&format!("{base}.headers[{j}].value"), &h.value)
                .map_err(|e| no_answer(format!("failed to render header {:?}: {e}", h.name)))?;
            headers.push((h.name.clone(), v));
        }
        let body = match (call.method.as_str(), &call.body) {
            ("POST" | "PUT" | "PATCH", Some(b)) => {
                let rendered = self
                    .render(&format!("{base}.body"), b)
                    .map_err(|e| no_answer(format!("failed to render body: {e}")))?;
                (!rendered.is_empty()).then_some(rendered)
            }
            _ => None,
        };
        let api = &self.ex.loaded.adapter.clients.hyperfleet_api;
        Ok(ApiRequest {
            method: call.method.clone(),
            url: urls::build(&url, &api.base_url, api.effective_version()),
            headers,
            body,
            timeout: call.timeout.as_deref().and_then(call_timeout),
            retry_attempts: call.retry_attempts.filter(|n| *n > 0).map(|n| n as u32),
            retry_backoff: call.retry_backoff.clone(),
        })
    }
}

/// A call that failed without an HTTP answer (rendering, transport).
fn no_answer(message: String) -> ApiFailure {
    ApiFailure {
        status: 0,
        body: String::new(),
        message,
    }
}

/// A call's `timeout`: positive Go duration text, else the client's default (with a warning
/// for text that does not parse).
fn call_timeout(text: &str) -> Option<std::time::Duration> {
    match GoDuration::parse(text) {
        Ok(d) if d.0 > 0 => Some(d.to_std()),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("failed to parse timeout '{text}': {e}, using default timeout");
            None
        }
    }
}

/// The body of a 2xx answer, or the failure with the Go adapter's text.
fn answer(
    call: &ApiCall,
    url: &str,
    status: u16,
    attempts: u32,
    text: String,
) -> Result<String, ApiFailure> {
    if (200..300).contains(&status) {
        return Ok(text);
    }
    let st = status_text(status);
    let mut message = format!(
        "API request failed: {} {url} returned {status} {st} after {} attempt(s): API returned non-success status: {st}",
        call.method,
        attempts.max(1),
    );
    if !text.is_empty() {
        message.push_str(&format!(", response body: {text}"));
    }
    Err(ApiFailure {
        status,
        body: text,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_classification() {
        assert!(is_resource_not_found(404, ""));
        assert!(is_resource_not_found(404, "not json"));
        assert!(is_resource_not_found(
            404,
            r#"{"code":"HYPERFLEET-NTF-002"}"#
        ));
        assert!(!is_resource_not_found(
            404,
            r#"{"code":"HYPERFLEET-NTF-000"}"#
        ));
        assert!(!is_resource_not_found(500, ""));
        assert_eq!(status_text(404), "404 Not Found");
        assert_eq!(status_text(299), "299");
    }
}
