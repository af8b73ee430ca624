//! The MCP server: identity, instructions, and the routers of every tool file combined.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool_handler};

use crate::aws::AwsContext;

/// Tools that change the account; `--read-only` hides them.
pub const MUTATING_TOOLS: [&str; 3] = [
    "CreatePullThroughCacheForHealthOmics",
    "GrantHealthOmicsRepositoryAccess",
    "CloneContainerToECR",
];

/// Settings that shape the whole server (from the command line).
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub read_only: bool,
    /// Where to send traffic for registry hosts (`--registry-mirror HOST=URL`).
    pub mirrors: crate::oci::Mirrors,
}

#[derive(Clone)]
pub struct HealthOmicsEcrServer {
    pub(crate) aws: Arc<AwsContext>,
    pub(crate) mirrors: Arc<crate::oci::Mirrors>,
    /// `--read-only`: besides hiding mutating tools, refuse the optional writes of the others.
    pub(crate) read_only: bool,
    tool_router: ToolRouter<Self>,
}

impl HealthOmicsEcrServer {
    pub fn new(aws: AwsContext, options: ServerOptions) -> Self {
        let mut tool_router = Self::validate_config_router()
            + Self::list_pull_through_cache_rules_router()
            + Self::list_repositories_router()
            + Self::grant_access_router()
            + Self::create_pull_through_cache_router()
            + Self::create_registry_map_router()
            + Self::check_container_router()
            + Self::clone_container_router();
        if options.read_only {
            for name in MUTATING_TOOLS {
                tool_router.remove_route(name);
            }
        }
        Self {
            aws: Arc::new(aws),
            mirrors: Arc::new(options.mirrors),
            read_only: options.read_only,
            tool_router,
        }
    }

    /// Names of the tools this server instance offers.
    pub fn tool_names(&self) -> Vec<String> {
        self.tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    fn instructions(&self) -> String {
        let available = |tool: &str| self.tool_router.has_route(tool);
        let mut text = String::from(INTRO);
        text.push_str("\n\nTools:\n");
        for (tool, line) in TOOL_LINES {
            if available(tool) {
                text.push_str(&format!("- {tool}: {line}\n"));
            }
        }
        text.push_str("\nCommon flows:\n");
        for (flow, steps) in FLOWS {
            if steps.iter().all(|(tool, _)| available(tool)) {
                let steps: Vec<String> = steps
                    .iter()
                    .map(|(tool, why)| format!("{tool} ({why})"))
                    .collect();
                text.push_str(&format!("- {flow}: {}\n", steps.join(" → ")));
            }
        }
        text.push_str(OUTRO);
        text
    }
}

const INTRO: &str = "This server makes AWS HealthOmics workflows able to pull their containers \
from private Amazon ECR. HealthOmics runs tasks only from private ECR images in the same region \
that the omics.amazonaws.com service may read: repositories need a policy granting it \
ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and ecr:BatchCheckLayerAvailability; \
pull-through caches also need a registry policy (ecr:CreateRepository, \
ecr:BatchImportUpstreamImage on the cache prefix) and a repository creation template that grants \
the pull actions. Every tool takes optional aws_profile and aws_region.";

const TOOL_LINES: [(&str, &str); 8] = [
    (
        "ValidateHealthOmicsECRConfig",
        "audit the region: caches, registry policy, templates, credentials, cached repositories; returns issues with exact fixes and the run-role policy",
    ),
    (
        "ListPullThroughCacheRules",
        "list pull-through cache rules and whether HealthOmics can use each, with what is missing",
    ),
    (
        "CreatePullThroughCacheForHealthOmics",
        "create a pull-through cache (rule, registry policy, template) ready for HealthOmics",
    ),
    (
        "ListECRRepositories",
        "list repositories with each one's HealthOmics access verdict",
    ),
    (
        "CheckContainerAvailability",
        "check one image: present, pullable by HealthOmics, x86_64, container rules",
    ),
    (
        "CloneContainerToECR",
        "copy an image into private ECR and grant HealthOmics access",
    ),
    (
        "GrantHealthOmicsRepositoryAccess",
        "add the HealthOmics pull statement to a repository policy (merge; dry_run to preview)",
    ),
    (
        "CreateContainerRegistryMap",
        "build a container registry map for a workflow and check which images it covers",
    ),
];

type Flow = (&'static str, &'static [(&'static str, &'static str)]);

const FLOWS: [Flow; 4] = [
    (
        "New workflow with pull-through caches",
        &[
            (
                "CreatePullThroughCacheForHealthOmics",
                "one per upstream registry",
            ),
            ("ValidateHealthOmicsECRConfig", "verify"),
        ],
    ),
    (
        "Migrate an existing workflow",
        &[
            (
                "CreatePullThroughCacheForHealthOmics",
                "caches for its registries",
            ),
            ("CreateContainerRegistryMap", "map public URIs to ECR"),
            (
                "CloneContainerToECR",
                "images no cache or copy mapping serves",
            ),
        ],
    ),
    (
        "Verify container access",
        &[
            (
                "CheckContainerAvailability",
                "with initiate_pull_through for cached images",
            ),
            ("ListECRRepositories", "with filter_healthomics_accessible"),
        ],
    ),
    (
        "Troubleshoot access",
        &[
            ("ValidateHealthOmicsECRConfig", "find the problem"),
            ("ListPullThroughCacheRules", "cache status"),
            (
                "GrantHealthOmicsRepositoryAccess",
                "fix a repository policy",
            ),
        ],
    ),
];

const OUTRO: &str = "\nMutating tools take dry_run: call with dry_run=true first to show the user \
the exact policy change, then again without it. They merge policies and never remove statements \
they did not write.";

#[tool_handler(router = self.tool_router)]
impl ServerHandler for HealthOmicsEcrServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
                    .with_title("HealthOmics ECR container access"),
            )
            .with_instructions(self.instructions())
    }
}
