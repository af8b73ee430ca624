//! healthomics-ecr-mcp: an MCP server that makes AWS HealthOmics workflows able to pull their
//! containers from private Amazon ECR.
//!
//! # Layout
//! - `main.rs` (binary): flags, logging, serve stdio, exit codes. Nothing else.
//! - [`server`]: the MCP server type, its identity and instructions, and the routers of every
//!   tool combined (`--read-only` removes the mutating ones).
//! - [`tools`]: one file per MCP tool: parameters, output, and a short handler; `mod.rs` holds
//!   what every tool shares (the common parameters, the clients of a call, MCP progress).
//! - [`audit`]: reads the account and judges HealthOmics access; shared by the tools so that
//!   every tool gives the same verdict for the same state.
//! - [`core`]: pure, synchronous logic with no I/O: what is read from the account as plain data
//!   ([`core::account`]), IAM policy evaluation and merging
//!   ([`core::policy`]), image references and ECR URIs ([`core::image_ref`]), the catalog of
//!   upstream registries ([`core::registries`]), listing cursors ([`core::cursor`]), bounds on
//!   every free-form input ([`core::inputs`]), pure plans and verdicts of the tools
//!   ([`core::plan`]: Grant, Clone, Check advice, map destinations, the run-role policy),
//!   HealthOmics container rules ([`core::image_rules`]), registry maps and coverage
//!   ([`core::registry_map`]), image discovery in workflow sources ([`core::workflow_images`]),
//!   the eight tool names ([`core::tool_names`]) and the one finding vocabulary: severity and
//!   suggested call ([`core::findings`]).
//! - [`workflow_files`]: walks a workflow folder and feeds [`core::workflow_images::scan_sources`].
//! - [`aws`]: AWS I/O: the client context (per-call profile/region, cached clients) and thin
//!   wrappers around ECR, Secrets Manager and STS calls, with error mapping.
//! - [`oci`]: registry (OCI distribution) I/O: auth, inspection, layer listing, and
//!   registry-to-registry copy with streamed, verified blobs.
//! - [`registry_access`]: a region's ECR registry for the registry client (token, host, route),
//!   and a source registry's credentials (a secret, or an ECR token).
//! - [`repository_grant`]: grants HealthOmics pull access on one repository (read, plan, write
//!   under the policy's lock, verify); used by Grant and by Clone.
//! - [`transport`]: stdio lines to and from rmcp: parse errors for lines that are not JSON, and
//!   a stop when stdout breaks.
//! - [`write_locks`]: one writer at a time per policy document, so parallel tool calls never
//!   lose each other's statements.
//! - [`cancellation`]: the client's cancellation of the call in flight, checked before each write.
//! - [`error`]: the error every failed tool call is rendered from (code, message, remediation).
//! - [`logging`]: stderr-only logging, `FASTMCP_LOG_LEVEL` and `RUST_LOG`.

// Tool errors carry their remediation text by value; they are built once per failed call,
// so their size does not matter and boxing them would only add noise at every call site.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod aws;
pub mod cancellation;
pub mod core;
pub mod error;
pub mod logging;
pub mod oci;
pub mod registry_access;
pub mod repository_grant;
pub mod server;
pub mod tools;
pub mod transport;
pub mod workflow_files;
pub mod write_locks;

pub use server::{HealthOmicsEcrServer, ServerOptions};

#[cfg(test)]
mod tests {
    /// Every module is named in the Layout above, so the map of the crate stays true.
    #[test]
    fn the_layout_names_every_module() {
        let layout = include_str!("lib.rs");
        let core = include_str!("core/mod.rs");
        let top = layout
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod "))
            .map(|m| format!("[`{}`]", m.trim_end_matches(';')));
        let inner = core
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod "))
            .map(|m| format!("[`core::{}`]", m.trim_end_matches(';')));
        for named in top.chain(inner) {
            assert!(layout.contains(&named), "the Layout does not name {named}");
        }
    }
}
