//! Plans' refusals as tool errors: the wording is the plan's, only the code is decided here.

use super::{ErrorCode, ToolError};
use crate::aws::AwsCallError;
use crate::core::inputs::InputError;
use crate::core::plan::InputProblem;
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
