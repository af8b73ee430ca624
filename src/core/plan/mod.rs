//! Pure plans: from what was read in the account to what to write and what to say. A tool
//! handler reads, calls its plan, executes the plan's writes, reads back and checks the plan's
//! expectations; every decision is testable here without I/O.

pub mod batch;
pub mod check;
pub mod clone;
pub mod create_ptc;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod grant;
pub mod map_destinations;
pub mod map_report;
pub mod prepare;
pub mod prepare_outcome;
pub mod rule_entry;
pub mod run_role;
pub mod validate;

/// A request a plan cannot carry out as given: what is wrong, and how to write it instead. The
/// tool returns it as an `invalid_input` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputProblem {
    pub message: String,
    pub remediation: String,
}

impl InputProblem {
    pub fn new(message: impl Into<String>, remediation: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            remediation: remediation.into(),
        }
    }
}
pub mod repository_list;
