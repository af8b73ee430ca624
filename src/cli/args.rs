//! The command line's grammar: the global flags (the server's, valid before or after any
//! command) and one argument struct per command. Parsing only; what a command does is in
//! [`super::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Makes AWS HealthOmics workflows able to pull their containers from private Amazon ECR.
/// With no command (or `serve`) it is an MCP server on stdio: stdout carries the protocol and
/// logs go to stderr. The commands run the same checks and fixes by hand or from scripts; exit
/// codes: 0 fine, 1 findings, 2 usage or input error, 3 AWS error.
#[derive(Debug, Parser)]
#[command(name = "healthomics-ecr-mcp", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags that shape every call, the server's and every command's.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Default AWS region (a tool call's aws_region wins; else AWS_REGION, AWS_DEFAULT_REGION,
    /// the profile's region).
    #[arg(long, value_name = "REGION", global = true)]
    pub region: Option<String>,
    /// Default AWS profile (a tool call's aws_profile wins; else AWS_PROFILE).
    #[arg(long, value_name = "PROFILE", global = true)]
    pub profile: Option<String>,
    /// Offer only tools that change nothing in the account (commands: only --dry-run writes).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Send registry traffic for HOST to URL, e.g. `quay.io=http://127.0.0.1:5001` (repeatable;
    /// also HEALTHOMICS_ECR_REGISTRY_MIRRORS="h1=url1,h2=url2"). Image names are unchanged.
    #[arg(long = "registry-mirror", value_name = "HOST=URL", global = true)]
    pub registry_mirror: Vec<String>,
    /// Seconds one AWS call may take in all, retries included.
    #[arg(long, value_name = "SECONDS", env = "HEALTHOMICS_ECR_AWS_TIMEOUT", default_value_t = 40,
          value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub aws_timeout: u64,
    /// Seconds one attempt of an AWS call may take before it is retried.
    #[arg(long, value_name = "SECONDS", env = "HEALTHOMICS_ECR_AWS_ATTEMPT_TIMEOUT", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub aws_attempt_timeout: u64,
    /// Log level when neither RUST_LOG nor FASTMCP_LOG_LEVEL is set (DEBUG, INFO, WARNING, ERROR).
    /// The server and the commands both default to WARNING.
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (the default when no command is given).
    Serve,
    /// Audit the region's caches, registry policy, templates, credentials and repositories
    /// (ValidateHealthOmicsECRConfig). Exit 1 when it finds an error or a warning.
    Validate(ValidateArgs),
    /// List repositories with HealthOmics' access verdict on each (ListECRRepositories). Exit 1
    /// when a listed repository is not plainly accessible.
    Repos(ReposArgs),
    /// List pull-through cache rules and whether HealthOmics can use each
    /// (ListPullThroughCacheRules). Exit 1 when a rule is not usable.
    Rules(RulesArgs),
    /// Check images: in private ECR, pullable by HealthOmics, container rules
    /// (CheckContainerAvailability; several images in one batch). Exit 1 when one is missing or
    /// not pullable.
    Check(CheckArgs),
    /// Copy images into private ECR and grant HealthOmics access (CloneContainerToECR; several
    /// images in one batch). Exit 1 when a copy is not verified or not accessible.
    Clone(CloneArgs),
    /// Merge the HealthOmics pull statement into a repository's policy
    /// (GrantHealthOmicsRepositoryAccess). Exit 1 when HealthOmics still cannot pull.
    Grant(GrantArgs),
    /// Build a container registry map and check which images it covers
    /// (CreateContainerRegistryMap). Exit 1 when an image is not covered.
    Map(MapArgs),
    /// Create a pull-through cache HealthOmics can use (CreatePullThroughCacheForHealthOmics).
    /// Exit 1 when the cache is not usable afterwards.
    Cache(CacheArgs),
    /// Everything a workflow's containers need: caches, clones, grants, warm pulls and the
    /// final map (PrepareWorkflowContainers). A dry run unless --apply. Exit 1 when something
    /// is left to do: a change planned, credentials needed, a step failed or an image uncovered.
    Prepare(PrepareArgs),
}

/// How a command prints its result.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the tool's structured result (the JSON an MCP client gets), one line per call.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Also check the container registry map of this HealthOmics workflow.
    #[arg(long, value_name = "ID", conflicts_with = "registry_map")]
    pub workflow_id: Option<String>,
    /// Also check this container registry map (a JSON file in the HealthOmics API shape).
    #[arg(long, value_name = "FILE")]
    pub registry_map: Option<PathBuf>,
    /// Skip the repositories already created under each cache prefix.
    #[arg(long)]
    pub skip_repositories: bool,
    /// Show every fix in full (the complete policies).
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReposArgs {
    /// Only repositories HealthOmics can pull from.
    #[arg(long)]
    pub accessible_only: bool,
    /// Page size (1–1000).
    #[arg(long, value_name = "N", default_value_t = crate::tools::DEFAULT_MAX_RESULTS)]
    pub max_results: u32,
    /// The next_token of the previous page.
    #[arg(long, value_name = "TOKEN")]
    pub next_token: Option<String>,
    /// Every action's verdict and the statement that decided it.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Page size (1–1000).
    #[arg(long, value_name = "N", default_value_t = crate::tools::DEFAULT_MAX_RESULTS)]
    pub max_results: u32,
    /// The next_token of the previous page.
    #[arg(long, value_name = "TOKEN")]
    pub next_token: Option<String>,
    /// Every action's verdict and the statement that decided it.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Image references: private ECR URIs, or upstream references resolved through the
    /// account's pull-through caches (e.g. `quay.io/biocontainers/samtools:1.19`).
    #[arg(value_name = "IMAGE", required_unless_present = "repository")]
    pub images: Vec<String>,
    /// An ECR repository by name instead of an image reference.
    #[arg(long, value_name = "NAME", conflicts_with = "images")]
    pub repository: Option<String>,
    /// Tag in --repository (default latest).
    #[arg(long, value_name = "TAG", requires = "repository")]
    pub tag: Option<String>,
    /// Digest in --repository (wins over --tag).
    #[arg(long, value_name = "DIGEST", requires = "repository")]
    pub digest: Option<String>,
    /// Pull a missing image through its cache now (creates the repository: a write).
    #[arg(long)]
    pub initiate_pull_through: bool,
    /// Also list every layer's files to find content under /tmp (slower).
    #[arg(long)]
    pub inspect_layers: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// Images to copy (any reference).
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// ECR repository to copy into (one image only); default: the registry's usual prefix plus
    /// the source path.
    #[arg(long, value_name = "NAME")]
    pub target_repository: Option<String>,
    /// Tag for the copy (one image only); default: the source tag.
    #[arg(long, value_name = "TAG")]
    pub target_tag: Option<String>,
    /// Platform to copy from a multi-arch image (default linux/amd64).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Secrets Manager secret with the source registry's credentials.
    #[arg(long, value_name = "ARN")]
    pub source_credential_arn: Option<String>,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The ECR repository.
    #[arg(value_name = "REPO")]
    pub repository: String,
    /// Also let workflows owned by this account pull (repeatable).
    #[arg(long = "workflow-owner", value_name = "ACCOUNT")]
    pub workflow_owners: Vec<String>,
    /// Stop letting workflows of this account pull (repeatable).
    #[arg(long = "remove-workflow-owner", value_name = "ACCOUNT")]
    pub remove_workflow_owners: Vec<String>,
    /// Show the policy that would be written and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Show the policies before and after.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct MapArgs {
    /// A local workflow definition (WDL, Nextflow, CWL file or folder) whose images to cover.
    #[arg(value_name = "WORKFLOW")]
    pub workflow: Option<PathBuf>,
    /// An image to cover (repeatable).
    #[arg(long = "image", value_name = "IMAGE")]
    pub images: Vec<String>,
    /// A HealthOmics workflow: its current map is checked, its definition read.
    #[arg(long, value_name = "ID")]
    pub workflow_id: Option<String>,
    /// A Nextflow profile the run uses (repeatable): only its configs' images count.
    #[arg(long = "nf-profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Account of the ECR repositories the map points at (default: this account).
    #[arg(long, value_name = "ACCOUNT")]
    pub ecr_account_id: Option<String>,
    /// Region of those repositories (default: the call's region).
    #[arg(long, value_name = "REGION")]
    pub ecr_region: Option<String>,
    /// Leave the account's pull-through caches out of the map.
    #[arg(long)]
    pub no_caches: bool,
    /// Start from this map (a JSON file, e.g. from `prepare --output`): its image mappings and
    /// its copy or cross-account registry mappings are kept; its plain cache mappings are found
    /// again from the account's caches, so a cache gone missing shows.
    #[arg(long, value_name = "FILE")]
    pub registry_map: Option<PathBuf>,
    /// Write the containerRegistryMap JSON here (for `aws omics create-workflow
    /// --container-registry-map file://FILE`).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also each image's host, matched mapping, fix and problem wording, and every file read.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub print: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// The upstream: docker-hub, quay, ecr-public, kubernetes, github, gitlab or azure.
    #[arg(value_name = "REGISTRY")]
    pub upstream_registry: String,
    /// ECR repository prefix for the cache (default: the registry's usual prefix).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// An existing `ecr-pullthroughcache/` secret with the upstream credentials.
    #[arg(long, value_name = "ARN")]
    pub credential_arn: Option<String>,
    /// Upstream user name; with --access-token a secret is created.
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Upstream access token (better from the environment than on a command line).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "HEALTHOMICS_ECR_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<String>,
    /// Upstream URL, for azure and gitlab hosts of your own.
    #[arg(long, value_name = "URL")]
    pub upstream_url: Option<String>,
    /// Upstream repository prefix the cache is limited to.
    #[arg(long, value_name = "PREFIX")]
    pub upstream_prefix: Option<String>,
    /// Show the planned changes and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Show the documents before and after.
    #[arg(long)]
    pub detail: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The environment variable `--credential REGISTRY=USER` reads the registry's token from when
/// only one registry is given that way (the one `cache --access-token` reads too).
pub const ACCESS_TOKEN_ENV: &str = "HEALTHOMICS_ECR_ACCESS_TOKEN";

/// The prefix of the per-registry token variables: `HEALTHOMICS_ECR_TOKEN_DOCKER_HUB`.
pub const TOKEN_ENV_PREFIX: &str = "HEALTHOMICS_ECR_TOKEN_";

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// A local workflow definition (WDL, Nextflow or CWL file, folder or zip).
    #[arg(value_name = "WORKFLOW", required_unless_present = "workflow_id")]
    pub workflow: Option<PathBuf>,
    /// A HealthOmics workflow instead: its definition is read from the account.
    #[arg(long, value_name = "ID", conflicts_with = "workflow")]
    pub workflow_id: Option<String>,
    /// A Nextflow profile the run uses (repeatable): only its configs' images count.
    #[arg(long = "nf-profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Credentials for one upstream registry (repeatable): `REGISTRY=arn:…` names an existing
    /// Secrets Manager secret; `REGISTRY=USER` a user whose token is read from the environment,
    /// never from the command line: HEALTHOMICS_ECR_TOKEN_<REGISTRY> (upper case, every other
    /// character `_`: HEALTHOMICS_ECR_TOKEN_DOCKER_HUB, HEALTHOMICS_ECR_TOKEN_GHCR_IO), or
    /// HEALTHOMICS_ECR_ACCESS_TOKEN when one registry is given so.
    #[arg(long = "credential", value_name = "REGISTRY=ARN|USER", value_parser = parse_credential)]
    pub credentials: Vec<CredentialArg>,
    /// Carry the plan out (default: plan only, change nothing).
    #[arg(long, conflicts_with = "dry_run")]
    pub apply: bool,
    /// Plan only and change nothing (the default; for scripts that say so).
    #[arg(long)]
    pub dry_run: bool,
    /// Write the final containerRegistryMap JSON here (for `aws omics create-workflow
    /// --container-registry-map file://FILE`); a dry run writes the map as it will be.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub print: OutputArgs,
}

/// One `--credential`: the registry, and an existing secret's ARN or a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialArg {
    pub registry: String,
    pub secret: CredentialSecret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSecret {
    Arn(String),
    /// The token comes from the environment ([`token_variable`]).
    User(String),
}

fn parse_credential(value: &str) -> Result<CredentialArg, String> {
    let (registry, rest) = value
        .split_once('=')
        .map(|(r, v)| (r.trim(), v.trim()))
        .filter(|(r, v)| !r.is_empty() && !v.is_empty())
        .ok_or_else(|| {
            format!("`{value}` is not REGISTRY=ARN or REGISTRY=USER (e.g. docker-hub=ci-bot)")
        })?;
    let secret = match rest.starts_with("arn:") {
        true => CredentialSecret::Arn(rest.to_owned()),
        false => CredentialSecret::User(rest.to_owned()),
    };
    Ok(CredentialArg {
        registry: registry.to_owned(),
        secret,
    })
}

/// The environment variable holding `registry`'s token: `docker-hub` → HEALTHOMICS_ECR_TOKEN_DOCKER_HUB.
pub fn token_variable(registry: &str) -> String {
    let name: String = registry
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect();
    format!("{TOKEN_ENV_PREFIX}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_names_a_secret_or_a_user_never_a_token() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/gh";
        assert_eq!(
            parse_credential(&format!("ghcr.io={arn}")),
            Ok(CredentialArg {
                registry: "ghcr.io".into(),
                secret: CredentialSecret::Arn(arn.into()),
            })
        );
        assert_eq!(
            parse_credential("docker-hub=ci-bot"),
            Ok(CredentialArg {
                registry: "docker-hub".into(),
                secret: CredentialSecret::User("ci-bot".into()),
            })
        );
        for bad in ["docker-hub", "=ci-bot", "docker-hub=", " = "] {
            assert!(parse_credential(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_registry_has_its_own_token_variable() {
        assert_eq!(
            token_variable("docker-hub"),
            "HEALTHOMICS_ECR_TOKEN_DOCKER_HUB"
        );
        assert_eq!(token_variable("ghcr.io"), "HEALTHOMICS_ECR_TOKEN_GHCR_IO");
        assert_ne!(token_variable("ghcr.io"), token_variable("quay.io"));
    }
}
