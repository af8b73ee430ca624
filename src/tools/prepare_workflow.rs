//! `PrepareWorkflowContainers`: everything a workflow's images need, in one call to see the plan
//! and one to apply it. The plan is [`crate::core::plan::prepare`]'s; every change is made by the
//! other tools' own handlers (CreatePTC, Clone, Grant, Check's pull-through), never a second
//! implementation; the final map and its coverage are CreateContainerRegistryMap's, rebuilt from
//! what the account holds afterwards.

use futures::StreamExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::aws::{AwsClients, AwsErrorKind, setup_reads};
use crate::core::inputs;
use crate::core::plan::map_report::{self, DefinitionRead, MapRequest, RegistryMapOutput};
use crate::core::plan::prepare::{
    self, CacheCredential, CacheRow, PlannedImage, PrepareInput, PrepareOutput, RegistryCredential,
    Route, STATUS_READY,
};
use crate::core::plan::prepare_outcome::{self, Outcome};
use crate::core::registry_map::{CacheMapping, ImageMapping, ImageUse, RegistryMapping};
use crate::core::workflow_images::RunOptions;
use crate::error::{ErrorCode, ToolError};
use crate::server::HealthOmicsEcrServer;
use crate::tools::check_container::SharedCaches;
use crate::tools::create_registry_map::refused;
use crate::tools::scan_definition;
use crate::workflow_files;

/// How many images are cloned, warmed or granted at once.
const CONCURRENCY: usize = 3;

tool_params! {
    #[derive(Debug)]
    pub struct PrepareParams {
        /// Local WDL, Nextflow or CWL file, folder or zip.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_definition: Option<String>,
        /// Or a HealthOmics workflow id.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_id: Option<String>,
        /// Nextflow profiles the run uses: only their configs' images count.
        #[serde(default)]
        pub profiles: Vec<String>,
        /// Per registry: username + access_token, or credential_arn; only where needed.
        #[serde(default)]
        pub credentials: Vec<RegistryCredential>,
        /// Plan only (default); false applies it.
        #[serde(default = "default_true")]
        pub dry_run: bool,
    }
}

fn default_true() -> bool {
    true
}

#[tool_router(router = prepare_workflow_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Everything a workflow's containers need for HealthOmics: caches (usable ones reused),
    /// clones, grants, warm pulls, the containerRegistryMap and run-role policy. Dry run by
    /// default (plan, credentials_needed); dry_run=false applies via the other tools and verifies.
    #[tool(
        name = "PrepareWorkflowContainers",
        title = "Prepare a workflow's containers for HealthOmics",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn prepare_workflow_containers(
        &self,
        Parameters(params): Parameters<PrepareParams>,
    ) -> Result<Json<PrepareOutput>, ToolError> {
        // 1. Inputs, then the workflow's images.
        prepare::check_credentials(&params.credentials).map_err(ToolError::from)?;
        inputs::check_list_len("credentials", params.credentials.len())?;
        let clients = self.clients_for(&params).await?;
        let account = clients
            .account_id()
            .await
            .map_err(|e| e.into_tool_error(None))?;
        let images = workflow_images(&clients, &params).await?;

        // 2. What the account holds: caches (judged) and the secrets a cache may use.
        let judged = setup_reads::judged_caches(&clients)
            .await
            .map_err(|e| e.into_tool_error(None))?;
        let usable: Vec<CacheMapping> = judged
            .iter()
            .filter(|j| j.usable())
            .map(|j| CacheMapping {
                upstream_registry_url: j.rule.upstream_registry_url.clone(),
                ecr_repository_prefix: j.rule.ecr_repository_prefix.clone(),
                upstream_repository_prefix: j.rule.upstream_repository_prefix.clone(),
            })
            .collect();
        let rules: Vec<_> = judged.iter().map(|j| j.rule.clone()).collect();
        let secrets = setup_reads::registry_secrets(&clients, &rules).await;

        // 3. The plan.
        let plan = prepare::plan(&PrepareInput {
            images: &images,
            account: &account,
            region: &clients.region,
            usable: &usable,
            rules: &rules,
            secrets: &secrets,
            credentials: &params.credentials,
        });
        let mut run = Runner {
            server: self,
            params: &params,
            region: &clients.region,
            caches: None,
        };

        // 4. Caches first (one at a time: they share the registry policy), then clones, grants
        // and warm pulls, a few at a time, each through its own tool.
        let mut changed = false;
        let mut cache_rows = Vec::new();
        let mut failed_caches = Vec::new();
        for cache in &plan.caches {
            let (row, did) = run.cache(cache).await;
            changed |= did;
            if row.status.starts_with("failed") {
                failed_caches.push(cache.prefix.clone());
            }
            cache_rows.push(row);
        }
        // The warm pulls judge their caches as they are now (after the setup above), once for
        // all of them.
        if plan.images.iter().any(|i| i.route == Route::Cache) {
            run.caches = SharedCaches::read(&clients).await;
        }
        let run = run;
        let new_prefixes: Vec<String> = plan
            .caches
            .iter()
            .filter(|c| !c.existing_rule)
            .map(|c| c.prefix.clone())
            .collect();
        let steps: Vec<_> = plan
            .images
            .iter()
            .enumerate()
            .map(|(i, image)| run.image(i, image, &new_prefixes, &failed_caches))
            .collect();
        let done: Vec<(usize, Outcome)> = futures::stream::iter(steps)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut outcomes: Vec<Option<Outcome>> = plan.images.iter().map(|_| None).collect();
        for (i, o) in done {
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = Some(o);
            }
        }
        changed |= outcomes.iter().flatten().any(|o| o.changed);
        let image_mappings: Vec<ImageMapping> = outcomes
            .iter()
            .flatten()
            .filter_map(|o| o.mapping.clone())
            .collect();

        // 5. The final map from what the account holds now (dry run: with the planned caches),
        // its coverage read back after apply, and the run-role policy.
        let mut additional = plan.copy_mappings.clone();
        if params.dry_run {
            additional.extend(plan.planned_cache_mappings());
        }
        let report = final_map(
            &clients,
            &account,
            &images,
            additional,
            image_mappings,
            params.dry_run,
        )
        .await?;
        let failed = outcomes
            .iter()
            .flatten()
            .filter(|o| o.status.starts_with("failed"))
            .count()
            + failed_caches.len();
        let rows = prepare_outcome::rows(&plan.images, &mut outcomes, &report, params.dry_run);
        let mut output = PrepareOutput {
            success: failed == 0,
            dry_run: params.dry_run,
            account_id: account.clone(),
            region: clients.region.clone(),
            changed: changed || (params.dry_run && !cache_rows.is_empty()),
            caches: cache_rows,
            credentials_needed: plan.credentials_needed.clone(),
            images: rows,
            container_registry_map: report.container_registry_map,
            run_role_policy: report.run_role_policy,
            all_covered: report.coverage.as_ref().map(|c| c.all_covered),
            message: String::new(),
        };
        output.message = prepare::summary(&output, failed);
        Ok(Json(output))
    }
}

/// The distinct images of the workflow definition or HealthOmics workflow.
async fn workflow_images(
    clients: &AwsClients,
    params: &PrepareParams,
) -> Result<Vec<ImageUse>, ToolError> {
    let run = RunOptions::for_profiles(&params.profiles);
    let scan = match (&params.workflow_definition, &params.workflow_id) {
        (Some(path), None) => scan_definition(path, &run).await?,
        (None, Some(id)) => {
            inputs::check_workflow_id(id)?;
            let read = workflow_files::healthomics_workflow(clients, id.trim(), true, &run)
                .await
                .map_err(|e| match e.kind {
                    AwsErrorKind::NotFound => ToolError::new(
                        ErrorCode::NotFound,
                        format!("HealthOmics workflow `{id}` does not exist in this region."),
                        "Check the id (ListWorkflows) and the region.",
                    ),
                    _ => e.into_tool_error(Some(id)),
                })?;
            match read.definition {
                DefinitionRead::Scanned(scan) => *scan,
                _ => {
                    return Err(ToolError::invalid_input(
                        format!("The definition of workflow `{id}` could not be read."),
                        "Pass the workflow's local folder or file as workflow_definition.",
                    ));
                }
            }
        }
        _ => {
            return Err(ToolError::invalid_input(
                "Give exactly one of workflow_definition and workflow_id.",
                "Pass the local workflow file, folder or zip, or the HealthOmics workflow id.",
            ));
        }
    };
    let images = scan.image_uses();
    if images.is_empty() {
        return Err(ToolError::invalid_input(
            format!("No container image was found in `{}`.", scan.root),
            "Check the path: the scan reads WDL runtime.docker, Nextflow container and CWL DockerRequirement.",
        ));
    }
    Ok(images)
}

/// What one image's step did (or would do).
/// Runs the plan's steps through the other tools' handlers, with this call's profile and region.
struct Runner<'a> {
    server: &'a HealthOmicsEcrServer,
    params: &'a PrepareParams,
    region: &'a str,
    /// The cache rules, judged once for every warm pull.
    caches: Option<SharedCaches>,
}

impl Runner<'_> {
    /// A tool's parameters from JSON, with this call's profile and region.
    fn params<T: DeserializeOwned>(&self, mut args: Value) -> Result<T, ToolError> {
        if let Value::Object(m) = &mut args {
            m.insert("aws_region".into(), json!(self.region));
            if let Some(p) = &self.params.aws_profile {
                m.insert("aws_profile".into(), json!(p));
            }
            m.insert("dry_run".into(), json!(self.params.dry_run));
        }
        serde_json::from_value(args).map_err(|e| {
            ToolError::new(
                ErrorCode::Internal,
                format!("A planned call is malformed: {e}"),
                "Report this bug.",
            )
        })
    }

    /// CreatePullThroughCacheForHealthOmics for one planned cache; true when it changed something.
    async fn cache(&self, cache: &prepare::PlannedCache) -> (CacheRow, bool) {
        let mut args = json!({
            "upstream_registry": cache.upstream_registry,
            "ecr_repository_prefix": cache.prefix,
        });
        match &cache.credential {
            CacheCredential::NotNeeded => {}
            CacheCredential::Secret(arn) => args["credential_arn"] = json!(arn),
            CacheCredential::Given(index) => {
                if let Some(c) = self.params.credentials.get(*index) {
                    args["username"] = json!(c.username);
                    args["access_token"] = json!(c.access_token);
                }
            }
        }
        let result = match self.params(args) {
            Ok(p) => {
                self.server
                    .create_pull_through_cache_for_healthomics(Parameters(p))
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(Json(out)) => {
                let (status, changed) = prepare_outcome::cache_status(self.params.dry_run, &out);
                (cache.row(status), changed)
            }
            Err(err) => (cache.row(format!("failed: {}", err.message)), false),
        }
    }

    /// The step of one image: warm a cached image, clone, or grant its repository.
    async fn image(
        &self,
        index: usize,
        image: &PlannedImage,
        new_prefixes: &[String],
        failed: &[String],
    ) -> (usize, Outcome) {
        let target = image.target.clone().unwrap_or_default();
        let outcome = match image.route {
            Route::Cache if failed.contains(&target) => Outcome::new(
                format!("failed: the cache `{target}` could not be set up"),
                false,
            ),
            Route::Cache if self.params.dry_run && new_prefixes.contains(&target) => {
                Outcome::new(format!("would pull through the new cache `{target}`"), true)
            }
            Route::Cache => self.warm(image).await,
            Route::Clone => self.clone_image(image).await,
            Route::PrivateEcr => self.grant(&target).await,
            Route::HealthomicsCopy => Outcome::new(STATUS_READY, false),
            Route::Invalid => Outcome::new(
                format!("failed: {}", image.note.clone().unwrap_or_default()),
                false,
            ),
        };
        (index, outcome)
    }

    /// CheckContainerAvailability, pulling through the cache when applying.
    async fn warm(&self, image: &PlannedImage) -> Outcome {
        let args = json!({
            "image_uri": image.image,
            "initiate_pull_through": !self.params.dry_run,
        });
        let args = match args {
            Value::Object(mut m) => {
                m.insert("aws_region".into(), json!(self.region));
                if let Some(p) = &self.params.aws_profile {
                    m.insert("aws_profile".into(), json!(p));
                }
                Value::Object(m)
            }
            other => other,
        };
        let params = match serde_json::from_value(args) {
            Ok(p) => p,
            Err(e) => return Outcome::new(format!("failed: {e}"), false),
        };
        match self.server.check_one(params, self.caches.as_ref()).await {
            Ok(out) => prepare_outcome::warmed(self.params.dry_run, &out),
            Err(err) => Outcome::failed(&err.message),
        }
    }

    /// CloneContainerToECR; its image mapping goes into the final map.
    async fn clone_image(&self, image: &PlannedImage) -> Outcome {
        let params = match self.params(json!({ "source_image": image.image })) {
            Ok(p) => p,
            Err(e) => return Outcome::failed(&e.message),
        };
        match self.server.clone_container(params, None).await {
            Ok(out) => prepare_outcome::cloned(self.params.dry_run, &image.image, &out),
            Err(err) => Outcome::failed(&err.message),
        }
    }

    /// GrantHealthOmicsRepositoryAccess on a repository the workflow already uses.
    async fn grant(&self, repository: &str) -> Outcome {
        let params = match self.params(json!({ "repository_name": repository })) {
            Ok(p) => p,
            Err(e) => return Outcome::failed(&e.message),
        };
        match self
            .server
            .grant_healthomics_repository_access(Parameters(params))
            .await
        {
            Ok(Json(out)) => prepare_outcome::granted(self.params.dry_run, &out),
            Err(err) => Outcome::failed(&err.message),
        }
    }
}

/// CreateContainerRegistryMap's plan over what the account holds now, with the copy mappings,
/// (dry run) the planned caches, and the clones' image mappings; after apply, its coverage of
/// the workflow's images with their destinations read back.
async fn final_map(
    clients: &AwsClients,
    account: &str,
    images: &[ImageUse],
    additional: Vec<RegistryMapping>,
    image_mappings: Vec<ImageMapping>,
    dry_run: bool,
) -> Result<RegistryMapOutput, ToolError> {
    let judged = setup_reads::judged_caches(clients)
        .await
        .map_err(|e| e.into_tool_error(None))?;
    let secrets = setup_reads::credential_secrets(clients, &additional).await;
    let plan = map_report::plan(MapRequest {
        account: account.to_owned(),
        region: clients.region.clone(),
        read_region: clients.region.clone(),
        caches: Some(judged),
        additional,
        image_mappings,
        ecr_account_id: None,
        secrets,
        registry_secrets: Vec::new(),
        partition: clients.arn_partition().to_owned(),
    })
    .map_err(refused)?;
    let coverage = match dry_run {
        true => None,
        false => {
            let map = &plan.built.map;
            let problems =
                setup_reads::destination_problems_for(clients, map, images, account).await;
            plan.coverage(images, &problems)
        }
    };
    Ok(plan.report(false, coverage, None, None))
}
