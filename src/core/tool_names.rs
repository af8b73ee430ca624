//! The nine tool names, the public contract, in one place. A suggested call names its tool
//! with [`ToolName`], so a typo does not compile. (`#[tool(name = …)]` needs literals; a test in
//! `server.rs` checks that the router offers exactly these names.)

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};

/// One of this server's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ToolName {
    Validate,
    ListRules,
    CreatePtc,
    ListRepositories,
    Check,
    Clone,
    Grant,
    RegistryMap,
    Prepare,
}

impl ToolName {
    pub const ALL: [ToolName; 9] = [
        Self::Validate,
        Self::ListRules,
        Self::CreatePtc,
        Self::ListRepositories,
        Self::Check,
        Self::Clone,
        Self::Grant,
        Self::RegistryMap,
        Self::Prepare,
    ];

    /// The public name a client calls.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Validate => "ValidateHealthOmicsECRConfig",
            Self::ListRules => "ListPullThroughCacheRules",
            Self::CreatePtc => "CreatePullThroughCacheForHealthOmics",
            Self::ListRepositories => "ListECRRepositories",
            Self::Check => "CheckContainerAvailability",
            Self::Clone => "CloneContainerToECR",
            Self::Grant => "GrantHealthOmicsRepositoryAccess",
            Self::RegistryMap => "CreateContainerRegistryMap",
            Self::Prepare => "PrepareWorkflowContainers",
        }
    }
}

impl std::fmt::Display for ToolName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ToolName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl JsonSchema for ToolName {
    fn schema_name() -> Cow<'static, str> {
        "ToolName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A tool of this server.",
            "enum": ALL,
        })
    }
}

pub const VALIDATE: &str = ToolName::Validate.name();
pub const LIST_RULES: &str = ToolName::ListRules.name();
pub const CREATE_PTC: &str = ToolName::CreatePtc.name();
pub const LIST_REPOSITORIES: &str = ToolName::ListRepositories.name();
pub const CHECK: &str = ToolName::Check.name();
pub const CLONE: &str = ToolName::Clone.name();
pub const GRANT: &str = ToolName::Grant.name();
pub const REGISTRY_MAP: &str = ToolName::RegistryMap.name();
pub const PREPARE: &str = ToolName::Prepare.name();

pub const ALL: [&str; 9] = [
    VALIDATE,
    LIST_RULES,
    CREATE_PTC,
    LIST_REPOSITORIES,
    CHECK,
    CLONE,
    GRANT,
    REGISTRY_MAP,
    PREPARE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constants_are_the_names() {
        let names: Vec<&str> = ToolName::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names, ALL);
        assert_eq!(
            serde_json::to_value(ToolName::Grant).ok(),
            Some(serde_json::json!("GrantHealthOmicsRepositoryAccess"))
        );
    }
}
