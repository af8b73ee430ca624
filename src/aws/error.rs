//! AWS SDK failures, kept with their AWS error code and the IAM action that was attempted.
//!
//! Tools branch on `kind` (a missing policy is not an error, a denied read is); users read the
//! remediation, which names the exact IAM action to allow.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{ErrorCode, ToolError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    AccessDenied,
    NotFound,
    Throttled,
    InvalidParameter,
    Conflict,
    NoCredentials,
    Unreachable,
    /// No answer within the configured timeout (`--aws-timeout`).
    TimedOut,
    Other,
}

/// One failed AWS call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{action} failed: {message}")]
pub struct AwsCallError {
    /// The IAM action of the call, e.g. `ecr:GetRepositoryPolicy`.
    pub action: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub kind: AwsErrorKind,
}

impl AwsCallError {
    pub fn from_sdk<E, R>(action: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let code = err.code().map(str::to_owned);
        let aws_message = err.message().map(str::to_owned);
        let kind = match &err {
            SdkError::ServiceError(_) => classify_code(code.as_deref().unwrap_or_default()),
            SdkError::TimeoutError(_) => AwsErrorKind::TimedOut,
            _ => AwsErrorKind::Other,
        };
        let context = DisplayErrorContext(&err).to_string();
        let kind = match kind {
            AwsErrorKind::Other if mentions_credentials(&context) => AwsErrorKind::NoCredentials,
            AwsErrorKind::Other if matches!(err, SdkError::DispatchFailure(_)) => {
                AwsErrorKind::Unreachable
            }
            other => other,
        };
        let message = match (&code, aws_message) {
            (Some(code), Some(text)) => format!("{code}: {text}"),
            (Some(code), None) => code.clone(),
            _ => context,
        };
        Self {
            action,
            code,
            message,
            kind,
        }
    }

    /// A call that succeeded but answered without what it must carry (an account id, a token).
    pub fn incomplete_response(action: &'static str, missing: &str) -> Self {
        Self {
            action,
            code: None,
            message: format!("the response carried no {missing}"),
            kind: AwsErrorKind::Other,
        }
    }

    /// True for the codes ECR uses for "this thing does not exist", e.g.
    /// `RepositoryPolicyNotFoundException`.
    pub fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub fn into_tool_error(self, resource: Option<&str>) -> ToolError {
        let on = resource.map(|r| format!(" on `{r}`")).unwrap_or_default();
        let (code, remediation) = match self.kind {
            AwsErrorKind::AccessDenied => (
                ErrorCode::AccessDenied,
                format!(
                    "Allow the IAM action `{}`{on} for the identity this server runs as \
                     (see the README's IAM section), then retry.",
                    self.action
                ),
            ),
            AwsErrorKind::Throttled => (
                ErrorCode::Throttled,
                "AWS throttled the request even after retries with backoff; wait a few seconds \
                 and retry, or raise AWS_MAX_ATTEMPTS."
                    .to_owned(),
            ),
            AwsErrorKind::NotFound => (
                ErrorCode::NotFound,
                format!("Check the name{on} and the region; the resource does not exist there."),
            ),
            AwsErrorKind::InvalidParameter => (
                ErrorCode::InvalidInput,
                "Correct the value AWS rejected (see the message) and retry.".to_owned(),
            ),
            AwsErrorKind::Conflict => (
                ErrorCode::Conflict,
                "The resource already exists in a different form; inspect it before retrying."
                    .to_owned(),
            ),
            AwsErrorKind::NoCredentials => (
                ErrorCode::NoCredentials,
                "Configure AWS credentials: pass `aws_profile` or start the server with \
                 `--profile`, run `aws sso login` for SSO profiles, or set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY."
                    .to_owned(),
            ),
            AwsErrorKind::Unreachable => (
                ErrorCode::AwsUnreachable,
                "Check network access to the AWS endpoint for this region (and AWS_ENDPOINT_URL \
                 if it is set), then retry."
                    .to_owned(),
            ),
            AwsErrorKind::TimedOut => (
                ErrorCode::Timeout,
                "AWS did not answer in time (the server's --aws-timeout and \
                 --aws-attempt-timeout). A write may still have reached AWS: run the same tool \
                 again (the mutating tools are idempotent) or check the state with \
                 ValidateHealthOmicsECRConfig."
                    .to_owned(),
            ),
            AwsErrorKind::Other => (
                ErrorCode::AwsError,
                "See the AWS message; retry if it looks transient.".to_owned(),
            ),
        };
        ToolError {
            code,
            message: format!("AWS call `{}`{on} failed: {}", self.action, self.message),
            remediation,
            aws_error_code: self.code,
            details: None,
        }
    }
}

impl From<&AwsCallError> for crate::core::account::FailedRead {
    fn from(err: &AwsCallError) -> Self {
        use crate::core::account::FailedReadKind;
        Self {
            action: err.action.to_owned(),
            kind: match err.kind {
                AwsErrorKind::AccessDenied => FailedReadKind::AccessDenied,
                AwsErrorKind::NotFound => FailedReadKind::NotFound,
                _ => FailedReadKind::Other,
            },
            message: err.message.clone(),
        }
    }
}

impl From<AwsCallError> for ToolError {
    fn from(err: AwsCallError) -> Self {
        err.into_tool_error(None)
    }
}

fn classify_code(code: &str) -> AwsErrorKind {
    match code {
        "AccessDeniedException"
        | "AccessDenied"
        | "UnauthorizedOperation"
        | "UnauthorizedException" => AwsErrorKind::AccessDenied,
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "LimitExceededException" => AwsErrorKind::Throttled,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch" => AwsErrorKind::NoCredentials,
        "InvalidParameterException"
        | "ValidationException"
        | "InvalidParameterValueException"
        | "InvalidRequestException" => AwsErrorKind::InvalidParameter,
        "ConflictException" => AwsErrorKind::Conflict,
        c if c.ends_with("AlreadyExistsException") => AwsErrorKind::Conflict,
        c if c.ends_with("NotFoundException") || c == "NoSuchEntity" => AwsErrorKind::NotFound,
        _ => AwsErrorKind::Other,
    }
}

fn mentions_credentials(context: &str) -> bool {
    let lower = context.to_ascii_lowercase();
    lower.contains("no credentials") || lower.contains("credentials provider")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        let table = [
            ("AccessDeniedException", AwsErrorKind::AccessDenied),
            ("AccessDenied", AwsErrorKind::AccessDenied),
            ("ThrottlingException", AwsErrorKind::Throttled),
            ("RepositoryPolicyNotFoundException", AwsErrorKind::NotFound),
            ("TemplateAlreadyExistsException", AwsErrorKind::Conflict),
            ("ExpiredTokenException", AwsErrorKind::NoCredentials),
            ("InvalidParameterException", AwsErrorKind::InvalidParameter),
            ("ServerException", AwsErrorKind::Other),
        ];
        for (code, kind) in table {
            assert_eq!(classify_code(code), kind, "{code}");
        }
    }

    #[test]
    fn access_denied_remediation_names_the_action_and_resource() {
        let err = AwsCallError {
            action: "ecr:GetRegistryPolicy",
            code: Some("AccessDeniedException".into()),
            message: "AccessDeniedException: not allowed".into(),
            kind: AwsErrorKind::AccessDenied,
        };
        let tool = err.into_tool_error(Some("registry"));
        assert_eq!(tool.code, ErrorCode::AccessDenied);
        assert!(
            tool.remediation
                .contains("`ecr:GetRegistryPolicy` on `registry`")
        );
        assert_eq!(
            tool.aws_error_code.as_deref(),
            Some("AccessDeniedException")
        );
    }
}
