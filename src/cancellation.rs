//! The client's cancellation of the tool call in flight, visible to the code that writes.
//!
//! rmcp signals `notifications/cancelled` through a token and keeps running the handler, so a
//! mutating tool asks before each write whether the caller still wants it.

use tokio_util::sync::CancellationToken;

use crate::error::{ErrorCode, ToolError};

tokio::task_local! {
    static CURRENT: CancellationToken;
}

/// Runs `work` as the tool call that `token` cancels.
pub async fn scope<F: std::future::Future>(token: CancellationToken, work: F) -> F::Output {
    CURRENT.scope(token, work).await
}

pub fn is_cancelled() -> bool {
    CURRENT
        .try_with(CancellationToken::is_cancelled)
        .unwrap_or(false)
}

/// Stops a mutating tool before its next write once the client has cancelled; `done` lists what
/// the call had already changed, so whoever reads the log (or a later call) knows the state.
pub fn check_before_write(tool: &str, done: &[String]) -> Result<(), ToolError> {
    if !is_cancelled() {
        return Ok(());
    }
    let already = if done.is_empty() {
        "nothing".to_owned()
    } else {
        done.join("; ")
    };
    tracing::info!(tool, already = %already, "cancelled before a write");
    Err(ToolError::new(
        ErrorCode::Cancelled,
        format!(
            "{tool} was cancelled by the client before its next write. Already changed: {already}."
        ),
        format!("Run {tool} again with the same arguments to finish; it reuses what exists."),
    )
    .with_details(serde_json::json!({ "completed": done })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outside_a_call_nothing_is_cancelled() {
        assert!(!is_cancelled());
        assert!(check_before_write("X", &[]).is_ok());
    }

    #[tokio::test]
    async fn a_cancelled_call_stops_and_lists_what_was_done() {
        let token = CancellationToken::new();
        token.cancel();
        let result = scope(token, async {
            check_before_write("Grant", &["created x".into()])
        })
        .await;
        let err = result.err().unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(err.code, ErrorCode::Cancelled);
        assert!(err.message.contains("created x"), "{}", err.message);
    }
}
