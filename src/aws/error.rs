//! AWS SDK failures, kept with their AWS error code and the IAM action that was attempted, and
//! the failures of building clients for a call's profile and region.
//!
//! Tools branch on `kind` (a missing policy is not an error, a denied read is). What a user reads
//! (the tool error's code, message and remediation, which names the exact IAM action to allow) is
//! worded in one place above `aws`: the error module's `from_aws`.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::core::inputs::InputError;
pub use crate::core::verdicts::AwsErrorKind;

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
}

/// Why no clients could be built for a call's profile and region (before any AWS call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsConfigError {
    /// The profile or region given is not a valid name.
    #[error(transparent)]
    InvalidInput(#[from] InputError),
    /// The SDK refused the application name (a bug: the name is a constant).
    #[error("the AWS application name was refused: {0}")]
    AppName(String),
    /// Neither the call, the flags nor the environment name a region.
    #[error("no AWS region is configured")]
    NoRegion,
    /// The config or credentials file could not be read to look the profile up.
    #[error("the AWS config files could not be read for profile `{profile}`: {message}")]
    ProfileFilesUnreadable { profile: String, message: String },
    /// The profile is in neither file; `known` lists the configured ones, sorted.
    #[error("the AWS profile `{profile}` does not exist")]
    UnknownProfile { profile: String, known: Vec<String> },
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
}
