//! Reading a HyperFleet API response body within `clients.hyperfleet_api.max_response_bytes`,
//! and the typed errors of one attempt.

use super::http::describe;
use crate::ports::ErrorKind;

/// Why one attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// No usable answer (connection, timeout, a broken body), or a request that could not be
    /// built (an unreadable token file may be rewritten meanwhile): retried.
    #[error("{message}")]
    Transport { kind: ErrorKind, message: String },
    /// The answer is larger than allowed: not retried, the server would answer the same.
    #[error(transparent)]
    TooLarge(#[from] ResponseTooLarge),
}

impl AttemptError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, AttemptError::Transport { .. })
    }

    /// The classification of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AttemptError::Transport { kind, .. } => *kind,
            AttemptError::TooLarge(_) => ErrorKind::Failed,
        }
    }

    /// A request that got no usable answer from reqwest.
    pub fn unanswered(e: reqwest::Error) -> Self {
        AttemptError::Transport {
            kind: if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            },
            message: describe(e),
        }
    }
}

/// A response body over `clients.hyperfleet_api.max_response_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "response body of {method} {url} exceeds the limit of {limit} bytes{} (clients.hyperfleet_api.max_response_bytes)",
    .content_length.map(|n| format!(" (Content-Length: {n})")).unwrap_or_default()
)]
pub struct ResponseTooLarge {
    pub method: String,
    /// Without userinfo: the error ends up in logs and status reports.
    pub url: String,
    pub limit: u64,
    /// The announced length, when the server sent one.
    pub content_length: Option<u64>,
}

/// `url` without a user name or password.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Reads `resp`'s body chunk by chunk, failing as soon as it passes `limit` (and before
/// reading anything when `Content-Length` already says so), so an oversized answer costs at
/// most `limit` bytes of memory.
pub(super) async fn read_limited(
    mut resp: reqwest::Response,
    method: &str,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>, AttemptError> {
    let too_large = |content_length| ResponseTooLarge {
        method: method.to_string(),
        url: without_credentials(url),
        limit,
        content_length,
    };
    let announced = resp.content_length();
    if let Some(n) = announced.filter(|n| *n > limit) {
        return Err(too_large(Some(n)).into());
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(0) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(AttemptError::unanswered)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large(announced).into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
