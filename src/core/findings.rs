//! The vocabulary every finding shares, so that "error" means the same in every tool's result.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much a finding matters. Ordered: errors first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// HealthOmics will fail (to pull, to accept the map, to run the image).
    Error,
    /// Likely to cause trouble, or could not be verified.
    Warning,
    /// Worth knowing; may be fine.
    Info,
}
