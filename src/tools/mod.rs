//! One file per MCP tool: its parameters, its output, and a short handler that reads like the
//! steps its description promises. Policy logic lives in `core`, AWS calls in `aws`.

/// Declares a tool's parameter struct with the two fields every tool takes, rejecting unknown
/// keys. One definition keeps `aws_profile`/`aws_region` identical in name, type and text
/// across tools (`serde(flatten)` cannot be combined with `deny_unknown_fields`).
macro_rules! tool_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident : $ty:ty),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            /// AWS profile (default: --profile, AWS_PROFILE).
            #[serde(default)]
            #[schemars(with = "String")]
            pub aws_profile: Option<String>,
            /// AWS region, the workflow's (default: --region, AWS_REGION).
            #[serde(default)]
            #[schemars(with = "String")]
            pub aws_region: Option<String>,
        }

        impl $crate::tools::AwsTarget for $name {
            fn aws_profile(&self) -> Option<&str> {
                self.aws_profile.as_deref()
            }
            fn aws_region(&self) -> Option<&str> {
                self.aws_region.as_deref()
            }
        }
    };
}

pub mod check_container;
pub mod clone_container;
pub mod create_pull_through_cache;
pub mod create_registry_map;
pub mod grant_access;
pub mod list_pull_through_cache_rules;
pub mod list_repositories;
pub mod prepare_workflow;
pub mod validate_config;

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;

use crate::aws::AwsClients;
use crate::error::ToolError;
use crate::oci::{CopyProgress, ProgressFn};
use crate::server::HealthOmicsEcrServer;

/// The account and region a tool call names.
pub trait AwsTarget {
    fn aws_profile(&self) -> Option<&str>;
    fn aws_region(&self) -> Option<&str>;
}

impl HealthOmicsEcrServer {
    /// The clients for a call's `aws_profile`/`aws_region` (server defaults otherwise).
    pub(crate) async fn clients_for(
        &self,
        target: &impl AwsTarget,
    ) -> Result<Arc<AwsClients>, ToolError> {
        self.aws
            .clients(target.aws_profile(), target.aws_region())
            .await
            .map_err(ToolError::from)
    }
}

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

/// MCP progress notifications for the copy, sent in order by one task, when the client asked.
pub(crate) fn progress_reporter(context: &RequestContext<RoleServer>) -> Option<ProgressFn> {
    let token = context.meta.get_progress_token()?;
    let peer = context.peer.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<CopyProgress>();
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            let note = ProgressNotificationParam::new(token.clone(), p.bytes_done as f64)
                .with_total(p.bytes_total as f64)
                .with_message(format!("{} of {} blobs", p.blobs_done, p.blobs_total));
            if peer.notify_progress(note).await.is_err() {
                break;
            }
        }
    });
    Some(Arc::new(move |p: CopyProgress| {
        let _ = tx.send(p);
    }))
}

/// Scans a local workflow definition (file, folder or zip) for the images of a run, off the
/// async threads; an unreadable path is the caller's input to fix. Map, Check and Prepare share it.
pub(crate) async fn scan_definition(
    path: &str,
    run: &crate::core::workflow_images::RunOptions,
) -> Result<crate::core::workflow_images::ScanResult, ToolError> {
    let path = std::path::PathBuf::from(path.trim());
    let shown = path.display().to_string();
    let run = run.clone();
    tokio::task::spawn_blocking(move || crate::workflow_files::scan_path(&path, &run))
        .await
        .map_err(|e| ToolError::new(crate::error::ErrorCode::Internal, format!("The workflow scan stopped: {e}"), "Retry."))?
        .map_err(|e| {
            ToolError::invalid_input(
                format!("Cannot read the workflow definition `{shown}`: {e}"),
                "Pass the path of a local .wdl, .nf or .cwl file or of the workflow's folder, as the server's machine sees it.",
            )
        })
}
