//! The `healthomics-ecr-mcp` binary: parse flags, start logging, serve MCP over stdio.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use healthomics_ecr_mcp::aws::{AwsContext, AwsDefaults, AwsTimeouts};
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
    /// Seconds one AWS call may take in all, retries included.
    #[arg(long, value_name = "SECONDS", env = "HEALTHOMICS_ECR_AWS_TIMEOUT", default_value_t = 40,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    aws_timeout: u64,
    /// Seconds one attempt of an AWS call may take before it is retried.
    #[arg(long, value_name = "SECONDS", env = "HEALTHOMICS_ECR_AWS_ATTEMPT_TIMEOUT", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    aws_attempt_timeout: u64,
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
    let served = runtime.block_on(async {
        let aws = AwsContext::new(AwsDefaults {
            profile: cli.profile,
            region: cli.region,
            timeouts: AwsTimeouts {
                attempt: Duration::from_secs(cli.aws_attempt_timeout.min(cli.aws_timeout)),
                operation: Duration::from_secs(cli.aws_timeout),
            },
        });
        let server = HealthOmicsEcrServer::new(
            aws,
            ServerOptions {
                read_only: cli.read_only,
                mirrors,
            },
        );
        // Cancelled when stdout breaks: nothing in flight may go on once no answer can reach
        // the client.
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stdio = healthomics_ecr_mcp::transport::stdio(shutdown.clone());
        let served = match server.serve_with_ct(stdio.pipes, shutdown).await {
            Ok(running) => running
                .waiting()
                .await
                .map(drop)
                .map_err(anyhow::Error::from),
            Err(err) => {
                // The client went away before initializing (e.g. stdin closed): not a failure.
                tracing::info!("client disconnected before initialization: {err}");
                Ok(())
            }
        };
        // Let the last answers reach stdout (bounded: a stalled reader must not keep us).
        let _ = tokio::time::timeout(Duration::from_secs(2), stdio.output_done).await;
        served
    });
    // stdin is read by a blocking thread that nothing can interrupt: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    served
}
