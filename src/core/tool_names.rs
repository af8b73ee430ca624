//! The eight tool names, the public contract, in one place: a suggested call that names a tool
//! uses these constants, so a typo does not compile. (`#[tool(name = …)]` needs literals; a test
//! in `server.rs` checks that the router offers exactly these names.)

pub const VALIDATE: &str = "ValidateHealthOmicsECRConfig";
pub const LIST_RULES: &str = "ListPullThroughCacheRules";
pub const CREATE_PTC: &str = "CreatePullThroughCacheForHealthOmics";
pub const LIST_REPOSITORIES: &str = "ListECRRepositories";
pub const CHECK: &str = "CheckContainerAvailability";
pub const CLONE: &str = "CloneContainerToECR";
pub const GRANT: &str = "GrantHealthOmicsRepositoryAccess";
pub const REGISTRY_MAP: &str = "CreateContainerRegistryMap";

pub const ALL: [&str; 8] = [
    VALIDATE,
    LIST_RULES,
    CREATE_PTC,
    LIST_REPOSITORIES,
    CHECK,
    CLONE,
    GRANT,
    REGISTRY_MAP,
];
