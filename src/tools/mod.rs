//! One file per MCP tool: its parameters, its output, and a short handler that reads like the
//! steps its description promises. Policy logic lives in `core`, AWS calls in `aws`.

pub mod create_pull_through_cache;
pub mod grant_access;
pub mod list_pull_through_cache_rules;
pub mod list_repositories;
pub mod validate_config;

use crate::error::ToolError;

/// Default page size, as in the Python server.
pub const DEFAULT_MAX_RESULTS: u32 = 100;

fn default_max_results() -> u32 {
    DEFAULT_MAX_RESULTS
}

/// Checks `max_results` against the ECR API's range (1–1000).
fn checked_max_results(value: u32) -> Result<i32, ToolError> {
    match i32::try_from(value) {
        Ok(v) if (1..=1000).contains(&v) => Ok(v),
        _ => Err(ToolError::invalid_input(
            format!("max_results must be between 1 and 1000, got {value}"),
            "Pass a max_results from 1 to 1000 (default 100).",
        )),
    }
}
