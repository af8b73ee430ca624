//! Registry failures as tool errors: the error code for each kind, the registry's own account of
//! what failed as the message, and the fix for each kind as the remediation.

use super::{ErrorCode, ToolError};
use crate::oci::OciError;

impl From<OciError> for ToolError {
    fn from(err: OciError) -> Self {
        let code = match &err {
            OciError::NotFound { .. } => ErrorCode::NotFound,
            OciError::Unauthorized { .. } | OciError::Denied { .. } => ErrorCode::AccessDenied,
            OciError::RateLimited { .. } => ErrorCode::Throttled,
            OciError::PlatformNotFound { .. }
            | OciError::UnsupportedMediaType { .. }
            | OciError::InvalidInput(_) => ErrorCode::InvalidInput,
            OciError::DigestMismatch { .. } => ErrorCode::VerificationFailed,
            OciError::Network { .. } => ErrorCode::AwsUnreachable,
            OciError::Registry { .. } | OciError::Protocol { .. } => ErrorCode::AwsError,
        };
        ToolError::new(code, err.to_string(), remediation(&err))
    }
}

/// What the user can do about this error, in one sentence; a refusal and a server error get
/// their own advice, since neither is fixed by checking the network.
fn remediation(err: &OciError) -> &'static str {
    match err {
        OciError::NotFound { .. } => "Check the image name, tag or digest on the registry.",
        OciError::Unauthorized { .. } => {
            "Give credentials the registry accepts (source_credential_arn: a Secrets Manager secret with username and accessToken)."
        }
        OciError::Denied { .. } => {
            "The credentials are valid but not allowed this action: grant it (for ECR, the IAM or repository policy action named in the message), or use credentials that have it."
        }
        OciError::RateLimited { .. } => {
            "The registry is rate limiting; wait and retry, or pass source_credential_arn (authenticated pulls have higher limits)."
        }
        OciError::Registry { status, .. } if *status >= 500 => {
            "The registry failed on its side and still did after retries; retry later, and check the registry's status page if it persists."
        }
        OciError::Registry { .. } | OciError::Protocol { .. } => {
            "The registry refused the request as sent; retry, and report it if it persists."
        }
        OciError::PlatformNotFound { .. } => {
            "HealthOmics runs linux/amd64 images only: use an image built for amd64 (or a multi-arch one with an amd64 entry)."
        }
        OciError::UnsupportedMediaType { .. } => "Use an image in Docker v2 or OCI format.",
        OciError::DigestMismatch { .. } => {
            "Retry; the content changed or was corrupted in transit."
        }
        OciError::Network { .. } => {
            "Check network access to the registry (and --registry-mirror if you use one), then retry."
        }
        OciError::InvalidInput(_) => "Correct the value named in the message.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_code_and_fix() {
        let registry = String::from("quay.io");
        let message = String::from("m");
        let table: Vec<(OciError, ErrorCode, &str)> = vec![
            (
                OciError::NotFound {
                    registry: registry.clone(),
                    what: "manifest quay.io/a:1".into(),
                    message: message.clone(),
                },
                ErrorCode::NotFound,
                "Check the image name",
            ),
            (
                OciError::Unauthorized {
                    registry: registry.clone(),
                    message: message.clone(),
                },
                ErrorCode::AccessDenied,
                "source_credential_arn",
            ),
            (
                OciError::RateLimited {
                    registry: registry.clone(),
                    message: message.clone(),
                },
                ErrorCode::Throttled,
                "rate limiting",
            ),
            (
                OciError::DigestMismatch {
                    what: "blob".into(),
                    expected: "a".into(),
                    actual: "b".into(),
                },
                ErrorCode::VerificationFailed,
                "corrupted in transit",
            ),
            (
                OciError::Network {
                    registry: registry.clone(),
                    message: "reset".into(),
                },
                ErrorCode::AwsUnreachable,
                "network access",
            ),
            (
                OciError::InvalidInput("bad mirror".into()),
                ErrorCode::InvalidInput,
                "Correct the value",
            ),
        ];
        for (err, code, fix) in table {
            let message = err.to_string();
            let tool = ToolError::from(err);
            assert_eq!(tool.code, code, "{message}");
            assert_eq!(tool.message, message);
            assert!(tool.remediation.contains(fix), "{}", tool.remediation);
            assert!(tool.aws_error_code.is_none());
        }
    }

    #[test]
    fn refusals_and_server_errors_are_not_network_trouble() {
        let body = r#"{"errors":[{"code":"DENIED","message":"User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ecr:PutImage"}]}"#;
        let denied = ToolError::from(OciError::from_status(
            "1.dkr.ecr.us-east-1.amazonaws.com",
            "manifest tools/app:1",
            403,
            body.as_bytes(),
        ));
        assert_eq!(denied.code, ErrorCode::AccessDenied);
        assert!(!denied.remediation.to_lowercase().contains("network"));
        assert!(denied.remediation.contains("policy"));

        let server = ToolError::from(OciError::from_status(
            "quay.io",
            "blob sha256:ab",
            500,
            b"internal",
        ));
        assert_eq!(server.code, ErrorCode::AwsError);
        assert!(!server.remediation.to_lowercase().contains("network"));
        assert!(server.remediation.contains("failed on its side"));
        let client = ToolError::from(OciError::from_status(
            "quay.io",
            "blob sha256:ab",
            400,
            b"bad",
        ));
        assert!(client.remediation.contains("refused the request as sent"));
    }
}
