//! `ValidateHealthOmicsECRConfig`: audit a region's ECR setup for HealthOmics and say exactly
//! how to fix each problem.

use futures::future::join_all;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{Json, tool, tool_router};

use crate::aws::account_reads;
use crate::aws::{AwsClients, ecr, omics, secrets};
use crate::core::account::SecretInfo;
use crate::core::inputs;
use crate::core::plan::validate::{
    self, CacheReads, JudgedRule, MapReads, MapSource, ValidateReads,
};
use crate::core::registry_map::ContainerRegistryMap;
use crate::core::verdicts::{self, Unreadable};
use crate::error::ToolError;
use crate::server::HealthOmicsEcrServer;

tool_params! {
    #[derive(Debug)]
    pub struct ValidateParams {
        /// Also check the repositories already cached under each prefix.
        #[serde(default = "default_true")]
        pub check_repositories: bool,
        /// Also check this HealthOmics workflow's container registry map.
        #[serde(default)]
        #[schemars(with = "String")]
        pub workflow_id: Option<String>,
        /// Also check this container registry map.
        #[serde(default)]
        pub container_registry_map: Option<ContainerRegistryMap>,
        /// Also `fix_policy` where a suggested call makes the change, and the run role's
        /// policy.
        #[serde(default)]
        pub detail: bool,
    }
}

fn default_true() -> bool {
    true
}

pub use crate::core::findings::Severity;
pub use crate::core::plan::validate::{Component, ValidateOutput, ValidationIssue};

#[tool_router(router = validate_config_router, vis = "pub(crate)")]
impl HealthOmicsEcrServer {
    /// Audit a region's ECR setup for AWS HealthOmics: every pull-through cache (upstream,
    /// secret, registry policy, template, cached repositories), optionally a container registry
    /// map or a workflow's. Issues by severity, each with its exact fix (a tool call or policy
    /// JSON); with `detail`, the run role's IAM policy. Read-only; start here.
    #[tool(
        name = "ValidateHealthOmicsECRConfig",
        title = "Validate ECR configuration for HealthOmics",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn validate_healthomics_ecr_config(
        &self,
        Parameters(params): Parameters<ValidateParams>,
    ) -> Result<Json<ValidateOutput>, ToolError> {
        if let Some(id) = &params.workflow_id {
            inputs::check_workflow_id(id)?;
        }
        let clients = self.clients_for(&params).await?;
        // 1. The cache rules, the repositories and the account, read at once: none of them
        // waits for another.
        let (account, rules, repositories) = futures::join!(
            async { clients.account_id().await.ok() },
            ecr::all_pull_through_cache_rules(&clients.ecr),
            async {
                match params.check_repositories {
                    true => Some(ecr::all_repositories(&clients.ecr).await),
                    false => None,
                }
            },
        );
        // 2. Then, at once: the caches judged (registry policy, templates, credential secrets'
        // metadata) and the policies of the repositories the report needs.
        let prefixes: Option<Vec<String>> = rules.as_ref().ok().map(|rules| {
            rules
                .iter()
                .map(|r| r.ecr_repository_prefix.clone())
                .collect()
        });
        let (caches, repositories) = futures::join!(
            judge_caches(&clients, rules.map_err(|e| Unreadable::from(&e))),
            async {
                match repositories? {
                    Ok(repositories) => Some(Ok(judge_repositories(
                        &clients,
                        validate::repositories_to_judge(
                            repositories,
                            prefixes.as_deref(),
                            params.detail,
                        ),
                    )
                    .await)),
                    Err(e) => Some(Err(Unreadable::from(&e))),
                }
            },
        );
        // 3. The map (given, or the workflow's) and what its destinations and secrets answer.
        let source = match (params.container_registry_map, &params.workflow_id) {
            (Some(map), _) => Some(MapSource::Given(map)),
            (None, Some(id)) => Some(MapSource::Workflow {
                id: id.clone(),
                read: omics::workflow(&clients.omics, id.trim(), false)
                    .await
                    .map(|w| w.container_registry_map)
                    .map_err(|e| Unreadable::from(&e)),
            }),
            (None, None) => None,
        };
        let map = match source {
            Some(source) => {
                let reads = read_map(&clients, &source, account.as_deref()).await;
                Some((source, reads))
            }
            None => None,
        };
        // 4. Judge it all at once, and say what to do.
        Ok(Json(
            validate::report(&ValidateReads {
                region: clients.region.clone(),
                partition: clients.arn_partition().to_owned(),
                account,
                caches,
                repositories,
                map,
            })
            .sized(params.detail),
        ))
    }
}

async fn judge_caches(
    clients: &AwsClients,
    rules: Result<Vec<crate::core::account::PullThroughCacheRule>, Unreadable>,
) -> Result<CacheReads, Unreadable> {
    let rules = rules?;
    if rules.is_empty() {
        return Ok(CacheReads {
            registry: verdicts::RegistryPolicy::Absent,
            rules: Vec::new(),
        });
    }
    // The secrets' metadata is read while the rules are judged (in the rules' order).
    let arns: Vec<Option<String>> = rules.iter().map(|r| r.credential_arn.clone()).collect();
    let ((registry, judged), secrets) = futures::join!(
        account_reads::judge_rules(clients, rules),
        join_all(arns.iter().map(|arn| async move {
            match arn {
                Some(arn) => Some(read_secret(clients, arn).await),
                None => None,
            }
        }))
    );
    let rules = judged
        .into_iter()
        .zip(secrets)
        .map(|(judgement, secret)| JudgedRule { judgement, secret })
        .collect();
    Ok(CacheReads { registry, rules })
}

async fn read_secret(clients: &AwsClients, arn: &str) -> Result<SecretInfo, Unreadable> {
    secrets::describe_secret(&clients.secrets, arn)
        .await
        .map_err(|e| Unreadable::from(&e))
}

/// One bounded-concurrency pass over the policies of these repositories.
async fn judge_repositories(
    clients: &AwsClients,
    repositories: Vec<crate::core::account::Repository>,
) -> Vec<(crate::core::account::Repository, verdicts::Judged)> {
    let judged = account_reads::repositories_access(clients, &repositories).await;
    repositories.into_iter().zip(judged).collect()
}

/// The destinations of the image mappings, the copy mappings' secrets and templates.
async fn read_map(clients: &AwsClients, source: &MapSource, account: Option<&str>) -> MapReads {
    let Some((_, map)) = validate::map_to_check(source) else {
        return MapReads::default();
    };
    let destinations = match account {
        Some(account) => account_reads::destination_problems(clients, map, account).await,
        None => Vec::new(),
    };
    let copy = validate::copy_mappings(map);
    let copy_secrets = join_all(copy.iter().filter_map(|m| m.credential_arn.clone()).map(
        |arn| async move {
            let read = read_secret(clients, &arn).await;
            (arn, read)
        },
    ))
    .await;
    let prefixes: Vec<String> = copy
        .iter()
        .map(|m| m.ecr_repository_prefix.clone())
        .collect();
    let copy_templates = match prefixes.is_empty() {
        true => None,
        false => Some(account_reads::read_templates(clients, &prefixes).await),
    };
    MapReads {
        destinations,
        copy_secrets,
        copy_templates,
    }
}
