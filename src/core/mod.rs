//! Pure logic: no I/O, no SDK types, exhaustively tested.

pub mod account;
pub mod adaptive;
pub mod cursor;
pub mod findings;
pub mod image_ref;
pub mod image_rules;
pub mod inputs;
pub mod plan;
pub mod policy;
pub mod registries;
pub mod registry_map;
pub mod tool_names;
pub mod verdicts;
pub mod workflow_images;
