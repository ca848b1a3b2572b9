//! A HyperFleet API that answers from a dry-run responses file: endpoints matched in file
//! order by method (or `*`) and an unanchored regular expression on the URL, each answering its
//! responses in sequence and then repeating the last; anything unmatched gets 200 `{}`.

use crate::ports::{ApiRequest, ApiResponse, ApiTransportError, HyperfleetApi};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    responses: Vec<EndpointDef>,
}

#[derive(Debug, Deserialize)]
struct EndpointDef {
    #[serde(rename = "match")]
    matcher: MatchDef,
    #[serde(default)]
    responses: Vec<ResponseDef>,
}

#[derive(Debug, Deserialize)]
struct MatchDef {
    #[serde(default)]
    method: String,
    #[serde(default, rename = "urlPattern")]
    url_pattern: String,
}

#[derive(Debug, Deserialize, Clone)]
struct ResponseDef {
    #[serde(default, rename = "statusCode")]
    status_code: u16,
    #[serde(default)]
    body: Option<Value>,
}

struct Endpoint {
    method: String,
    pattern: regex::Regex,
    responses: Vec<ResponseDef>,
    calls: AtomicUsize,
}

/// The responses-file API.
/// Why a dry-run responses file cannot be used; the texts are the Go adapter's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.problem.text(&self.file))]
pub struct ResponsesError {
    /// The file as the message shows it (quoted path).
    file: String,
    problem: Problem,
}

/// What is wrong with a responses file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Read(String),
    Json(String),
    NoResponses(usize),
    EmptyPattern(usize),
    BadPattern {
        index: usize,
        pattern: String,
        reason: String,
    },
}

impl Problem {
    fn text(&self, file: &str) -> String {
        match self {
            Problem::Read(e) => format!("failed to read dryrun responses file {file}: {e}"),
            Problem::Json(e) => format!("failed to parse dryrun responses file {file}: {e}"),
            Problem::NoResponses(i) => {
                format!("dryrun responses file {file}: endpoint {i} has no responses defined")
            }
            Problem::EmptyPattern(i) => {
                format!("dryrun responses file {file}: endpoint {i} has empty urlPattern")
            }
            Problem::BadPattern {
                index,
                pattern,
                reason,
            } => format!("endpoint {index}: invalid urlPattern {pattern:?}: {reason}"),
        }
    }
}

#[derive(Default)]
pub struct RecordedApi {
    endpoints: Vec<Endpoint>,
}

impl RecordedApi {
    /// Loads a responses file, with the Go adapter's error texts.
    pub fn load(path: &Path) -> Result<Self, ResponsesError> {
        let file = format!("{:?}", path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|e| ResponsesError {
            file: file.clone(),
            problem: Problem::Read(e.to_string()),
        })?;
        Self::parse_named(&text, &file)
    }

    /// Parses responses-file JSON (errors name the file `<input>`).
    pub fn parse(text: &str) -> Result<Self, ResponsesError> {
        Self::parse_named(text, "<input>")
    }

    fn parse_named(text: &str, file: &str) -> Result<Self, ResponsesError> {
        let fail = |problem| ResponsesError {
            file: file.to_string(),
            problem,
        };
        let parsed: File =
            serde_json::from_str(text).map_err(|e| fail(Problem::Json(e.to_string())))?;
        let mut endpoints = Vec::new();
        for (i, e) in parsed.responses.into_iter().enumerate() {
            if e.responses.is_empty() {
                return Err(fail(Problem::NoResponses(i)));
            }
            if e.matcher.url_pattern.is_empty() {
                return Err(fail(Problem::EmptyPattern(i)));
            }
            let pattern = regex::Regex::new(&e.matcher.url_pattern).map_err(|err| {
                fail(Problem::BadPattern {
                    index: i,
                    pattern: e.matcher.url_pattern.clone(),
                    reason: err.to_string(),
                })
            })?;
            endpoints.push(Endpoint {
                method: e.matcher.method,
                pattern,
                responses: e.responses,
                calls: AtomicUsize::new(0),
            });
        }
        Ok(RecordedApi { endpoints })
    }
}

/// Re-serialises a body with sorted keys; absent or null is `{}`.
fn body_bytes(body: &Option<Value>) -> Vec<u8> {
    match body {
        None | Some(Value::Null) => b"{}".to_vec(),
        Some(v) => serde_json::to_vec(&crate::expr::manifest::sort_keys(v)).unwrap_or_default(),
    }
}

#[async_trait]
impl HyperfleetApi for RecordedApi {
    async fn send(&self, request: ApiRequest) -> Result<ApiResponse, ApiTransportError> {
        let endpoint = self.endpoints.iter().find(|e| {
            (e.method == "*" || e.method == request.method) && e.pattern.is_match(&request.url)
        });
        let Some(e) = endpoint else {
            return Ok(ApiResponse {
                status: 200,
                headers: vec![],
                body: b"{}".to_vec(),
                attempts: 1,
            });
        };
        let k = e.calls.fetch_add(1, Ordering::Relaxed);
        let r = &e.responses[k.min(e.responses.len() - 1)];
        let status = if r.status_code == 0 {
            200
        } else {
            r.status_code
        };
        Ok(ApiResponse {
            status,
            headers: vec![],
            body: body_bytes(&r.body),
            attempts: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, url: &str) -> ApiRequest {
        ApiRequest {
            method: method.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn matches_in_order_and_repeats_the_last_response() {
        let api = RecordedApi::parse(
            r#"{"responses": [
                {"match": {"method": "GET", "urlPattern": "/clusters/.*"}, "responses": [{"statusCode": 200, "body": {"b": 1, "a": 2}}, {"statusCode": 503}]},
                {"match": {"method": "*", "urlPattern": "statuses"}, "responses": [{"body": null}]}
            ]}"#,
        )
        .unwrap();
        let r1 = api
            .send(req("GET", "/api/hyperfleet/v1/clusters/x"))
            .await
            .unwrap();
        assert_eq!(
            (r1.status, String::from_utf8(r1.body).unwrap()),
            (200, r#"{"a":2,"b":1}"#.to_string())
        );
        assert_eq!(
            api.send(req("GET", "/clusters/x")).await.unwrap().status,
            503
        );
        assert_eq!(
            api.send(req("GET", "/clusters/x")).await.unwrap().status,
            503,
            "the last response repeats"
        );
        let put = api.send(req("PUT", "/x/statuses")).await.unwrap();
        assert_eq!((put.status, put.body), (200, b"{}".to_vec()));
        let other = api.send(req("POST", "/nothing")).await.unwrap();
        assert_eq!((other.status, other.body), (200, b"{}".to_vec()));
    }

    #[test]
    fn load_errors() {
        let e = |t: &str| RecordedApi::parse(t).err().unwrap().to_string();
        assert_eq!(
            e(r#"{"responses":[{"match":{"urlPattern":"x"},"responses":[]}]}"#),
            "dryrun responses file <input>: endpoint 0 has no responses defined"
        );
        assert_eq!(
            e(r#"{"responses":[{"match":{"urlPattern":""},"responses":[{}]}]}"#),
            "dryrun responses file <input>: endpoint 0 has empty urlPattern"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("responses.json");
        std::fs::write(
            &path,
            r#"{"responses":[{"match":{"urlPattern":""},"responses":[{}]}]}"#,
        )
        .unwrap();
        assert_eq!(
            RecordedApi::load(&path).err().unwrap().to_string(),
            format!(
                "dryrun responses file {:?}: endpoint 0 has empty urlPattern",
                path.display().to_string()
            )
        );
        assert!(
            e(r#"{"responses":[{"match":{"urlPattern":"("},"responses":[{}]}]}"#)
                .starts_with("endpoint 0: invalid urlPattern \"(\"")
        );
        assert!(e("nope").starts_with("failed to parse dryrun responses file"));
    }
}
