//! The one error type every tool result is rendered from, and the one seam where I/O errors
//! become tool errors.
//!
//! A tool failure the caller can act on is returned as an MCP tool result with `isError: true`
//! (never a JSON-RPC error), so an assistant can read what failed, why, and the exact fix. The
//! structured part is always `{"error": {code, message, remediation, ...}}`.
//!
//! `aws` and `oci` return only their own errors, classified (kind, AWS code, IAM action or
//! registry, and the raw message, never a secret); the code, message and remediation a user
//! reads are worded here and nowhere else: `from_aws` for [`crate::aws::AwsCallError`],
//! [`crate::aws::AwsConfigError`] and a failed account read
//! ([`crate::core::verdicts::Unreadable`]), `from_oci` for [`crate::oci::OciError`].

use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use serde::Serialize;

mod from_aws;
mod from_oci;
mod from_plans;

/// Stable, lowercase error codes: agents and prompts may branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    AccessDenied,
    NotFound,
    InvalidPolicy,
    Conflict,
    Throttled,
    NoCredentials,
    NoRegion,
    AwsUnreachable,
    /// An AWS call got no answer within the server's timeout.
    Timeout,
    AwsError,
    /// The client cancelled the call; `details` says what had already changed.
    Cancelled,
    PartialFailure,
    VerificationFailed,
    Internal,
}

/// A failure with the fix spelled out.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct ToolError {
    pub code: ErrorCode,
    pub message: String,
    /// What the caller should do: an IAM action to allow, a tool to run, a value to change.
    pub remediation: String,
    /// The AWS error code when an AWS call failed (`AccessDeniedException`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_error_code: Option<String>,
    /// Extra facts, e.g. what a half-finished mutation already changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ToolError {
    pub fn new(
        code: ErrorCode,
        message: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            remediation: remediation.into(),
            aws_error_code: None,
            details: None,
        }
    }

    pub fn invalid_input(message: impl Into<String>, remediation: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message, remediation)
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The text block shown to clients that ignore structured content.
    pub fn text(&self) -> String {
        format!(
            "Error ({}): {}\nHow to fix: {}",
            self.code_str(),
            self.message,
            self.remediation
        )
    }

    fn code_str(&self) -> String {
        serde_json::to_value(self.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl rmcp::handler::server::tool::IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let structured = serde_json::json!({ "error": &self });
        let mut result = CallToolResult::error(vec![ContentBlock::text(self.text())]);
        result.structured_content = Some(structured);
        Ok(result.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_code_message_and_fix() {
        let e = ToolError::invalid_input("image_digest is not a digest", "Pass sha256:<64 hex>");
        assert_eq!(
            e.text(),
            "Error (invalid_input): image_digest is not a digest\nHow to fix: Pass sha256:<64 hex>"
        );
    }

    #[test]
    fn structured_error_is_an_object_under_error() {
        let value = serde_json::json!({ "error": ToolError::new(ErrorCode::NotFound, "m", "r") });
        assert_eq!(value["error"]["code"], "not_found");
        assert_eq!(value["error"]["remediation"], "r");
        assert!(value["error"].get("details").is_none());
    }
}
