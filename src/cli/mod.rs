//! The command line: the same tools, run by hand or from a script instead of by an assistant.
//!
//! A command builds its tool's parameters from flags and calls the very handler an MCP client
//! reaches ([`commands`]), so every verdict and fix is the tool's own. The result is printed as
//! a person reads it ([`render`]) or, with `--json`, as the exact structured result an MCP
//! client gets. Exit codes let a script branch: [`EXIT_OK`], [`EXIT_FINDINGS`], [`EXIT_USAGE`],
//! [`EXIT_AWS`].

pub mod args;
mod commands;
mod progress;
pub mod render;

use std::process::ExitCode;
use std::time::Duration;

use crate::aws::{AwsContext, AwsDefaults, AwsTimeouts};
use crate::error::{ErrorCode, ToolError};
use crate::server::{HealthOmicsEcrServer, ServerOptions};
use args::{Command, GlobalArgs};
use commands::Answered;

/// Every call answered and nothing to act on.
pub const EXIT_OK: u8 = 0;
/// A result a script should stop on: validation errors or warnings, an image missing or not
/// pullable, a repository or cache HealthOmics cannot use, an image the map does not cover,
/// a workflow `prepare` has not finished preparing.
pub const EXIT_FINDINGS: u8 = 1;
/// Bad flags or input (clap's errors and the tools' `invalid_input`).
pub const EXIT_USAGE: u8 = 2;
/// Any other tool error: AWS refused, failed or timed out, a registry failed.
pub const EXIT_AWS: u8 = 3;

/// The AWS context from the global flags, the same for the server and the commands.
pub fn aws_context(global: &GlobalArgs) -> AwsContext {
    AwsContext::new(AwsDefaults {
        profile: global.profile.clone(),
        region: global.region.clone(),
        timeouts: AwsTimeouts {
            attempt: Duration::from_secs(global.aws_attempt_timeout.min(global.aws_timeout)),
            operation: Duration::from_secs(global.aws_timeout),
        },
    })
}

/// The exit code a tool error maps to.
pub fn exit_code_of(error: &ToolError) -> u8 {
    match error.code {
        ErrorCode::InvalidInput => EXIT_USAGE,
        _ => EXIT_AWS,
    }
}

/// Runs one command (not `serve`) and prints its results; returns the process's exit code.
pub fn run(global: GlobalArgs, command: Command) -> ExitCode {
    let mirrors = match crate::oci::Mirrors::from_flags_and_env(&global.registry_mirror) {
        Ok(mirrors) => mirrors,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let server = HealthOmicsEcrServer::new(
        aws_context(&global),
        ServerOptions {
            read_only: global.read_only,
            mirrors,
        },
    );
    let (json, answers) = runtime.block_on(dispatch(&server, command));
    let code = answers
        .iter()
        .map(|answered| print(answered, json))
        .max()
        .unwrap_or(EXIT_OK);
    // Nothing of ours is left running; do not wait for idle connections.
    runtime.shutdown_timeout(Duration::from_millis(500));
    ExitCode::from(code)
}

/// Runs the command; says whether it prints JSON.
async fn dispatch(server: &HealthOmicsEcrServer, command: Command) -> (bool, Vec<Answered>) {
    match command {
        Command::Serve => (false, Vec::new()),
        Command::Validate(a) => (a.output.json, commands::validate(server, a).await),
        Command::Repos(a) => (a.output.json, commands::repos(server, a).await),
        Command::Rules(a) => (a.output.json, commands::rules(server, a).await),
        Command::Check(a) => (a.output.json, commands::check(server, a).await),
        Command::Clone(a) => (a.output.json, commands::clone(server, a).await),
        Command::Grant(a) => (a.output.json, commands::grant(server, a).await),
        Command::Map(a) => (a.print.json, commands::map(server, a).await),
        Command::Cache(a) => (a.output.json, commands::cache(server, a).await),
        Command::Prepare(a) => (a.print.json, commands::prepare(server, a).await),
    }
}

/// Prints one call's result (stdout) or error (stderr; with `--json` also the error object on
/// stdout, as an MCP client gets it) and returns its exit code.
fn print(answered: &Answered, json: bool) -> u8 {
    match answered {
        Ok(answer) => {
            if json {
                println!("{}", answer.json);
            } else {
                print!("{}", answer.text);
            }
            if let Some(code) = answer.errors_exit {
                code
            } else if answer.findings {
                EXIT_FINDINGS
            } else {
                EXIT_OK
            }
        }
        Err(error) => {
            eprintln!("{}", error.text());
            if json {
                println!("{}", serde_json::json!({ "error": error }));
            }
            exit_code_of(error)
        }
    }
}
