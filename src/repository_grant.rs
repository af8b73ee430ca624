//! Grants HealthOmics pull access on one repository, the one way both
//! GrantHealthOmicsRepositoryAccess and CloneContainerToECR do it: read the policy, plan the merge
//! ([`crate::core::plan::grant`]), write it while holding the policy's lock, then read it back and
//! check that this call's statements are there and HealthOmics may pull.

use crate::aws::{AwsCallError, AwsClients, AwsErrorKind, ecr};
use crate::cancellation;
use crate::core::plan::grant::{
    self, GrantPlan, GrantPlanError, GrantRequest, GrantResult, ReadBack,
};
use crate::core::policy::{AccessStatus, PolicyDocument};
use crate::error::{ErrorCode, ToolError};
use crate::write_locks::{WriteLocks, WriteTarget};

/// How often the policy is read again when another writer changes it between our read and our
/// write, before giving up with a conflict.
const CONCURRENT_CHANGE_RETRIES: usize = 3;

/// One grant: which repository, what was asked, and whose call it is.
pub struct GrantCall<'a> {
    pub repository: &'a str,
    pub request: &'a GrantRequest,
    /// Plan only: nothing is locked or written.
    pub dry_run: bool,
    /// The tool making the call, and what it had already changed (said if the client cancels
    /// before the write).
    pub tool: &'static str,
    pub done: &'a [String],
}

/// Reads, plans, writes (when the plan says so) and verifies. A missing repository, a denied
/// read, an invalid policy or a statement we did not write that still blocks access stop it
/// before any write.
pub async fn grant(
    clients: &AwsClients,
    locks: &WriteLocks,
    call: GrantCall<'_>,
) -> Result<GrantResult, ToolError> {
    let name = call.repository;
    // One writer of this policy at a time in this process (dry runs write nothing).
    let _guard = if call.dry_run {
        None
    } else {
        let scope = clients.write_scope().await;
        let target = WriteTarget::RepositoryPolicy(name.to_owned());
        Some(locks.lock(&scope, &[target]).await)
    };
    let (before, plan) = read_and_plan(clients, name, call.request, call.dry_run).await?;
    let to_write = match &plan.write {
        Some(document) if !call.dry_run => document.to_json_pretty(),
        _ => {
            return Ok(GrantResult {
                before,
                plan,
                read_back: None,
            });
        }
    };
    cancellation::check_before_write(call.tool, call.done)?;
    ecr::set_repository_policy(&clients.ecr, name, &to_write)
        .await
        .map_err(|e| e.into_tool_error(Some(name)))?;
    let read_back = verify(clients, name, &plan).await?;
    Ok(GrantResult {
        before,
        plan,
        read_back: Some(read_back),
    })
}

/// The policy as read and the plan for it. Right before a write the policy is read again: if
/// another writer (another process, a person) moved it, the plan is made again.
async fn read_and_plan(
    clients: &AwsClients,
    name: &str,
    request: &GrantRequest,
    dry_run: bool,
) -> Result<(Option<PolicyDocument>, GrantPlan), ToolError> {
    for _ in 0..CONCURRENT_CHANGE_RETRIES {
        let text = read_policy(clients, name).await?;
        let before = text
            .as_deref()
            .map(PolicyDocument::parse)
            .transpose()
            .map_err(|err| invalid_policy(name, &err.to_string()))?;
        let plan = grant::plan_grant(before.as_ref(), request).map_err(|e| plan_error(e, name))?;
        if dry_run || plan.write.is_none() || read_policy(clients, name).await? == text {
            return Ok((before, plan));
        }
    }
    Err(ToolError::new(
        ErrorCode::Conflict,
        format!(
            "The policy of `{name}` kept changing while this call tried to merge into it; nothing was written."
        ),
        "Another writer is changing this repository policy right now: wait for it to finish, then run this tool again.",
    ))
}

/// Reads the policy back: this call's statements must be in what ECR holds, and HealthOmics
/// must be able to pull.
async fn verify(clients: &AwsClients, name: &str, plan: &GrantPlan) -> Result<ReadBack, ToolError> {
    let written = format!("the policy of `{name}` was written");
    let text = ecr::repository_policy(&clients.ecr, name)
        .await
        .map_err(|e| {
            ToolError::new(
                ErrorCode::VerificationFailed,
                format!("The policy of `{name}` was written but could not be read back: {e}"),
                "Allow `ecr:GetRepositoryPolicy`, then check with ListECRRepositories.",
            )
            .with_details(serde_json::json!({ "completed": [written] }))
        })?;
    let document = text
        .as_deref()
        .map(PolicyDocument::parse)
        .transpose()
        .ok()
        .flatten();
    let access = grant::healthomics_access(document.as_ref());
    let ours_kept = grant::holds_our_statements(
        document.as_ref(),
        &plan.expected_statements,
        &plan.expected_absent_sids,
    );
    if !ours_kept || access.status != AccessStatus::Accessible {
        return Err(ToolError::new(
            ErrorCode::VerificationFailed,
            format!(
                "The policy of `{name}` was written, but reading it back shows {}: HealthOmics access is {}.",
                if ours_kept { "our statements" } else { "our statements are not all there" },
                grant::status_word(access.status)
            ),
            "Another writer changed the policy after ours: inspect it (`aws ecr get-repository-policy`) and run this tool again; it merges, never replaces.",
        )
        .with_details(serde_json::json!({ "completed": [written], "policy_read_back": text })));
    }
    Ok(ReadBack { document, access })
}

async fn read_policy(clients: &AwsClients, name: &str) -> Result<Option<String>, ToolError> {
    ecr::repository_policy(&clients.ecr, name)
        .await
        .map_err(|e| read_error(e, name))
}

fn read_error(err: AwsCallError, name: &str) -> ToolError {
    if err.kind == AwsErrorKind::NotFound {
        return ToolError::new(
            ErrorCode::NotFound,
            format!("Repository `{name}` does not exist in this region."),
            "Check the name and region with ListECRRepositories; to copy an image into a new repository use CloneContainerToECR.",
        );
    }
    err.into_tool_error(Some(name))
}

fn invalid_policy(name: &str, why: &str) -> ToolError {
    ToolError::new(
        ErrorCode::InvalidPolicy,
        format!(
            "The repository policy of `{name}` is not a valid IAM policy: {why}. Nothing was changed."
        ),
        format!(
            "Fix or replace the policy (`aws ecr get-repository-policy --repository-name {name}`), then run this tool again."
        ),
    )
}

fn plan_error(err: GrantPlanError, name: &str) -> ToolError {
    match err {
        GrantPlanError::Blocked(planned) => ToolError::new(
            ErrorCode::Conflict,
            format!(
                "Adding the HealthOmics statement to `{name}` would not give access, because statements this tool did not write still block it: {}. Nothing was changed.",
                grant::blockers(&planned).join("; ")
            ),
            "Remove or narrow the blocking statement yourself (this tool never removes statements it did not write), then run it again.",
        )
        .with_details(serde_json::json!({ "planned_access": planned })),
        GrantPlanError::Merge(why) => ToolError::new(
            ErrorCode::Internal,
            format!("Could not merge the policy of `{name}`: {why}. Nothing was changed."),
            "Report this bug with the policy shape (no secrets).",
        ),
    }
}
