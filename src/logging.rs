//! Logging goes to stderr only: stdout carries the MCP protocol.
//!
//! Users coming from the Python server set `FASTMCP_LOG_LEVEL`; its names are not tracing
//! directives (`WARNING` would parse as a target name and silence everything), so they are
//! mapped here. `RUST_LOG`, when set, overrides.

use tracing_subscriber::EnvFilter;

/// The default when nothing is configured: warnings and errors only.
const DEFAULT_LEVEL: &str = "warn";

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
    if let Some(directives) = rust_log.filter(|v| !v.trim().is_empty())
        && let Ok(filter) = EnvFilter::try_new(directives)
    {
        return filter;
    }
    let level = fastmcp
        .and_then(fastmcp_level)
        .or_else(|| flag.and_then(fastmcp_level))
        .unwrap_or(DEFAULT_LEVEL);
    EnvFilter::new(level)
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
        let f = filter(Some("healthomics_ecr_mcp=trace"), Some("ERROR"), None);
        assert_eq!(f.to_string(), "healthomics_ecr_mcp=trace");
        assert_eq!(
            filter(None, Some("WARNING"), Some("debug")).to_string(),
            "warn"
        );
        assert_eq!(filter(None, None, Some("INFO")).to_string(), "info");
        assert_eq!(filter(Some(""), None, None).to_string(), "warn");
    }
}
