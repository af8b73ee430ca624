//! Logging goes to stderr only: stdout carries the MCP protocol.
//!
//! Users coming from the Python server set `FASTMCP_LOG_LEVEL`; its names are not tracing
//! directives (`WARNING` would parse as a target name and silence everything), so they are
//! mapped here. `RUST_LOG`, when set, overrides.

use tracing_subscriber::EnvFilter;

/// The default when nothing is configured: warnings and errors only.
const DEFAULT_LEVEL: &str = "warn";

/// Targets that log whole requests at debug/trace level (MCP tool arguments, AWS request bodies),
/// which can hold registry tokens. They are capped whatever the user asks for: secrets never
/// reach the logs.
const SECRET_BEARING_TARGETS: [&str; 5] = [
    "rmcp::service=info",
    "aws_smithy_runtime=info",
    "aws_smithy_runtime_api=info",
    "aws_smithy_http_client=info",
    "hyper=info",
];

/// Maps a FastMCP/Python level name to a tracing level directive.
pub fn fastmcp_level(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARNING" | "WARN" => Some("warn"),
        "ERROR" | "CRITICAL" | "FATAL" => Some("error"),
        "OFF" | "NONE" => Some("off"),
        _ => None,
    }
}

/// The filter from `RUST_LOG`, else `FASTMCP_LOG_LEVEL`, else `--log-level`, else warn.
pub fn filter(rust_log: Option<&str>, fastmcp: Option<&str>, flag: Option<&str>) -> EnvFilter {
    let requested = rust_log
        .filter(|v| !v.trim().is_empty())
        .and_then(|directives| EnvFilter::try_new(directives).ok());
    let mut filter = requested.unwrap_or_else(|| {
        let level = fastmcp
            .and_then(fastmcp_level)
            .or_else(|| flag.and_then(fastmcp_level))
            .unwrap_or(DEFAULT_LEVEL);
        EnvFilter::new(level)
    });
    for cap in SECRET_BEARING_TARGETS {
        if let Ok(directive) = cap.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the stderr subscriber; safe to call once at start-up.
pub fn init(flag: Option<&str>) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let fastmcp = std::env::var("FASTMCP_LOG_LEVEL").ok();
    let filter = filter(rust_log.as_deref(), fastmcp.as_deref(), flag);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_level_names_map_to_tracing_levels() {
        let table = [
            ("DEBUG", Some("debug")),
            ("info", Some("info")),
            ("WARNING", Some("warn")),
            ("WARN", Some("warn")),
            ("ERROR", Some("error")),
            ("CRITICAL", Some("error")),
            ("LOUD", None),
        ];
        for (input, expected) in table {
            assert_eq!(fastmcp_level(input), expected, "{input}");
        }
    }

    #[test]
    fn rust_log_overrides_fastmcp_level() {
        let directives =
            |f: EnvFilter| -> Vec<String> { f.to_string().split(',').map(str::to_owned).collect() };
        let f = directives(filter(
            Some("healthomics_ecr_mcp=trace"),
            Some("ERROR"),
            None,
        ));
        assert!(
            f.contains(&"healthomics_ecr_mcp=trace".to_owned()) && !f.contains(&"error".to_owned()),
            "{f:?}"
        );
        assert!(
            directives(filter(None, Some("WARNING"), Some("debug"))).contains(&"warn".to_owned())
        );
        assert!(directives(filter(None, None, Some("INFO"))).contains(&"info".to_owned()));
        assert!(directives(filter(Some(""), None, None)).contains(&"warn".to_owned()));
    }

    #[test]
    fn request_logging_targets_are_capped_even_at_trace() {
        let f = filter(Some("trace,rmcp=trace"), None, None).to_string();
        for cap in SECRET_BEARING_TARGETS {
            assert!(f.contains(cap), "{f} lacks {cap}");
        }
    }
}
