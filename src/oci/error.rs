//! Registry failures, sorted by what the caller can do about them.
//!
//! The error seam above `oci` turns these into `not_found`, `access_denied`, ... tool results
//! with a remediation each, so the variants follow the fixes (pull a different reference, supply
//! credentials, retry later), not HTTP status codes.
//! No variant ever carries a credential or token: messages come from registry responses and URLs.

use oci_client::errors::{OciDistributionError, OciErrorCode};

/// Longest registry message kept in an error, so an HTML error page cannot flood a tool result.
const MESSAGE_MAX: usize = 300;

/// A registry operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OciError {
    /// The registry has no such manifest, repository or blob (404 / `MANIFEST_UNKNOWN`).
    #[error("{what} was not found on {registry}: {message}")]
    NotFound {
        registry: String,
        what: String,
        message: String,
    },
    /// 401: no credentials, wrong credentials, or an expired token.
    #[error("{registry} refused the credentials (401 unauthorized): {message}")]
    Unauthorized { registry: String, message: String },
    /// 403: the credentials are valid but a policy refuses the action on `what`.
    #[error("permission refused by {registry} for {what} (HTTP 403): {message}")]
    Denied {
        registry: String,
        what: String,
        message: String,
    },
    /// 429: the registry's pull rate limit (Docker Hub's is the common one).
    #[error("{registry} is rate limiting requests (429): {message}")]
    RateLimited { registry: String, message: String },
    /// A manifest or layer type this code does not handle (schema 1, artifacts, zstd layers).
    #[error("unsupported media type `{media_type}`: {message}")]
    UnsupportedMediaType { media_type: String, message: String },
    /// Content whose sha256 is not the one it was addressed by.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// The image has no entry for the wanted platform; raised before anything is written.
    #[error(
        "{reference} has no {wanted} image (it has: {available}); HealthOmics runs linux/amd64 images only"
    )]
    PlatformNotFound {
        reference: String,
        wanted: String,
        available: String,
    },
    /// Connection refused, reset, timed out, TLS failure, body cut short.
    #[error("network error talking to {registry}: {message}")]
    Network { registry: String, message: String },
    /// Any other non-success answer; a 5xx is the registry's own failure, reported as such.
    #[error("{}", registry_failure(registry, what, *status, message))]
    Registry {
        registry: String,
        what: String,
        status: u16,
        message: String,
    },
    /// A reply that breaks the distribution protocol (bad JSON, missing header).
    #[error("{registry} sent an invalid response: {message}")]
    Protocol { registry: String, message: String },
    /// Bad input from our caller (mirror URL, target URL, limits).
    #[error("{0}")]
    InvalidInput(String),
}

impl OciError {
    /// True when retrying the same request may succeed (network trouble, 5xx, 429); what
    /// [`crate::oci::retry`] retries.
    pub fn is_transient(&self) -> bool {
        match self {
            OciError::Network { .. } | OciError::RateLimited { .. } => true,
            OciError::Registry { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn protocol(registry: &str, message: impl Into<String>) -> Self {
        OciError::Protocol {
            registry: registry.to_owned(),
            message: clip(&message.into()),
        }
    }

    /// Builds the error for a non-success status, reading the distribution error envelope
    /// (`{"errors":[{"code","message"}]}`) when the body has one.
    pub(crate) fn from_status(registry: &str, what: &str, status: u16, body: &[u8]) -> Self {
        let envelope = serde_json::from_slice::<serde_json::Value>(body).ok();
        let first = envelope
            .as_ref()
            .and_then(|v| v.get("errors"))
            .and_then(|e| e.as_array())
            .and_then(|a| a.first());
        let code = first
            .and_then(|e| e.get("code"))
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_ascii_uppercase();
        let message = match first {
            Some(e) => {
                let text = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                if code.is_empty() {
                    text.to_owned()
                } else if text.is_empty() {
                    code.clone()
                } else {
                    format!("{code}: {text}")
                }
            }
            None => String::from_utf8_lossy(body).trim().to_owned(),
        };
        let message = if message.is_empty() {
            format!("HTTP {status} with an empty body")
        } else {
            clip(&message)
        };
        let registry = registry.to_owned();
        match (status, code.as_str()) {
            (_, "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN" | "NOT_FOUND") | (404, _) => {
                OciError::NotFound {
                    registry,
                    what: what.to_owned(),
                    message,
                }
            }
            (401, _) | (_, "UNAUTHORIZED") => OciError::Unauthorized { registry, message },
            (403, _) | (_, "DENIED") => OciError::Denied {
                registry,
                what: what.to_owned(),
                message,
            },
            (429, _) | (_, "TOOMANYREQUESTS") => OciError::RateLimited { registry, message },
            (415, _) | (_, "MANIFEST_INVALID" | "UNSUPPORTED") if status < 500 => {
                OciError::UnsupportedMediaType {
                    media_type: what.to_owned(),
                    message,
                }
            }
            _ => OciError::Registry {
                registry,
                what: what.to_owned(),
                status,
                message,
            },
        }
    }

    pub(crate) fn from_reqwest(registry: &str, err: &reqwest::Error) -> Self {
        if let Some(status) = err.status() {
            return OciError::from_status(registry, "the request", status.as_u16(), &[]);
        }
        let mut message = error_chain(err);
        // Upload state tokens and presigned storage URLs live in the query: keep them out.
        if let Some(url) = err.url() {
            message = message.replace(url.as_str(), &without_query(url.as_str()));
        }
        OciError::Network {
            registry: registry.to_owned(),
            message: clip(&message),
        }
    }

    /// Maps an oci-client error, naming `what` (e.g. "manifest quay.io/x:1") in not-found errors.
    pub(crate) fn from_oci(registry: &str, what: &str, err: OciDistributionError) -> Self {
        let registry_s = registry.to_owned();
        match err {
            OciDistributionError::UnauthorizedError { url } => OciError::Unauthorized {
                registry: registry_s,
                message: format!(
                    "no access to {} with the credentials given",
                    without_query(&url)
                ),
            },
            OciDistributionError::AuthenticationFailure(reason) => OciError::Unauthorized {
                registry: registry_s,
                message: clip(&format!("the token request failed: {}", reason.trim())),
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let first = envelope.errors.first();
                let message = first
                    .map(|e| {
                        let text = if e.message.is_empty() {
                            format!("{:?}", e.code)
                        } else {
                            e.message.clone()
                        };
                        clip(&text)
                    })
                    .unwrap_or_else(|| "no error detail".into());
                match first.map(|e| &e.code) {
                    Some(
                        OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound,
                    ) => OciError::NotFound {
                        registry: registry_s,
                        what: what.to_owned(),
                        message,
                    },
                    Some(OciErrorCode::Unauthorized) => OciError::Unauthorized {
                        registry: registry_s,
                        message,
                    },
                    Some(OciErrorCode::Denied) => OciError::Denied {
                        registry: registry_s,
                        what: what.to_owned(),
                        message,
                    },
                    Some(OciErrorCode::Toomanyrequests) => OciError::RateLimited {
                        registry: registry_s,
                        message,
                    },
                    Some(OciErrorCode::Unsupported | OciErrorCode::ManifestInvalid) => {
                        OciError::UnsupportedMediaType {
                            media_type: what.to_owned(),
                            message,
                        }
                    }
                    _ => OciError::Registry {
                        registry: registry_s,
                        what: what.to_owned(),
                        status: 400,
                        message,
                    },
                }
            }
            OciDistributionError::ServerError { code, message, .. } => {
                OciError::from_status(registry, what, code, message.as_bytes())
            }
            OciDistributionError::RequestError(e) => OciError::from_reqwest(registry, &e),
            OciDistributionError::DigestError(e) => digest_error(what, &e),
            OciDistributionError::UnsupportedMediaTypeError(media_type) => {
                OciError::UnsupportedMediaType {
                    media_type,
                    message: "not an image manifest, manifest list or index".into(),
                }
            }
            OciDistributionError::UnsupportedSchemaVersionError(v) => {
                OciError::UnsupportedMediaType {
                    media_type: format!("schemaVersion {v}"),
                    message: "Docker image manifest schema 1 is obsolete; re-push the image with a current Docker or buildx".into(),
                }
            }
            OciDistributionError::IoError(e) => OciError::from_io(registry, what, &e),
            other => OciError::protocol(registry, other.to_string()),
        }
    }

    /// Maps a failure inside a blob stream: oci-client reports a digest mismatch as an I/O error.
    pub(crate) fn from_io(registry: &str, what: &str, err: &std::io::Error) -> Self {
        if let Some(inner) = err.get_ref()
            && let Some(d) = inner.downcast_ref::<oci_client::errors::DigestError>()
        {
            return digest_error(what, d);
        }
        if let Some(inner) = err.get_ref()
            && let Some(r) = inner.downcast_ref::<reqwest::Error>()
        {
            return OciError::from_reqwest(registry, r);
        }
        OciError::Network {
            registry: registry.to_owned(),
            message: clip(&error_chain(err)),
        }
    }
}

/// The message of [`OciError::Registry`]: a 5xx says the registry failed, not the caller.
fn registry_failure(registry: &str, what: &str, status: u16, message: &str) -> String {
    if status >= 500 {
        format!("upstream server error: {registry} failed on {what} (HTTP {status}): {message}")
    } else {
        format!("{registry} rejected {what} (HTTP {status}): {message}")
    }
}

fn digest_error(what: &str, err: &oci_client::errors::DigestError) -> OciError {
    match err {
        oci_client::errors::DigestError::VerificationError { expected, actual } => {
            OciError::DigestMismatch {
                what: what.to_owned(),
                expected: expected.clone(),
                actual: actual.clone(),
            }
        }
        other => OciError::DigestMismatch {
            what: what.to_owned(),
            expected: "a sha256 digest".into(),
            actual: other.to_string(),
        },
    }
}

/// The error and its sources on one line: reqwest's top-level message alone says only
/// "error sending request".
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// A URL without its query string (signatures, upload state).
pub(crate) fn without_query(url: &str) -> String {
    url.split_once('?').map_or(url, |(base, _)| base).to_owned()
}

/// Shortens a registry message on a character boundary.
pub(crate) fn clip(message: &str) -> String {
    let message = message.trim();
    if message.len() <= MESSAGE_MAX {
        return message.to_owned();
    }
    let mut end = MESSAGE_MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_envelope_table() {
        let env = |code: &str, msg: &str| {
            format!(r#"{{"errors":[{{"code":"{code}","message":"{msg}","detail":null}}]}}"#)
        };
        let cases: Vec<(u16, String, &str)> = vec![
            (
                404,
                env("MANIFEST_UNKNOWN", "manifest unknown"),
                "not_found",
            ),
            (404, String::new(), "not_found"),
            (
                400,
                env("NAME_UNKNOWN", "repository name not known"),
                "not_found",
            ),
            (
                401,
                env("UNAUTHORIZED", "authentication required"),
                "unauthorized",
            ),
            (
                403,
                env("DENIED", "requested access to the resource is denied"),
                "denied",
            ),
            (
                429,
                env("TOOMANYREQUESTS", "pull rate limit"),
                "rate_limited",
            ),
            (400, env("MANIFEST_INVALID", "bad"), "unsupported"),
            (500, "<html>boom</html>".into(), "registry"),
            (502, String::new(), "registry"),
        ];
        for (status, body, want) in cases {
            let e =
                OciError::from_status("quay.io", "manifest quay.io/a:1", status, body.as_bytes());
            let got = match &e {
                OciError::NotFound { .. } => "not_found",
                OciError::Unauthorized { .. } => "unauthorized",
                OciError::Denied { .. } => "denied",
                OciError::RateLimited { .. } => "rate_limited",
                OciError::UnsupportedMediaType { .. } => "unsupported",
                OciError::Registry { .. } => "registry",
                _ => "other",
            };
            assert_eq!(got, want, "{status} {body}: {e}");
        }
        let e = OciError::from_status("r", "x", 403, env("DENIED", "not allowed here").as_bytes());
        assert!(e.to_string().contains("DENIED: not allowed here"), "{e}");
        assert!(OciError::from_status("r", "x", 503, b"").is_transient());
        assert!(!OciError::from_status("r", "x", 404, b"").is_transient());
    }

    #[test]
    fn retry_classification() {
        let network = OciError::Network {
            registry: "r".into(),
            message: "connection refused".into(),
        };
        let digest = OciError::DigestMismatch {
            what: "blob x".into(),
            expected: "a".into(),
            actual: "b".into(),
        };
        let cases: Vec<(OciError, bool)> = vec![
            (network, true),
            (OciError::from_status("r", "x", 429, b""), true),
            (OciError::from_status("r", "x", 500, b""), true),
            (OciError::from_status("r", "x", 502, b""), true),
            (OciError::from_status("r", "x", 503, b"<html>"), true),
            (OciError::from_status("r", "x", 400, b""), false),
            (OciError::from_status("r", "x", 401, b""), false),
            (OciError::from_status("r", "x", 403, b""), false),
            (OciError::from_status("r", "x", 404, b""), false),
            (digest, false),
            (OciError::InvalidInput("bad".into()), false),
        ];
        for (error, transient) in cases {
            assert_eq!(error.is_transient(), transient, "{error}");
        }
    }

    #[test]
    fn refusals_and_server_errors_are_not_network_trouble() {
        let body = r#"{"errors":[{"code":"DENIED","message":"User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ecr:PutImage"}]}"#;
        let denied = OciError::from_status(
            "1.dkr.ecr.us-east-1.amazonaws.com",
            "manifest tools/app:1",
            403,
            body.as_bytes(),
        );
        let text = denied.to_string();
        assert!(matches!(denied, OciError::Denied { .. }), "{denied:?}");
        for part in [
            "permission refused",
            "1.dkr.ecr.us-east-1.amazonaws.com",
            "manifest tools/app:1",
            "HTTP 403",
            "ecr:PutImage",
        ] {
            assert!(text.contains(part), "{part} missing in: {text}");
        }

        let server = OciError::from_status("quay.io", "blob sha256:ab", 500, b"internal");
        let text = server.to_string();
        assert!(
            text.starts_with("upstream server error: quay.io failed on blob sha256:ab (HTTP 500)"),
            "{text}"
        );
        let client = OciError::from_status("quay.io", "blob sha256:ab", 400, b"bad");
        assert!(
            client
                .to_string()
                .contains("rejected blob sha256:ab (HTTP 400)")
        );
    }

    #[test]
    fn clip_keeps_char_boundaries() {
        let long = "é".repeat(400);
        let c = clip(&long);
        assert!(c.len() <= MESSAGE_MAX + '…'.len_utf8());
        assert!(c.ends_with('…'));
        assert_eq!(clip("  short "), "short");
    }
}
