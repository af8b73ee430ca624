//! The MCP server: identity, instructions, and the routers of every tool file combined.

use std::sync::{Arc, OnceLock};

use rmcp::handler::server::router::tool::ToolRouter;

use crate::tool_schema;
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ResultType, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::aws::AwsContext;
use crate::cancellation;
use crate::core::tool_names;
use crate::error::{ErrorCode, ToolError};
use crate::write_locks::WriteLocks;

/// Tools that change the account; `--read-only` hides them.
pub const MUTATING_TOOLS: [&str; 4] = [
    tool_names::CREATE_PTC,
    tool_names::GRANT,
    tool_names::CLONE,
    tool_names::PREPARE,
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
    /// Serializes read-merge-write-verify of each policy document across parallel calls.
    pub(crate) write_locks: Arc<WriteLocks>,
    /// Built when first needed (see `Tools`): the command line calls the tools' methods directly
    /// and never needs it.
    tools: Tools,
}

/// The tool router. Its nine tools' input and output schemas (schemars, then `tool_schema`)
/// are most of the server's start-up CPU, and nothing of them is needed to answer
/// `initialize`: `serve` builds the router on a thread of its own
/// (`build_tools_in_background`) while the runtime starts and the client initializes, and
/// `tools/list` and `tools/call` wait for it. Whoever needs it first builds it if that thread
/// could not start.
#[derive(Clone)]
struct Tools {
    router: Arc<OnceLock<ToolRouter<HealthOmicsEcrServer>>>,
    read_only: bool,
}

impl Tools {
    /// The router, built here if nobody has yet (blocking while another thread builds it).
    fn get(&self) -> &ToolRouter<HealthOmicsEcrServer> {
        self.router
            .get_or_init(|| HealthOmicsEcrServer::build_router(self.read_only))
    }

    /// The router, without blocking a runtime worker while it is being built.
    async fn ready(&self) -> &ToolRouter<HealthOmicsEcrServer> {
        if let Some(router) = self.router.get() {
            return router;
        }
        let tools = self.clone();
        // Had the build panicked there, it is made (and panics) again below, in the caller.
        let _ = tokio::task::spawn_blocking(move || {
            tools.get();
        })
        .await;
        self.get()
    }
}

impl HealthOmicsEcrServer {
    pub fn new(aws: AwsContext, options: ServerOptions) -> Self {
        Self {
            aws: Arc::new(aws),
            mirrors: Arc::new(options.mirrors),
            read_only: options.read_only,
            write_locks: Arc::default(),
            tools: Tools {
                router: Arc::default(),
                read_only: options.read_only,
            },
        }
    }

    /// Starts building the tool router on a thread of its own, so that the server answers
    /// `initialize` meanwhile (see `Tools`).
    pub fn build_tools_in_background(&self) {
        let tools = self.tools.clone();
        let spawned = std::thread::Builder::new()
            .name("tool-router".into())
            .spawn(move || {
                tools.get();
            });
        if let Err(err) = spawned {
            tracing::debug!("no thread for the tool router, built on first use: {err}");
        }
    }

    fn build_router(read_only: bool) -> ToolRouter<Self> {
        let started = std::time::Instant::now();
        let mut tool_router = Self::validate_config_router()
            + Self::list_pull_through_cache_rules_router()
            + Self::list_repositories_router()
            + Self::grant_access_router()
            + Self::create_pull_through_cache_router()
            + Self::create_registry_map_router()
            + Self::check_container_router()
            + Self::clone_container_router()
            + Self::prepare_workflow_router();
        if read_only {
            for name in MUTATING_TOOLS {
                tool_router.remove_route(name);
            }
        }
        for route in tool_router.map.values_mut() {
            let tool = &mut route.attr;
            tool_schema::prepare_input(Arc::make_mut(&mut tool.input_schema));
            if let Some(output) = tool.output_schema.as_mut() {
                tool_schema::prepare_output(Arc::make_mut(output));
            }
        }
        tracing::debug!(
            micros = started.elapsed().as_micros() as u64,
            "tool router built"
        );
        tool_router
    }

    /// Names of the tools this server instance offers.
    pub fn tool_names(&self) -> Vec<String> {
        self.tools
            .get()
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    /// Whether this instance offers `tool`, known without the router: `--read-only` removes
    /// the mutating tools, and nothing else is ever removed.
    fn offers(&self, tool: &str) -> bool {
        !(self.read_only && MUTATING_TOOLS.contains(&tool))
    }

    fn instructions(&self) -> String {
        let available = |tool: &str| self.offers(tool);
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

const TOOL_LINES: [(&str, &str); 9] = [
    (
        tool_names::VALIDATE,
        "audit the region: caches, registry policy, templates, credentials, cached repositories; returns issues with exact fixes and the run-role policy",
    ),
    (
        tool_names::LIST_RULES,
        "list pull-through cache rules and whether HealthOmics can use each, with what is missing",
    ),
    (
        tool_names::CREATE_PTC,
        "create a pull-through cache (rule, registry policy, template) ready for HealthOmics",
    ),
    (
        tool_names::LIST_REPOSITORIES,
        "list repositories with each one's HealthOmics access verdict",
    ),
    (
        tool_names::CHECK,
        "check one image: present, pullable by HealthOmics, x86_64, container rules",
    ),
    (
        tool_names::CLONE,
        "copy an image into private ECR and grant HealthOmics access",
    ),
    (
        tool_names::GRANT,
        "add the HealthOmics pull statement to a repository policy (merge; dry_run to preview)",
    ),
    (
        tool_names::REGISTRY_MAP,
        "build a container registry map for a workflow and check which images it covers",
    ),
    (
        tool_names::PREPARE,
        "everything a workflow's images need (caches, clones, grants, warm pulls, map, run-role policy): dry run, then apply",
    ),
];

type Flow = (&'static str, &'static [(&'static str, &'static str)]);

const FLOWS: [Flow; 5] = [
    (
        "Migrate a whole workflow",
        &[
            (
                tool_names::PREPARE,
                "dry run: the plan and credentials needed",
            ),
            (
                tool_names::PREPARE,
                "dry_run=false: apply, verify, map and policy",
            ),
        ],
    ),
    (
        "New workflow with pull-through caches",
        &[
            (tool_names::CREATE_PTC, "one per upstream registry"),
            (tool_names::VALIDATE, "verify"),
        ],
    ),
    (
        "Migrate an existing workflow",
        &[
            (tool_names::CREATE_PTC, "caches for its registries"),
            (tool_names::REGISTRY_MAP, "map public URIs to ECR"),
            (tool_names::CLONE, "images no cache or copy mapping serves"),
        ],
    ),
    (
        "Verify container access",
        &[
            (
                tool_names::CHECK,
                "with initiate_pull_through for cached images",
            ),
            (
                tool_names::LIST_REPOSITORIES,
                "with filter_healthomics_accessible",
            ),
        ],
    ),
    (
        "Troubleshoot access",
        &[
            (tool_names::VALIDATE, "find the problem"),
            (tool_names::LIST_RULES, "cache status"),
            (tool_names::GRANT, "fix a repository policy"),
        ],
    ),
];

const OUTRO: &str = "\nMutating tools take dry_run: call with dry_run=true first to show the user \
the exact policy change, then again without it. They merge policies and never remove statements \
they did not write.";

impl HealthOmicsEcrServer {
    /// Runs one tool call in its own task, so that a panic anywhere below becomes an `internal`
    /// tool error for that request instead of a request that never gets an answer; the task
    /// carries the call's cancellation token for the writes to check.
    async fn run_tool_call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.to_string();
        let region = request
            .arguments
            .as_ref()
            .and_then(|args| args.get("aws_region"))
            .and_then(serde_json::Value::as_str)
            .map(crate::core::inputs::clipped)
            .unwrap_or_default();
        let started = std::time::Instant::now();
        let server = self.clone();
        let token = context.ct.clone();
        let span = tracing::debug_span!("tool_call", tool = %tool, region = %region);
        let work = cancellation::scope(token, async move {
            let router = server.tools.ready().await;
            let call = ToolCallContext::new(&server, request, context);
            router.call(call).await
        });
        let task = tokio::spawn(tracing::Instrument::instrument(work, span.clone()));
        let result = answer_or_internal(&tool, task.await);
        let result = result.map(structured_argument_errors);
        let outcome = match &result {
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => r
                .structured_content
                .as_ref()
                .and_then(|s| s.pointer("/error/code"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("error")
                .to_owned(),
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("jsonrpc {}", e.code.0),
        };
        span.in_scope(|| {
            tracing::debug!(
                outcome,
                duration_ms = started.elapsed().as_millis() as u64,
                "tool call finished"
            )
        });
        result
    }
}

/// The tool's answer, or an `internal` tool error when its task panicked: every request gets an
/// answer, and the server keeps serving.
fn answer_or_internal(
    tool: &str,
    joined: Result<Result<CallToolResponse, ErrorData>, tokio::task::JoinError>,
) -> Result<CallToolResponse, ErrorData> {
    match joined {
        Ok(result) => result,
        Err(join_error) => {
            tracing::error!(tool, "tool call failed internally: {join_error}");
            ToolError::new(
                ErrorCode::Internal,
                format!("{tool} failed internally and was stopped; the server keeps running."),
                "Report this bug with the arguments (no secrets). If the tool writes, check \
                 the account with ValidateHealthOmicsECRConfig before retrying.",
            )
            .into_call_tool_result()
        }
    }
}

/// rmcp reports arguments that do not deserialize as a bare error text; give them the same
/// `{error: {code, message, remediation}}` shape as every other tool error.
fn structured_argument_errors(response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = &response else {
        return response;
    };
    if result.is_error != Some(true) || result.structured_content.is_some() {
        return response;
    }
    let text: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    let error = ToolError::invalid_input(
        format!(
            "The arguments do not match the tool's input schema: {}",
            text.join(" ")
        ),
        "Fix the named parameter (see the tool's inputSchema; unknown parameters are refused) and call again.",
    );
    match error.into_call_tool_result() {
        Ok(structured) => structured,
        Err(_) => response,
    }
}

/// rmcp's `#[tool_handler]` would write these three around a router field; ours waits for the
/// router being built (see `Tools`).
impl ServerHandler for HealthOmicsEcrServer {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.run_tool_call(request, context).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // The same answer as `#[tool_handler]`'s: the 2026-07-28 protocol's cache hints say the
        // list is the same for every client and may be kept.
        let hints = context
            .protocol_version()
            .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
        Ok(ListToolsResult {
            result_type: Some(ResultType::COMPLETE),
            tools: self.tools.ready().await.list_all(),
            meta: None,
            next_cursor: None,
            ttl_ms: hints.then_some(0),
            cache_scope: hints.then_some(CacheScope::Public),
        })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get().get(name).cloned()
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
                    .with_title("HealthOmics ECR container access"),
            )
            .with_instructions(self.instructions())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_tool_call_is_answered_with_an_internal_error() {
        let task = tokio::spawn(async {
            if std::hint::black_box(true) {
                panic!("boom in a handler");
            }
            Ok(CallToolResponse::Complete(
                rmcp::model::CallToolResult::success(Vec::new()),
            ))
        });
        let answer = answer_or_internal("GrantHealthOmicsRepositoryAccess", task.await);
        let Ok(CallToolResponse::Complete(result)) = answer else {
            panic!("expected a tool result");
        };
        assert_eq!(result.is_error, Some(true));
        let code = result
            .structured_content
            .as_ref()
            .and_then(|s| s.pointer("/error/code"))
            .cloned();
        assert_eq!(code, Some(serde_json::json!("internal")));
    }

    #[test]
    fn the_router_offers_exactly_the_named_tools() {
        let server = HealthOmicsEcrServer::new(AwsContext::default(), ServerOptions::default());
        let mut offered = server.tool_names();
        offered.sort();
        let mut named: Vec<String> = tool_names::ALL.iter().map(|s| s.to_string()).collect();
        named.sort();
        assert_eq!(offered, named);
        let read_only = HealthOmicsEcrServer::new(
            AwsContext::default(),
            ServerOptions {
                read_only: true,
                ..ServerOptions::default()
            },
        );
        assert!(
            read_only
                .tool_names()
                .iter()
                .all(|t| !MUTATING_TOOLS.contains(&t.as_str()))
        );
    }

    #[test]
    fn the_instructions_name_the_offered_tools_without_building_the_router() {
        for read_only in [false, true] {
            let server = HealthOmicsEcrServer::new(
                AwsContext::default(),
                ServerOptions {
                    read_only,
                    ..ServerOptions::default()
                },
            );
            let instructions = server.instructions();
            assert!(server.tools.router.get().is_none(), "initialize built it");
            let offered = server.tool_names();
            for tool in tool_names::ALL {
                assert_eq!(
                    server.offers(tool),
                    offered.iter().any(|t| t == tool),
                    "{tool}"
                );
                assert_eq!(
                    instructions.contains(&format!("- {tool}: ")),
                    server.offers(tool),
                    "{tool}"
                );
            }
        }
    }

    #[tokio::test]
    async fn tools_wait_for_the_router_built_in_the_background() {
        let server = HealthOmicsEcrServer::new(AwsContext::default(), ServerOptions::default());
        server.build_tools_in_background();
        let listed = server.tools.ready().await.list_all();
        assert_eq!(listed.len(), tool_names::ALL.len());
        assert!(server.get_tool(tool_names::VALIDATE).is_some());
    }
}
