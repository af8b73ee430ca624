//! `CreateContainerRegistryMap`: a HealthOmics container registry map from the caches that
//! really work, plus the user's mappings — checked against the API's rules — and, for the
//! images a workflow uses, which mapping serves each one and what fixes the rest.
//!
//! What goes in the map and what the result says is decided in
//! [`crate::core::plan::map_report`]; the account is read by [`crate::aws::setup_reads`], the
//! workflow definitions by [`crate::workflow_files`]; this file orders the reads.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use crate::aws::{AwsClients, AwsErrorKind, setup_reads};
use crate::core::inputs;
use crate::core::plan::map_report::{
    self, CopyRegistryRequest, MapPlan, MapRequest, RegistryMapOutput, WorkflowReport,
};
use crate::core::registry_map::{ImageMapping, ImageUse, MapError, RegistryMapping};
use crate::core::verdicts::RuleJudgement;
use crate::core::workflow_images::RunOptions;
use crate::error::{ErrorCode, ToolError};
use crate::server::HealthOmicsEcrServer;
use crate::workflow_files;

tool_params! {
    pub struct RegistryMapParams {
        /// Account whose ECR the map points at (ecrAccountId); default: the caller's.
        #[serde(default)]
        #[schemars(with = "String")]
        pub ecr_account_id: Option<String>,
        /// Region the workflow runs in; default: the call's.
        #[serde(default)]
        #[schemars(with = "String")]
        pub ecr_region: Option<String>,
        /// Map every cache HealthOmics can use (unusable ones go to excluded_caches).
        #[serde(default = "default_true")]
        pub include_pull_through_caches: bool,
        /// Extra registry mappings; they win over discovered ones for the same host.
        #[serde(default)]
        pub additional_registry_mappings: Vec<RegistryMapping>,
        /// Image mappings (destination: a private ECR URI); they win over registry mappings.
        #[serde(default)]
        pub image_mappings: Vec<ImageMapping>,
        /// Registries HealthOmics copies from itself (Wave, NGC, Google), with their credential.
        #[serde(default)]
        pub healthomics_copy_registries: Vec<CopyRegistryRequest>,
        /// Images to check coverage for.
        #[serde(default)]
        pub container_images: Vec<String>,
        /// Local WDL, Nextflow or CWL file or folder whose images to check.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_definition: Option<String>,
        /// Nextflow profiles the run uses: only their configs' images count.
        #[serde(default)]
        pub profiles: Vec<String>,
        /// HealthOmics workflow id: its images and map are checked too.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_id: Option<String>,
        /// Also the run role's policy, each image's host, mapping, fix and problem wording,
        /// files read.
        #[serde(default)]
        pub detail: bool,
        /// `json`: also the map as indented text (json_output).
        #[serde(default)]
        #[schemars(with = "String")]
        pub output_format: Option<String>,
    }
}

fn default_true() -> bool {
    true
}

impl RegistryMapParams {
    /// The bounds on the free-form inputs, checked before any AWS call.
    fn check_bounds(&self) -> Result<(), ToolError> {
        if let Some(id) = &self.workflow_id {
            inputs::check_workflow_id(id)?;
        }
        inputs::check_list_len("container_images", self.container_images.len())?;
        inputs::check_list_len("image_mappings", self.image_mappings.len())?;
        inputs::check_list_len("profiles", self.profiles.len())?;
        for p in &self.profiles {
            inputs::check_text_len("profiles", p)?;
        }
        Ok(())
    }

    /// The region the account is read in: the call's, else `ecr_region`, because the caches
    /// that count are those in the region the workflow runs in.
    fn read_region(&self) -> Option<&str> {
        self.aws_region.as_deref().or(self.ecr_region.as_deref())
    }
}

#[tool_router(router = create_registry_map_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Build a HealthOmics containerRegistryMap: a registry mapping per pull-through cache
    /// HealthOmics can use (unusable ones listed with why), mappings for registries HealthOmics
    /// copies itself (Wave, NGC, Google) and your own, checked against the API's rules; with
    /// detail, the run-role policy. With container_images, workflow_definition or workflow_id: each
    /// image's coverage and the calls that fix the rest, in order. Read-only.
    #[tool(
        name = "CreateContainerRegistryMap",
        title = "Create a container registry map for a HealthOmics workflow",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn create_container_registry_map(
        &self,
        Parameters(params): Parameters<RegistryMapParams>,
    ) -> Result<Json<RegistryMapOutput>, ToolError> {
        params.check_bounds()?;
        let json_text = map_report::wants_json_text(params.output_format.as_deref())
            .map_err(ToolError::from)?;
        // 1. The mappings asked for: the user's, then one per copy registry.
        let additional = map_report::additional_mappings(
            &params.additional_registry_mappings,
            &params.healthomics_copy_registries,
        )
        .map_err(ToolError::from)?;
        let profile = params.aws_profile.as_deref();
        let clients = self.aws.clients(profile, params.read_region()).await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;

        // 2. The caches HealthOmics can use, and the credentials' secrets (never their values).
        let caches = match params.include_pull_through_caches {
            true => Some(discovered_caches(&clients).await?),
            false => None,
        };
        let secrets = setup_reads::credential_secrets(&clients, &additional).await;
        let rules = caches.iter().flatten().map(|j| &j.rule);
        let registry_secrets = setup_reads::registry_secrets(&clients, rules).await;

        // 3. Build and check the map.
        let plan = map_report::plan(MapRequest {
            account: account.clone(),
            region: params
                .ecr_region
                .clone()
                .unwrap_or_else(|| clients.region.clone()),
            read_region: clients.region.clone(),
            caches,
            additional,
            image_mappings: params.image_mappings.clone(),
            ecr_account_id: params.ecr_account_id.clone(),
            secrets,
            registry_secrets,
            partition: clients.arn_partition().to_owned(),
        })
        .map_err(refused)?;

        // 4. Images: given, from a local definition, checked against this map (and the workflow's).
        let run = RunOptions::for_profiles(&params.profiles);
        let scan = match &params.workflow_definition {
            Some(path) => Some(super::scan_definition(path, &run).await?),
            None => None,
        };
        let images = map_report::images(&params.container_images, scan.as_ref());
        let map = &plan.built.map;
        let problems =
            setup_reads::destination_problems_for(&clients, map, &images, &account).await;
        let coverage = plan.coverage(&images, &problems);
        let workflow = match &params.workflow_id {
            Some(id) => Some(workflow_report(&clients, &plan, id, &images, &run).await?),
            None => None,
        };
        Ok(Json(
            plan.report(json_text, coverage, scan, workflow)
                .sized(params.detail),
        ))
    }
}

/// A map that would not work: its findings name the fields, and the rejected map is shown.
pub(crate) fn refused(err: MapError) -> ToolError {
    ToolError::invalid_input(
        err.to_string(),
        "Correct the named fields; each finding says what to write instead.",
    )
    .with_details(serde_json::json!({ "findings": err.findings, "rejected_map": err.map }))
}

/// The account's caches, judged; rules that cannot be listed stop the call, with the way to
/// build the map without discovery.
async fn discovered_caches(clients: &AwsClients) -> Result<Vec<RuleJudgement>, ToolError> {
    setup_reads::judged_caches(clients).await.map_err(|e| {
        let mut err = e.into_tool_error(None);
        err.remediation.push_str(" Or call again with include_pull_through_caches=false to build the map without discovery.");
        err
    })
}

/// The workflow as HealthOmics has it (its definition only when no images were given), its
/// map's destinations, and the plan's report on them.
async fn workflow_report(
    clients: &AwsClients,
    plan: &MapPlan,
    id: &str,
    images: &[ImageUse],
    run: &RunOptions,
) -> Result<WorkflowReport, ToolError> {
    let read = workflow_files::healthomics_workflow(clients, id.trim(), images.is_empty(), run)
        .await
        .map_err(|e| {
            if e.kind == AwsErrorKind::NotFound {
                ToolError::new(
                    ErrorCode::NotFound,
                    format!("HealthOmics workflow `{id}` does not exist in this region."),
                    "Check the id (ListWorkflows) and the region.",
                )
            } else {
                e.into_tool_error(Some(id))
            }
        })?;
    let map = read.container_registry_map.clone().unwrap_or_default();
    let wanted = map_report::workflow_images(images, &read.definition);
    let problems =
        setup_reads::destination_problems_for(clients, &map, &wanted, &plan.account).await;
    Ok(plan.workflow_report(read, images, &problems))
}
