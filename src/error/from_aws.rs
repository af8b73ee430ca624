//! AWS failures as tool errors: the error code, the message and the remediation, which names the
//! exact IAM action to allow. A failed AWS call ([`AwsCallError`]) and a failed account read kept
//! in a verdict ([`Unreadable`]) carry the same classification and are worded by one function.

use super::{ErrorCode, ToolError};
use crate::aws::{AwsCallError, AwsConfigError, AwsErrorKind};
use crate::core::verdicts::Unreadable;

impl AwsCallError {
    /// The tool error for this failure; `resource` (a repository, a prefix, "registry policy")
    /// is named in the message and the remediation when given.
    pub fn into_tool_error(self, resource: Option<&str>) -> ToolError {
        aws_tool_error(self.action, self.kind, self.code, &self.message, resource)
    }
}

impl From<AwsCallError> for ToolError {
    fn from(err: AwsCallError) -> Self {
        err.into_tool_error(None)
    }
}

impl Unreadable {
    /// The tool error for a read that failed, worded as the failed call itself would be.
    pub fn into_tool_error(self, resource: Option<&str>) -> ToolError {
        aws_tool_error(&self.action, self.kind, self.code, &self.message, resource)
    }
}

impl From<Unreadable> for ToolError {
    fn from(err: Unreadable) -> Self {
        err.into_tool_error(None)
    }
}

fn aws_tool_error(
    action: &str,
    kind: AwsErrorKind,
    aws_error_code: Option<String>,
    message: &str,
    resource: Option<&str>,
) -> ToolError {
    let on = resource.map(|r| format!(" on `{r}`")).unwrap_or_default();
    let (code, remediation) = match kind {
        AwsErrorKind::AccessDenied => (
            ErrorCode::AccessDenied,
            format!(
                "Allow the IAM action `{action}`{on} for the identity this server runs as \
                 (see the README's IAM section), then retry."
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
        message: format!("AWS call `{action}`{on} failed: {message}"),
        remediation,
        aws_error_code,
        details: None,
    }
}

impl From<AwsConfigError> for ToolError {
    fn from(err: AwsConfigError) -> Self {
        match err {
            AwsConfigError::InvalidInput(e) => ToolError::from(e),
            AwsConfigError::AppName(e) => {
                ToolError::new(ErrorCode::Internal, e, "Report this bug.")
            }
            AwsConfigError::NoRegion => ToolError::new(
                ErrorCode::NoRegion,
                "No AWS region is configured.",
                "Pass `aws_region` (e.g. \"us-east-1\"), start the server with `--region`, or set \
                 AWS_REGION; HealthOmics and its ECR repositories must be in the same region.",
            ),
            AwsConfigError::ProfileFilesUnreadable { profile, message } => ToolError::new(
                ErrorCode::NoCredentials,
                format!(
                    "The AWS config files could not be read for profile `{profile}`: {message}"
                ),
                "Fix ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE).",
            ),
            AwsConfigError::UnknownProfile { profile, known } => ToolError::new(
                ErrorCode::NoCredentials,
                format!("The AWS profile `{profile}` does not exist. Nothing was done."),
                if known.is_empty() {
                    "No profiles are configured: run `aws configure --profile NAME`, or leave aws_profile out to use the default credentials.".to_owned()
                } else {
                    format!(
                        "Pass one of the configured profiles ({}), or leave aws_profile out to use the default credentials.",
                        known.join(", ")
                    )
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied() -> AwsCallError {
        AwsCallError {
            action: "ecr:GetRegistryPolicy",
            code: Some("AccessDeniedException".into()),
            message: "AccessDeniedException: not allowed".into(),
            kind: AwsErrorKind::AccessDenied,
        }
    }

    #[test]
    fn access_denied_remediation_names_the_action_and_resource() {
        let tool = denied().into_tool_error(Some("registry"));
        assert_eq!(tool.code, ErrorCode::AccessDenied);
        assert_eq!(
            tool.message,
            "AWS call `ecr:GetRegistryPolicy` on `registry` failed: AccessDeniedException: not allowed"
        );
        assert!(
            tool.remediation
                .contains("`ecr:GetRegistryPolicy` on `registry`")
        );
        assert_eq!(
            tool.aws_error_code.as_deref(),
            Some("AccessDeniedException")
        );
    }

    #[test]
    fn every_kind_has_its_code() {
        let table = [
            (AwsErrorKind::AccessDenied, ErrorCode::AccessDenied),
            (AwsErrorKind::NotFound, ErrorCode::NotFound),
            (AwsErrorKind::Throttled, ErrorCode::Throttled),
            (AwsErrorKind::InvalidParameter, ErrorCode::InvalidInput),
            (AwsErrorKind::Conflict, ErrorCode::Conflict),
            (AwsErrorKind::NoCredentials, ErrorCode::NoCredentials),
            (AwsErrorKind::Unreachable, ErrorCode::AwsUnreachable),
            (AwsErrorKind::TimedOut, ErrorCode::Timeout),
            (AwsErrorKind::Other, ErrorCode::AwsError),
        ];
        for (kind, code) in table {
            let err = AwsCallError { kind, ..denied() };
            assert_eq!(ToolError::from(err).code, code, "{kind:?}");
        }
    }

    #[test]
    fn an_unreadable_read_is_worded_as_the_failed_call() {
        let call = denied().into_tool_error(Some("registry policy"));
        let read = Unreadable {
            action: "ecr:GetRegistryPolicy".into(),
            kind: AwsErrorKind::AccessDenied,
            code: Some("AccessDeniedException".into()),
            message: "AccessDeniedException: not allowed".into(),
        }
        .into_tool_error(Some("registry policy"));
        assert_eq!(
            serde_json::to_value(&call).ok(),
            serde_json::to_value(&read).ok()
        );
    }

    #[test]
    fn config_errors_say_what_to_configure() {
        let unknown = ToolError::from(AwsConfigError::UnknownProfile {
            profile: "dev".into(),
            known: vec!["default".into(), "prod".into()],
        });
        assert_eq!(unknown.code, ErrorCode::NoCredentials);
        assert_eq!(
            unknown.message,
            "The AWS profile `dev` does not exist. Nothing was done."
        );
        assert!(unknown.remediation.contains("(default, prod)"));
        assert_eq!(
            ToolError::from(AwsConfigError::NoRegion).code,
            ErrorCode::NoRegion
        );
    }
}
