//! Plans' refusals as tool errors: the wording is the plan's, only the code is decided here.

use super::{ErrorCode, ToolError};
use crate::aws::AwsCallError;
use crate::core::inputs::InputError;
use crate::core::plan::InputProblem;
use crate::core::plan::clone::{CloneRefusal, PullFailure};
use crate::core::plan::create_ptc::PtcPlanError;

impl From<InputError> for ToolError {
    fn from(err: InputError) -> Self {
        ToolError::invalid_input(err.to_string(), err.hint)
    }
}

impl From<InputProblem> for ToolError {
    fn from(problem: InputProblem) -> Self {
        ToolError::invalid_input(problem.message, problem.remediation)
    }
}

impl From<CloneRefusal> for ToolError {
    fn from(refusal: CloneRefusal) -> Self {
        ToolError::invalid_input(refusal.to_string(), refusal.remediation())
    }
}

/// The upstream has no such image (`not_found`), or the cache failed to pull it.
impl From<PullFailure> for ToolError {
    fn from(failure: PullFailure) -> Self {
        let code = match failure.not_found() {
            true => ErrorCode::NotFound,
            false => ErrorCode::AwsError,
        };
        ToolError::new(code, failure.to_string(), PullFailure::REMEDIATION)
    }
}

impl From<PtcPlanError> for ToolError {
    fn from(err: PtcPlanError) -> Self {
        let code = match &err {
            PtcPlanError::Input { .. }
            | PtcPlanError::SecretNotForCache { .. }
            | PtcPlanError::SecretDeleted { .. } => ErrorCode::InvalidInput,
            PtcPlanError::SecretNotFound { .. } => ErrorCode::NotFound,
            PtcPlanError::SecretTaken { .. }
            | PtcPlanError::RuleDiffers { .. }
            | PtcPlanError::Blocked { .. } => ErrorCode::Conflict,
            PtcPlanError::RegistryPolicyInvalid(_) | PtcPlanError::TemplatePolicyInvalid { .. } => {
                ErrorCode::InvalidPolicy
            }
            PtcPlanError::RegistryPolicyUnreadable => ErrorCode::AwsError,
            PtcPlanError::Merge(_) => ErrorCode::Internal,
        };
        ToolError::new(code, err.to_string(), err.remediation())
    }
}

impl PtcPlanError {
    /// The refusal as CreatePTC reports it: a registry policy the plan refused because it could
    /// not be read is reported as the failed read (`registry_read`), which names the IAM action.
    pub fn into_tool_error(self, registry_read: Option<AwsCallError>) -> ToolError {
        match (self, registry_read) {
            (PtcPlanError::RegistryPolicyUnreadable, Some(read)) => {
                read.into_tool_error(Some("registry policy"))
            }
            (err, _) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsErrorKind;

    #[test]
    fn a_failed_pull_is_not_found_only_when_the_upstream_has_no_such_image() {
        let failure = |code: &str| PullFailure {
            prefix: "quay".into(),
            image: "quay.io/a/b:1".into(),
            code: code.into(),
            reason: "r".into(),
        };
        for (code, expected) in [
            ("ImageNotFound", ErrorCode::NotFound),
            ("UpstreamUnavailable", ErrorCode::AwsError),
        ] {
            let err = ToolError::from(failure(code));
            assert_eq!(err.code, expected, "{code}");
            assert_eq!(err.message, failure(code).to_string());
            assert_eq!(err.remediation, PullFailure::REMEDIATION);
        }
    }

    /// CreatePTC's refusal of an unreadable registry policy names the read that failed, so the
    /// caller learns which IAM action to allow; without the read it is the plan's own wording.
    #[test]
    fn an_unreadable_registry_policy_is_reported_as_its_read() {
        let read = AwsCallError {
            action: "ecr:GetRegistryPolicy",
            code: Some("AccessDeniedException".into()),
            message: "AccessDeniedException: not allowed".into(),
            kind: AwsErrorKind::AccessDenied,
        };
        let reported = PtcPlanError::RegistryPolicyUnreadable.into_tool_error(Some(read));
        assert_eq!(reported.code, ErrorCode::AccessDenied);
        assert_eq!(
            reported.message,
            "AWS call `ecr:GetRegistryPolicy` on `registry policy` failed: AccessDeniedException: not allowed"
        );
        let unread = PtcPlanError::RegistryPolicyUnreadable.into_tool_error(None);
        assert_eq!(unread.code, ErrorCode::AwsError);
        assert_eq!(
            unread.message,
            "The registry permissions policy could not be read. Nothing was changed."
        );
    }
}
