//! healthomics-ecr-mcp: an MCP server that makes AWS HealthOmics workflows able to pull their
//! containers from private Amazon ECR.
//!
//! # Layout
//! - `main.rs` (binary): parse the command line, start logging, serve stdio or run a command.
//! - [`cli`]: the command line over the same handlers: the flags and commands (`cli::args`),
//!   each command building its tool's parameters and calling the tool's handler, a person's
//!   view of each result (`cli::render`), the copy's progress bar, and the exit codes.
//! - [`server`]: the MCP server type, its identity and instructions, and the routers of every
//!   tool combined (`--read-only` removes the mutating ones), built on a thread of their own
//!   while the server answers `initialize`.
//! - [`tool_schema`]: the tool schemas made portable (no `null` alternatives), once, when the
//!   router is built.
//! - [`tools`]: one file per MCP tool: parameters, output, and a short handler that reads,
//!   calls its plan, executes the steps and returns; `mod.rs` holds what every tool shares (the
//!   common parameters, the clients of a call, MCP progress).
//! - [`core`]: pure, synchronous logic with no I/O:
//!   - what is read from the account, as plain data ([`core::account`]), and the HealthOmics
//!     access verdicts on repository and registry policies, creation templates and cache
//!     rules, worded once for every tool ([`core::verdicts`]);
//!   - pure plans and reports of the tools ([`core::plan`]: Validate; CreatePTC's steps; Grant;
//!     Clone; Check's target, advice and report; batches of Check and Clone (rows, counts, the
//!     merged next call, one progress stream); the registry map's report; map destinations;
//!     the report of one cache rule; a page of repositories; the run-role policy; the plan of
//!     PrepareWorkflowContainers and what each of its steps answered);
//!   - IAM policy evaluation and merging ([`core::policy`]); image references, digests, ECR
//!     hosts and URIs and pull-through cache names ([`core::image_ref`]); the catalog of
//!     upstream registries ([`core::registries`], which builds on `image_ref`, never the other
//!     way); HealthOmics container rules ([`core::image_rules`]); registry maps: types and
//!     application, building, checking, coverage and fixes ([`core::registry_map`]); image
//!     discovery in workflow sources and which files a run uses ([`core::workflow_images`]);
//!   - listing cursors ([`core::cursor`]), how many reads to keep in flight against a throttling
//!     API ([`core::adaptive`]), bounds on every free-form input ([`core::inputs`]),
//!     the nine tool names ([`core::tool_names`]) and the one finding vocabulary: severity and
//!     suggested call ([`core::findings`]).
//! - [`workflow_files`]: walks a workflow folder or a definition bundle and feeds
//!   [`core::workflow_images::scan_run`], which keeps the files a run uses; reads a HealthOmics
//!   workflow and its exported definition.
//! - [`aws`]: AWS I/O: the client context (per-call profile/region, cached clients), thin
//!   wrappers around ECR, Secrets Manager and STS calls, their own classified errors, the
//!   account reads the verdicts and Check's report are judged from (`aws::account_reads`) and
//!   those the setup tools plan from (`aws::setup_reads`).
//! - [`oci`]: registry (OCI distribution) I/O: auth, inspection, layer listing, and
//!   registry-to-registry copy with streamed, verified blobs, mounted from another repository of
//!   the target registry where this process saw them (`oci::blob_places`); its own classified
//!   errors.
//! - [`registry_access`]: where `aws` and `oci` meet (neither imports the other): the ECR token
//!   becomes registry credentials, with the region's registry host and route, and a source
//!   registry's credentials (a secret, or an ECR token).
//! - [`image_reads`]: reads an image from a registry and turns it into the plain data the plans
//!   judge (Clone's source and its upstream's tag now; Check's image and its container rules).
//! - [`ptc_setup`]: CreatePTC's I/O: reads what its plan is made from (whether a taken secret
//!   holds the given credentials is `oci`'s reading of a secret), makes the planned writes one at
//!   a time, reads the rule back and judges it.
//! - [`repository_grant`]: grants HealthOmics pull access on one repository (read, plan, write
//!   under the policy's lock, verify); used by Grant and by Clone.
//! - [`clone_exec`]: runs Clone's planned steps in order (create, pull through the cache, tag,
//!   grant, copy) and reads the image back.
//! - [`transport`]: stdio lines to and from rmcp: parse errors for lines that are not JSON, and
//!   a stop when stdout breaks.
//! - [`write_locks`]: one writer at a time per policy document, so parallel tool calls never
//!   lose each other's statements.
//! - [`cancellation`]: the client's cancellation of the call in flight, checked before each write.
//! - [`error`]: the error every failed tool call is rendered from (code, message, remediation),
//!   and the one seam from AWS and registry errors to it.
//! - [`logging`]: stderr-only logging, `FASTMCP_LOG_LEVEL` and `RUST_LOG`.

// Tool errors carry their remediation text by value; they are built once per failed call,
// so their size does not matter and boxing them would only add noise at every call site.
#![allow(clippy::result_large_err)]

pub mod aws;
pub mod cancellation;
pub mod cli;
pub mod clone_exec;
pub mod core;
pub mod error;
pub mod image_reads;
pub mod logging;
pub mod oci;
pub mod ptc_setup;
pub mod registry_access;
pub mod repository_grant;
pub mod server;
pub mod tool_schema;
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
