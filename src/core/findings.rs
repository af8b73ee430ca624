//! The vocabulary every finding shares, so that "error" means the same in every tool's result
//! and a suggested fix has one shape.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::tool_names::ToolName;

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

/// A tool call that fixes a finding, ready to send: the tool is typed, so a suggestion cannot
/// name a tool that does not exist.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SuggestedCall {
    pub tool: ToolName,
    pub arguments: Map<String, Value>,
}

impl SuggestedCall {
    /// `arguments` is a JSON object (`json!({...})`); anything else gives no arguments.
    pub fn new(tool: ToolName, arguments: Value) -> Self {
        Self {
            tool,
            arguments: match arguments {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        }
    }
}

/// A JSON object whose keys are not ours to fix (a policy document, a template), as the tool
/// schemas state it: `{"type": "object"}`, never an unconstrained value.
pub type JsonObject = Map<String, Value>;
