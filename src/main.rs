//! The `healthomics-ecr-mcp` binary: parse flags, start logging, serve MCP over stdio.

use std::process::ExitCode;

use clap::Parser;
use healthomics_ecr_mcp::aws::{AwsContext, AwsDefaults};
use healthomics_ecr_mcp::{HealthOmicsEcrServer, ServerOptions, logging};
use rmcp::ServiceExt;

/// MCP server (stdio) that makes AWS HealthOmics workflows able to pull their containers from
/// private Amazon ECR. Logs go to stderr; stdout carries the protocol.
#[derive(Debug, Parser)]
#[command(name = "healthomics-ecr-mcp", version, about)]
struct Cli {
    /// Default AWS region (a tool call's aws_region wins; else AWS_REGION, AWS_DEFAULT_REGION,
    /// the profile's region).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Default AWS profile (a tool call's aws_profile wins; else AWS_PROFILE).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
    /// Offer only tools that change nothing in the account.
    #[arg(long)]
    read_only: bool,
    /// Send registry traffic for HOST to URL, e.g. `quay.io=http://127.0.0.1:5001` (repeatable;
    /// also HEALTHOMICS_ECR_REGISTRY_MIRRORS="h1=url1,h2=url2"). Image names are unchanged.
    #[arg(long = "registry-mirror", value_name = "HOST=URL")]
    registry_mirror: Vec<String>,
    /// Log level when neither RUST_LOG nor FASTMCP_LOG_LEVEL is set (DEBUG, INFO, WARNING, ERROR).
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            print!("{err}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let rendered = err.to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first} (see --help)");
            return ExitCode::from(2);
        }
    };
    logging::init(cli.log_level.as_deref());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("healthomics-ecr-mcp: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mirrors = healthomics_ecr_mcp::oci::Mirrors::from_flags_and_env(&cli.registry_mirror)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let aws = AwsContext::new(AwsDefaults {
            profile: cli.profile,
            region: cli.region,
        });
        let server = HealthOmicsEcrServer::new(
            aws,
            ServerOptions {
                read_only: cli.read_only,
                mirrors,
            },
        );
        let running = match server.serve(rmcp::transport::stdio()).await {
            Ok(running) => running,
            Err(err) => {
                // The client went away before initializing (e.g. stdin closed): not a failure.
                tracing::info!("client disconnected before initialization: {err}");
                return Ok(());
            }
        };
        running.waiting().await?;
        Ok(())
    })
}
