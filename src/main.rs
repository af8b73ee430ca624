//! The `healthomics-ecr-mcp` binary: parse flags, start logging, then serve MCP over stdio (no
//! command, or `serve`) or run one command of the command line.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use healthomics_ecr_mcp::cli::args::{Cli, Command, GlobalArgs};
use healthomics_ecr_mcp::cli::{self, EXIT_USAGE};
use healthomics_ecr_mcp::{HealthOmicsEcrServer, ServerOptions, logging};
use rmcp::ServiceExt;

fn main() -> ExitCode {
    one_malloc_arena();
    let parsed = match Cli::try_parse() {
        Ok(parsed) => parsed,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            print!("{err}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // One line: clap's first paragraph (the error and what it names), not the usage.
            let rendered = err.to_string();
            let first: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see --help)", first.join(" "));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    logging::init(parsed.global.log_level.as_deref());
    match parsed.command {
        None | Some(Command::Serve) => {}
        Some(command) => return cli::run(parsed.global, command),
    }
    match serve(parsed.global) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("healthomics-ecr-mcp: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(global: GlobalArgs) -> anyhow::Result<()> {
    let mirrors = healthomics_ecr_mcp::oci::Mirrors::from_flags_and_env(&global.registry_mirror)?;
    let server = HealthOmicsEcrServer::new(
        cli::aws_context(&global),
        ServerOptions {
            read_only: global.read_only,
            mirrors,
        },
    );
    // First, so that the tool schemas are built while the runtime starts and the client
    // initializes (tools/list and tools/call wait for them).
    server.build_tools_in_background();
    // Two workers whatever the machine: the server waits on AWS and registries nearly all the
    // time, so a worker per core only costs stacks and malloc arenas on big machines, while a
    // second worker keeps answering (and honouring a cancellation) while the first hashes a
    // large blob in a copy. (A single current-thread runtime measured 0.3 MiB less peak RSS
    // in the release build on 2 cores: not worth a server that stalls during a copy.)
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let served = runtime.block_on(async {
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

/// glibc's malloc gives each thread that allocates an arena of its own (up to 8 per core), and
/// memory freed into one arena serves only the threads using it: the runtime's workers, the
/// blocking pool and the tool-router thread each kept their own, and anonymous memory after the
/// benchmark's tool workload was 5.0 MiB against 3.0 with one arena shared by all (peak RSS
/// 18.3 -> 16.5 MiB). The server waits on the network nearly all the time, so the one lock costs
/// nothing measurable. `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`, when set, are left to decide.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: mallopt only sets a parameter of the allocator; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}
