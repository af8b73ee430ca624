//! Each command builds its tool's `*Params` from the flags, calls the same handler an MCP client
//! reaches, and keeps the structured result as the client would get it. Whether a result is a
//! finding (exit 1) is read from fields the tool already decided; nothing is judged again here.

use rmcp::handler::server::wrapper::Parameters;
use serde::Serialize;
use serde_json::Value;

use super::args::{
    self, CacheArgs, CheckArgs, CloneArgs, CredentialArg, CredentialSecret, GrantArgs, MapArgs,
    PrepareArgs, ReposArgs, RulesArgs, ValidateArgs,
};
use super::{progress, render};
use crate::core::findings::Severity;
use crate::core::plan::clone::CloneOutput;
use crate::core::plan::prepare::{PrepareOutput, RegistryCredential};
use crate::core::policy::AccessStatus;
use crate::core::registry_map::ContainerRegistryMap;
use crate::error::{ErrorCode, ToolError};
use crate::server::HealthOmicsEcrServer;
use crate::tools::check_container::CheckParams;
use crate::tools::clone_container::CloneParams;
use crate::tools::create_pull_through_cache::CreatePtcParams;
use crate::tools::create_registry_map::RegistryMapParams;
use crate::tools::grant_access::GrantAccessParams;
use crate::tools::list_pull_through_cache_rules::ListRulesParams;
use crate::tools::list_repositories::ListRepositoriesParams;
use crate::tools::prepare_workflow::PrepareParams;
use crate::tools::validate_config::ValidateParams;

/// One tool call's result: the JSON an MCP client gets as `structuredContent`, a person's view
/// of it, and whether it found something a script should stop on.
pub struct Answer {
    pub json: Value,
    pub text: String,
    pub findings: bool,
    /// A batch's images that failed: the exit code their errors would have had alone.
    pub errors_exit: Option<u8>,
}

impl Answer {
    /// Keeps the exit codes of single calls for a batch: an image that failed with
    /// `invalid_input` is a usage error, any other failure a tool error.
    fn with_errors<'a>(mut self, codes: impl Iterator<Item = &'a str>) -> Self {
        self.errors_exit = codes
            .map(|code| match code {
                "invalid_input" => super::EXIT_USAGE,
                _ => super::EXIT_AWS,
            })
            .max();
        self
    }
}

pub type Answered = Result<Answer, ToolError>;

fn answer<T: Serialize>(output: &T, text: String, findings: bool) -> Answered {
    let json = serde_json::to_value(output).map_err(|e| {
        ToolError::new(
            ErrorCode::Internal,
            format!("The result could not be serialized: {e}"),
            "Report this bug with the command line (no secrets).",
        )
    })?;
    Ok(Answer {
        json,
        text,
        findings,
        errors_exit: None,
    })
}

/// A flag combination the tool would not be asked with.
fn usage(message: impl Into<String>, remediation: impl Into<String>) -> ToolError {
    ToolError::invalid_input(message, remediation)
}

/// `--read-only` lets a command look and plan, never write.
fn refuse_writes(
    server: &HealthOmicsEcrServer,
    command: &str,
    dry_run: bool,
) -> Result<(), ToolError> {
    if server.read_only && !dry_run {
        return Err(usage(
            format!("`{command}` changes the account, and --read-only is set."),
            format!("Run `{command} --dry-run` to see the plan, or drop --read-only."),
        ));
    }
    Ok(())
}

pub async fn validate(server: &HealthOmicsEcrServer, args: ValidateArgs) -> Vec<Answered> {
    vec![validate_one(server, args).await]
}

async fn validate_one(server: &HealthOmicsEcrServer, args: ValidateArgs) -> Answered {
    let container_registry_map = match &args.registry_map {
        Some(path) => Some(read_map(path)?),
        None => None,
    };
    let params = ValidateParams {
        check_repositories: !args.skip_repositories,
        workflow_id: args.workflow_id,
        container_registry_map,
        detail: args.detail,
        aws_profile: None,
        aws_region: None,
    };
    let out = server
        .validate_healthomics_ecr_config(Parameters(params))
        .await?
        .0;
    let findings = out
        .issues
        .iter()
        .any(|i| matches!(i.severity, Severity::Error | Severity::Warning));
    answer(&out, render::validate(&out), findings)
}

/// A registry map file for `validate` and `map --registry-map`, in the HealthOmics API shape.
fn read_map(path: &std::path::Path) -> Result<ContainerRegistryMap, ToolError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(
            format!("Cannot read the registry map {shown}: {e}"),
            "Give the path of a JSON file with registryMappings and/or imageMappings.",
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        usage(
            format!("{shown} is not a container registry map: {e}"),
            "The file must hold {\"registryMappings\": [...], \"imageMappings\": [...]} as HealthOmics takes it.",
        )
    })
}

pub async fn repos(server: &HealthOmicsEcrServer, args: ReposArgs) -> Vec<Answered> {
    let params = ListRepositoriesParams {
        max_results: args.max_results,
        next_token: args.next_token,
        filter_healthomics_accessible: args.accessible_only,
        detail: args.detail,
        aws_profile: None,
        aws_region: None,
    };
    let result = server.list_ecr_repositories(Parameters(params)).await;
    vec![result.and_then(|out| {
        let out = out.0;
        let findings = out
            .repositories
            .iter()
            .any(|r| r.healthomics_accessible != AccessStatus::Accessible);
        answer(&out, render::repos(&out), findings)
    })]
}

pub async fn rules(server: &HealthOmicsEcrServer, args: RulesArgs) -> Vec<Answered> {
    let params = ListRulesParams {
        max_results: args.max_results,
        next_token: args.next_token,
        detail: args.detail,
        aws_profile: None,
        aws_region: None,
    };
    let result = server
        .list_pull_through_cache_rules(Parameters(params))
        .await;
    vec![result.and_then(|out| {
        let out = out.0;
        let findings = out.rules.iter().any(|r| !r.healthomics_usable);
        answer(&out, render::rules(&out), findings)
    })]
}

pub async fn check(server: &HealthOmicsEcrServer, args: CheckArgs) -> Vec<Answered> {
    if args.initiate_pull_through
        && let Err(e) = refuse_writes(server, "check --initiate-pull-through", false)
    {
        return vec![Err(e)];
    }
    let params = |image_uri: Option<String>, images: Vec<String>| CheckParams {
        repository_name: args.repository.clone(),
        image_tag: args.tag.clone(),
        image_digest: args.digest.clone(),
        image_uri,
        initiate_pull_through: args.initiate_pull_through,
        inspect_layers: args.inspect_layers,
        images,
        workflow_definition: None,
        aws_profile: None,
        aws_region: None,
    };
    // Several images: one batch call, checked concurrently, one row each.
    if args.images.len() > 1 {
        let result = server
            .check_containers(params(None, args.images.clone()))
            .await;
        return vec![result.and_then(|out| {
            let findings = out
                .images
                .iter()
                .any(|r| !r.available || r.healthomics_accessible != AccessStatus::Accessible);
            let codes = out.images.iter().filter_map(|r| r.error_code.as_deref());
            answer(&out, render::check_batch(&out), findings).map(|a| a.with_errors(codes))
        })];
    }
    let image = args.images.first().cloned();
    let asked = image
        .clone()
        .or_else(|| args.repository.clone())
        .unwrap_or_default();
    let result = server.check_container(params(image, Vec::new())).await;
    vec![result.and_then(|out| {
        let findings = !out.available || out.healthomics_accessible != AccessStatus::Accessible;
        answer(&out, render::check(&out, &asked), findings)
    })]
}

pub async fn clone(server: &HealthOmicsEcrServer, args: CloneArgs) -> Vec<Answered> {
    if let Err(e) = clone_flags(server, &args) {
        return vec![Err(e)];
    }
    let several = args.images.len() > 1;
    let params = CloneParams {
        source_image: (!several).then(|| args.images.first().cloned()).flatten(),
        source_images: if several {
            args.images.clone()
        } else {
            Vec::new()
        },
        target_repository_name: args.target_repository.clone(),
        target_image_tag: args.target_tag.clone(),
        platform: args.platform.clone(),
        source_credential_arn: args.source_credential_arn.clone(),
        dry_run: args.dry_run,
        aws_profile: None,
        aws_region: None,
    };
    let shown = match several {
        true => format!("{} images", args.images.len()),
        false => args.images.first().cloned().unwrap_or_default(),
    };
    let bar = (!args.dry_run && !args.output.json)
        .then(|| progress::copy_bar(&shown))
        .flatten();
    let reporter = bar.as_ref().map(progress::CopyBar::reporter);
    // Several images: one batch call, copied concurrently, one progress bar for all of them.
    let answered = if several {
        let result = server.clone_containers(params, reporter).await;
        result.and_then(|out| {
            let findings = out.images.iter().any(|r| r.finding);
            let codes = out.images.iter().filter_map(|r| r.error_code.as_deref());
            answer(&out, render::clone_batch(&out), findings).map(|a| a.with_errors(codes))
        })
    } else {
        let result = server.clone_container(params, reporter).await;
        result.and_then(|out| answer(&out, render::clone(&out), clone_findings(&out)))
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    vec![answered]
}

fn clone_flags(server: &HealthOmicsEcrServer, args: &CloneArgs) -> Result<(), ToolError> {
    refuse_writes(server, "clone", args.dry_run)?;
    let names_one = args.target_repository.is_some() || args.target_tag.is_some();
    if names_one && args.images.len() > 1 {
        return Err(usage(
            "--target-repository and --target-tag name one copy, but several images were given.",
            "Clone one image at a time with them, or leave them out to use each image's default.",
        ));
    }
    Ok(())
}

/// A real copy that is not verified or that HealthOmics cannot pull; a dry run whose plan
/// fails.
fn clone_findings(out: &CloneOutput) -> bool {
    !out.success
        || (!out.dry_run
            && (!out.verified || out.healthomics_accessible != AccessStatus::Accessible))
}

pub async fn grant(server: &HealthOmicsEcrServer, args: GrantArgs) -> Vec<Answered> {
    if let Err(e) = refuse_writes(server, "grant", args.dry_run) {
        return vec![Err(e)];
    }
    let params = GrantAccessParams {
        repository_name: args.repository,
        workflow_owner_account_ids: args.workflow_owners,
        remove_workflow_owner_account_ids: args.remove_workflow_owners,
        dry_run: args.dry_run,
        detail: args.detail,
        aws_profile: None,
        aws_region: None,
    };
    let result = server
        .grant_healthomics_repository_access(Parameters(params))
        .await;
    vec![result.and_then(|out| {
        let out = out.0;
        let after = match &out.dry_run_plan {
            Some(plan) => plan.planned_healthomics_accessible,
            None => out.current_healthomics_accessible,
        };
        let findings = !out.success || after != AccessStatus::Accessible;
        answer(&out, render::grant(&out), findings)
    })]
}

pub async fn map(server: &HealthOmicsEcrServer, args: MapArgs) -> Vec<Answered> {
    let start = match args.registry_map.as_deref().map(read_map).transpose() {
        Ok(start) => start.unwrap_or_default(),
        Err(e) => return vec![Err(e)],
    };
    let params = RegistryMapParams {
        ecr_account_id: args.ecr_account_id,
        ecr_region: args.ecr_region,
        include_pull_through_caches: !args.no_caches,
        additional_registry_mappings: start
            .registry_mappings
            .into_iter()
            .filter(|m| m.credential_arn.is_some() || m.ecr_account_id.is_some())
            .collect(),
        image_mappings: start.image_mappings,
        healthomics_copy_registries: Vec::new(),
        container_images: args.images,
        workflow_definition: args.workflow.map(|p| p.to_string_lossy().into_owned()),
        workflow_id: args.workflow_id,
        profiles: args.profiles,
        detail: args.detail,
        output_format: None,
        aws_profile: None,
        aws_region: None,
    };
    let result = server
        .create_container_registry_map(Parameters(params))
        .await;
    let answered = result.and_then(|out| {
        let out = out.0;
        if let Some(path) = &args.output {
            write_map(path, &out.container_registry_map)?;
        }
        let uncovered = |c: &Option<crate::core::registry_map::CoverageReport>| {
            c.as_ref().is_some_and(|c| !c.all_covered)
        };
        let findings = !out.success || uncovered(&out.coverage);
        answer(&out, render::map(&out, args.output.as_deref()), findings)
    });
    vec![answered]
}

/// The map alone, as `aws omics create-workflow --container-registry-map file://…` reads it.
fn write_map(path: &std::path::Path, map: &ContainerRegistryMap) -> Result<(), ToolError> {
    let written = serde_json::to_string_pretty(map)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(path, text + "\n"));
    written.map_err(|e| {
        usage(
            format!("Cannot write the registry map to {}: {e}", path.display()),
            "Give --output a path in a folder you can write to.",
        )
    })
}

pub async fn cache(server: &HealthOmicsEcrServer, args: CacheArgs) -> Vec<Answered> {
    if let Err(e) = refuse_writes(server, "cache", args.dry_run) {
        return vec![Err(e)];
    }
    let params = CreatePtcParams {
        upstream_registry: args.upstream_registry,
        ecr_repository_prefix: args.prefix,
        credential_arn: args.credential_arn,
        username: args.username,
        access_token: args.access_token,
        upstream_registry_url: args.upstream_url,
        upstream_repository_prefix: args.upstream_prefix,
        dry_run: args.dry_run,
        detail: args.detail,
        aws_profile: None,
        aws_region: None,
    };
    let result = server
        .create_pull_through_cache_for_healthomics(Parameters(params))
        .await;
    vec![result.and_then(|out| {
        let out = out.0;
        answer(&out, render::cache(&out), !out.success)
    })]
}

pub async fn prepare(server: &HealthOmicsEcrServer, args: PrepareArgs) -> Vec<Answered> {
    vec![prepare_one(server, args).await]
}

async fn prepare_one(server: &HealthOmicsEcrServer, args: PrepareArgs) -> Answered {
    // `prepare` without --apply is the dry run --read-only allows.
    if server.read_only && args.apply {
        return Err(usage(
            "`prepare --apply` changes the account, and --read-only is set.",
            "Run `prepare` without --apply to see the plan, or drop --read-only.",
        ));
    }
    let credentials = registry_credentials(&args.credentials, |name| std::env::var(name).ok())?;
    let params = PrepareParams {
        workflow_definition: args
            .workflow
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        workflow_id: args.workflow_id.clone(),
        profiles: args.profiles.clone(),
        credentials,
        dry_run: !args.apply,
        aws_profile: None,
        aws_region: None,
    };
    let out = server
        .prepare_workflow_containers(Parameters(params))
        .await?
        .0;
    if let Some(path) = &args.output {
        write_map(path, &out.container_registry_map)?;
    }
    let again = prepare_command(&args);
    let text = render::prepare(&out, args.output.as_deref(), &again);
    answer(&out, text, prepare_findings(&out))
}

/// Something is left to do: a planned change, credentials to give, a failed step, an image the
/// final map does not cover.
fn prepare_findings(out: &PrepareOutput) -> bool {
    !out.success
        || !out.credentials_needed.is_empty()
        || (out.dry_run && out.changed)
        || out.all_covered == Some(false)
}

/// The tool's credentials from `--credential`: a user's token is read through `env` (the
/// registry's own variable, or the shared one when a single registry is given by user), so it
/// never sits in the process's arguments.
fn registry_credentials(
    given: &[CredentialArg],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<RegistryCredential>, ToolError> {
    let by_user = given
        .iter()
        .filter(|c| matches!(c.secret, CredentialSecret::User(_)))
        .count();
    given
        .iter()
        .map(|c| {
            let mut credential = RegistryCredential {
                registry: c.registry.clone(),
                username: None,
                access_token: None,
                credential_arn: None,
            };
            match &c.secret {
                CredentialSecret::Arn(arn) => credential.credential_arn = Some(arn.clone()),
                CredentialSecret::User(user) => {
                    let own = args::token_variable(&c.registry);
                    let shared = (by_user == 1)
                        .then(|| env(args::ACCESS_TOKEN_ENV))
                        .flatten();
                    let token = env(&own)
                        .or(shared)
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| {
                            usage(
                                format!(
                                    "--credential {}={user} needs the token in the environment variable {own}.",
                                    c.registry
                                ),
                                format!(
                                    "Set {own} (or {} when one registry is given by user), or give an existing secret: --credential {}=arn:…",
                                    args::ACCESS_TOKEN_ENV,
                                    c.registry
                                ),
                            )
                        })?;
                    credential.username = Some(user.clone());
                    credential.access_token = Some(token);
                }
            }
            Ok(credential)
        })
        .collect()
}

/// The command that applies this plan: the same workflow, profiles and credentials (never a
/// token), with --apply.
fn prepare_command(args: &PrepareArgs) -> String {
    let quoted = |s: &str| match s.chars().any(|c| c.is_whitespace() || c == '\'') {
        true => format!("'{}'", s.replace('\'', r"'\''")),
        false => s.to_owned(),
    };
    let mut line = String::from("healthomics-ecr-mcp prepare");
    if let Some(path) = &args.workflow {
        line.push(' ');
        line.push_str(&quoted(&path.to_string_lossy()));
    }
    if let Some(id) = &args.workflow_id {
        line.push_str(&format!(" --workflow-id {}", quoted(id)));
    }
    for profile in &args.profiles {
        line.push_str(&format!(" --nf-profile {}", quoted(profile)));
    }
    for c in &args.credentials {
        let value = match &c.secret {
            CredentialSecret::Arn(arn) => arn,
            CredentialSecret::User(user) => user,
        };
        line.push_str(&format!(
            " --credential {}",
            quoted(&format!("{}={value}", c.registry))
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(registry: &str, secret: CredentialSecret) -> CredentialArg {
        CredentialArg {
            registry: registry.into(),
            secret,
        }
    }

    #[test]
    fn a_users_token_comes_from_its_registrys_variable() {
        let env =
            |name: &str| (name == "HEALTHOMICS_ECR_TOKEN_DOCKER_HUB").then(|| "t0k".to_owned());
        let got = registry_credentials(
            &[
                given("docker-hub", CredentialSecret::User("bot".into())),
                given("ghcr.io", CredentialSecret::Arn("arn:aws:x".into())),
            ],
            env,
        )
        .map_err(|e| e.message)
        .unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].username.as_deref(), Some("bot"));
        assert_eq!(got[0].access_token.as_deref(), Some("t0k"));
        assert_eq!(got[1].credential_arn.as_deref(), Some("arn:aws:x"));
        assert_eq!(got[1].access_token, None);
    }

    #[test]
    fn the_shared_variable_serves_only_a_single_user() {
        let env = |name: &str| (name == args::ACCESS_TOKEN_ENV).then(|| "shared".to_owned());
        let one = registry_credentials(&[given("quay", CredentialSecret::User("u".into()))], env);
        assert!(one.is_ok_and(|c| c[0].access_token.as_deref() == Some("shared")));
        let two = registry_credentials(
            &[
                given("quay", CredentialSecret::User("u".into())),
                given("ghcr.io", CredentialSecret::User("v".into())),
            ],
            env,
        );
        let err = two.err().map(|e| e.message).unwrap_or_default();
        assert!(err.contains("HEALTHOMICS_ECR_TOKEN_QUAY"), "{err}");
        assert!(!err.contains("shared"), "{err}");
    }

    #[test]
    fn the_apply_command_repeats_the_inputs_without_a_token() {
        let args = PrepareArgs {
            workflow: Some("my flows/main.nf".into()),
            workflow_id: None,
            profiles: vec!["docker".into()],
            credentials: vec![given("docker-hub", CredentialSecret::User("bot".into()))],
            apply: false,
            dry_run: false,
            output: None,
            print: args::OutputArgs { json: false },
        };
        assert_eq!(
            prepare_command(&args),
            "healthomics-ecr-mcp prepare 'my flows/main.nf' --nf-profile docker --credential docker-hub=bot"
        );
    }
}
