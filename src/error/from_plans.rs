//! Plans' refusals as tool errors: the wording is the plan's, only the code is decided here.

use super::{ErrorCode, ToolError};
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
