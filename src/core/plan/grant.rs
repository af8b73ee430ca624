//! The plan of `GrantHealthOmicsRepositoryAccess`: from the repository policy as read to the
//! policy to write (if any), the workflow-owner accounts before and after, and the verdicts.
//!
//! Owner accounts accumulate: a grant for account B keeps account A, because A's cross-account
//! workflows would otherwise lose access without anyone asking for it. Only an explicit removal
//! list takes accounts away.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::core::findings::JsonObject;
use crate::core::image_ref;
use crate::core::inputs::{self, InputError};
use crate::core::policy::{
    self, AccessEvaluation, AccessStatus, HEALTHOMICS_SERVICE_PRINCIPAL, PolicyDocument, Principal,
    REPOSITORY_PULL_ACTIONS, ResourceTarget, WORKFLOW_OWNER_PULL_SID,
};

/// What a dry run would do; only present with dry_run, so nothing in it reads as done.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GrantDryRun {
    pub would_create_policy: bool,
    pub would_update_policy: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_add_statement_sids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_update_statement_sids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_remove_statement_sids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_add_owner_accounts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_remove_owner_accounts: Vec<String>,
    /// HealthOmics access once the planned policy is written.
    pub planned_healthomics_accessible: AccessStatus,
    /// The policy that would be written (absent when nothing would change).
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_policy: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GrantAccessOutput {
    pub success: bool,
    pub repository_name: String,
    /// The account and region acted on.
    pub account_id: String,
    pub region: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// The policy was written (always false with dry_run; see `dry_run_plan`).
    pub policy_updated: bool,
    /// The repository had no policy and now has one (always false with dry_run).
    pub policy_created: bool,
    pub previous_healthomics_accessible: AccessStatus,
    /// As ECR holds it now: read back after a write; with dry_run, unchanged from before.
    pub current_healthomics_accessible: AccessStatus,
    /// Per-action verdicts now: when HealthOmics cannot pull, or with `detail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_access: Option<AccessEvaluation>,
    /// Sids of our statements added, changed or removed by this call (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_statement_sids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updated_statement_sids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_statement_sids: Vec<String>,
    /// Workflow-owner accounts granted now, and those this call added or removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workflow_owner_account_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_owner_accounts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_owner_accounts: Vec<String>,
    /// With `detail`: the policy before, as ECR returned it (absent when there was none).
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_before: Option<serde_json::Value>,
    /// With `detail`: the policy as read back from ECR after the write (absent with dry_run).
    #[schemars(with = "Option<JsonObject>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_after: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run_plan: Option<GrantDryRun>,
    /// The policy read back from ECR holds this call's statements and grants HealthOmics access.
    pub verified: bool,
    pub message: String,
}

impl GrantAccessOutput {
    /// The result an assistant needs: the policies and the per-action verdicts of a repository
    /// HealthOmics can pull are left out unless `detail` asks for them.
    pub fn sized(mut self, detail: bool) -> Self {
        if !detail {
            self.policy_before = None;
            self.policy_after = None;
            // The per-action verdicts only where they say more than the status: a statement
            // that denies or conditions an action which the planned change does not fix.
            let fixed_by_plan = self
                .dry_run_plan
                .as_ref()
                .is_some_and(|p| p.planned_healthomics_accessible == AccessStatus::Accessible);
            if self.current_healthomics_accessible == AccessStatus::Accessible
                || fixed_by_plan
                || !self
                    .current_access
                    .as_ref()
                    .is_some_and(AccessEvaluation::says_more_than_summary)
            {
                self.current_access = None;
            }
        }
        self
    }
}

/// The tool's arguments, checked: a repository name (a full ECR URI is cut to its name) and
/// 12-digit workflow-owner accounts, none both added and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantArgs {
    pub repository: String,
    pub add_owner_accounts: Vec<String>,
    pub remove_owner_accounts: Vec<String>,
}

impl GrantArgs {
    pub fn parse(
        repository_name: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Self, InputError> {
        let repository = repository_name_of(repository_name)?;
        let add = owner_accounts("workflow_owner_account_ids", add)?;
        let remove = owner_accounts("remove_workflow_owner_account_ids", remove)?;
        if let Some(both) = add.iter().find(|a| remove.contains(a)) {
            return Err(InputError {
                parameter: "remove_workflow_owner_account_ids",
                problem: format!("`{both}` is both added and removed"),
                hint: "Name each account in workflow_owner_account_ids or in remove_workflow_owner_account_ids, not both.",
            });
        }
        Ok(Self {
            repository,
            add_owner_accounts: add,
            remove_owner_accounts: remove,
        })
    }

    pub fn request(&self, partition: &str) -> GrantRequest {
        GrantRequest {
            partition: partition.to_owned(),
            add_owner_accounts: self.add_owner_accounts.clone(),
            remove_owner_accounts: self.remove_owner_accounts.clone(),
        }
    }
}

/// Accepts a repository name or a full ECR URI; validated against ECR's naming rules.
fn repository_name_of(input: &str) -> Result<String, InputError> {
    let input = input.trim();
    let name = match input.split_once(".amazonaws.com") {
        Some((_, rest)) => {
            let rest = rest.strip_prefix(".cn").unwrap_or(rest);
            let path = rest.trim_start_matches('/');
            path.split(['@', ':']).next().unwrap_or_default().to_owned()
        }
        None => input.to_owned(),
    };
    image_ref::validate_ecr_repository_name(&name).map_err(|e| InputError {
        parameter: "repository_name",
        problem: e.to_string(),
        hint: "Pass the repository name as ListECRRepositories shows it, e.g. `docker-hub/library/ubuntu`.",
    })?;
    Ok(name)
}

fn owner_accounts(parameter: &'static str, ids: &[String]) -> Result<Vec<String>, InputError> {
    inputs::check_list_len(parameter, ids.len())?;
    let mut owners: Vec<String> = ids.iter().map(|id| id.trim().to_owned()).collect();
    if let Some(bad) = owners.iter().find(|id| !image_ref::is_account_id(id)) {
        return Err(InputError {
            parameter,
            problem: format!(
                "`{}` is not a 12-digit AWS account id",
                inputs::clipped(bad)
            ),
            hint: "Pass account ids like \"111122223333\".",
        });
    }
    owners.sort();
    owners.dedup();
    Ok(owners)
}

/// What the caller asked for, already validated (12-digit account ids).
#[derive(Debug, Clone, Default)]
pub struct GrantRequest {
    pub partition: String,
    pub add_owner_accounts: Vec<String>,
    pub remove_owner_accounts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct GrantPlan {
    /// The policy to write; `None` when the current one already is what was asked for.
    pub write: Option<PolicyDocument>,
    pub policy_created: bool,
    pub added_sids: Vec<String>,
    pub updated_sids: Vec<String>,
    pub removed_sids: Vec<String>,
    /// Accounts in our workflow-owner statement before and after (sorted).
    pub owners_before: Vec<String>,
    pub owners_after: Vec<String>,
    pub added_owner_accounts: Vec<String>,
    pub removed_owner_accounts: Vec<String>,
    pub previous: AccessEvaluation,
    /// The verdict for the policy after the plan (the current one when nothing is written).
    pub planned: AccessEvaluation,
    /// The statements of ours that must be in the policy read back after the write.
    pub expected_statements: Vec<Value>,
    /// Sids of ours that must be absent after the write.
    pub expected_absent_sids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GrantPlanError {
    /// Statements we did not write keep HealthOmics out even with ours added.
    Blocked(AccessEvaluation),
    /// The merge itself failed (a policy shape the merge does not handle).
    Merge(String),
}

/// HealthOmics' verdict on a repository policy (`None`: the repository has none).
pub fn healthomics_access(document: Option<&PolicyDocument>) -> AccessEvaluation {
    let mut evaluation = match document {
        Some(doc) => policy::evaluate(
            doc,
            Principal::Service(HEALTHOMICS_SERVICE_PRINCIPAL),
            &REPOSITORY_PULL_ACTIONS,
            &ResourceTarget::Any,
        ),
        None => policy::no_policy_evaluation(&REPOSITORY_PULL_ACTIONS),
    };
    policy::note_when_stricter_than_guide(&mut evaluation);
    evaluation
}

/// The account ids our workflow-owner statement names (`arn:…:iam::<id>:root` or a bare id).
pub fn granted_owner_accounts(document: Option<&PolicyDocument>) -> Vec<String> {
    let Some(doc) = document else {
        return Vec::new();
    };
    let mut accounts: Vec<String> = doc
        .statements()
        .into_iter()
        .filter(|st| st.get("Sid").and_then(Value::as_str) == Some(WORKFLOW_OWNER_PULL_SID))
        .filter_map(|st| st.get("Principal")?.get("AWS"))
        .flat_map(|aws| match aws {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .filter_map(account_of_principal)
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
}

fn account_of_principal(principal: &str) -> Option<String> {
    let id = principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(_, rest)| rest.strip_suffix(":root"))
        .unwrap_or(principal);
    crate::core::image_ref::is_account_id(id).then(|| id.to_owned())
}

fn sorted_difference(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

pub fn plan_grant(
    before: Option<&PolicyDocument>,
    request: &GrantRequest,
) -> Result<GrantPlan, GrantPlanError> {
    let previous = healthomics_access(before);
    let owners_before = granted_owner_accounts(before);
    let mut owners_after: Vec<String> = owners_before
        .iter()
        .chain(&request.add_owner_accounts)
        .filter(|a| !request.remove_owner_accounts.contains(a))
        .cloned()
        .collect();
    owners_after.sort();
    owners_after.dedup();

    let mut ours = vec![policy::repository_pull_statement()];
    if !owners_after.is_empty() {
        ours.push(policy::workflow_owner_pull_statement(
            &request.partition,
            &owners_after,
        ));
    }
    let mut merged = policy::upsert_statements(before, &ours)
        .map_err(|e| GrantPlanError::Merge(e.to_string()))?;
    let mut removed_sids = Vec::new();
    if owners_after.is_empty() && !owners_before.is_empty() {
        let removal = policy::remove_statements(&merged.document, &[WORKFLOW_OWNER_PULL_SID]);
        merged.changed |= removal.changed;
        merged.document = removal.document;
        removed_sids = removal.removed_sids;
    }
    // Access that is already there is not rewritten just to normalize our own statement.
    let nothing_asked =
        previous.status == AccessStatus::Accessible && owners_after == owners_before;
    let write = (merged.changed && !nothing_asked).then(|| merged.document.clone());
    let planned = match &write {
        Some(doc) => healthomics_access(Some(doc)),
        None => previous.clone(),
    };
    if planned.status != AccessStatus::Accessible {
        return Err(GrantPlanError::Blocked(planned));
    }
    let written = write.is_some();
    Ok(GrantPlan {
        policy_created: written && before.is_none(),
        added_sids: if written {
            merged.added_sids
        } else {
            Vec::new()
        },
        updated_sids: if written {
            merged.updated_sids
        } else {
            Vec::new()
        },
        removed_sids,
        added_owner_accounts: sorted_difference(&owners_after, &owners_before),
        removed_owner_accounts: sorted_difference(&owners_before, &owners_after),
        owners_before,
        expected_absent_sids: if owners_after.is_empty() {
            vec![WORKFLOW_OWNER_PULL_SID.to_owned()]
        } else {
            Vec::new()
        },
        owners_after,
        expected_statements: ours,
        write,
        previous,
        planned,
    })
}

/// The policy as ECR holds it after this call's write, and HealthOmics' verdict on it.
#[derive(Debug, Clone)]
pub struct ReadBack {
    pub document: Option<PolicyDocument>,
    pub access: AccessEvaluation,
}

/// What a grant found and did: the policy before, the plan, and the policy read back after the
/// write (`None` when nothing was written: a dry run, or nothing to change).
#[derive(Debug, Clone)]
pub struct GrantResult {
    pub before: Option<PolicyDocument>,
    pub plan: GrantPlan,
    pub read_back: Option<ReadBack>,
}

impl GrantResult {
    /// HealthOmics access as ECR holds it now.
    pub fn healthomics_accessible(&self) -> AccessStatus {
        self.read_back
            .as_ref()
            .map_or(self.plan.previous.status, |r| r.access.status)
    }

    /// The policy was written by this call.
    pub fn wrote(&self) -> bool {
        self.read_back.is_some()
    }
}

/// The tool's answer for `result`: with dry_run, what would happen in `dry_run_plan` only.
pub fn report(
    result: GrantResult,
    account_id: &str,
    region: &str,
    repository: &str,
    dry_run: bool,
) -> GrantAccessOutput {
    let GrantResult {
        before,
        plan,
        read_back,
    } = result;
    let mut output = GrantAccessOutput {
        success: true,
        repository_name: repository.to_owned(),
        account_id: account_id.to_owned(),
        region: region.to_owned(),
        dry_run,
        policy_updated: false,
        policy_created: false,
        previous_healthomics_accessible: plan.previous.status,
        current_healthomics_accessible: plan.previous.status,
        current_access: Some(plan.previous.clone()),
        added_statement_sids: Vec::new(),
        updated_statement_sids: Vec::new(),
        removed_statement_sids: Vec::new(),
        workflow_owner_account_ids: plan.owners_before.clone(),
        added_owner_accounts: Vec::new(),
        removed_owner_accounts: Vec::new(),
        policy_before: before.as_ref().map(|d| d.as_value().clone()),
        policy_after: None,
        dry_run_plan: None,
        verified: false,
        message: String::new(),
    };
    if dry_run {
        let existed = before.is_some();
        output.message = match &plan.write {
            None => format!(
                "Dry run: `{repository}` already lets HealthOmics pull as asked; nothing would change."
            ),
            Some(_) => format!(
                "Dry run: would {} the policy of `{repository}` so HealthOmics can pull; nothing was changed.",
                if existed { "update" } else { "create" }
            ),
        };
        output.dry_run_plan = Some(dry_run_plan(&plan, existed));
        return output;
    }
    let Some(read_back) = read_back else {
        output.verified = true;
        output.message =
            format!("`{repository}` already lets HealthOmics pull as asked; nothing to change.");
        return output;
    };
    output.policy_updated = true;
    output.policy_created = plan.policy_created;
    output.current_healthomics_accessible = read_back.access.status;
    output.current_access = Some(read_back.access);
    output.workflow_owner_account_ids = granted_owner_accounts(read_back.document.as_ref());
    output.policy_after = read_back.document.map(|d| d.as_value().clone());
    output.verified = true;
    output.message = format!(
        "{} the policy of `{repository}`: HealthOmics can now pull (read back).{}",
        if plan.policy_created {
            "Created"
        } else {
            "Updated"
        },
        owner_note(&plan)
    );
    output.added_statement_sids = plan.added_sids;
    output.updated_statement_sids = plan.updated_sids;
    output.removed_statement_sids = plan.removed_sids;
    output.added_owner_accounts = plan.added_owner_accounts;
    output.removed_owner_accounts = plan.removed_owner_accounts;
    output
}

fn dry_run_plan(plan: &GrantPlan, existed: bool) -> GrantDryRun {
    let write = plan.write.as_ref();
    GrantDryRun {
        would_create_policy: write.is_some() && !existed,
        would_update_policy: write.is_some() && existed,
        would_add_statement_sids: plan.added_sids.clone(),
        would_update_statement_sids: plan.updated_sids.clone(),
        would_remove_statement_sids: plan.removed_sids.clone(),
        would_add_owner_accounts: plan.added_owner_accounts.clone(),
        would_remove_owner_accounts: plan.removed_owner_accounts.clone(),
        planned_healthomics_accessible: plan.planned.status,
        planned_policy: write.map(|d| d.as_value().clone()),
    }
}

fn owner_note(plan: &GrantPlan) -> String {
    let mut parts = Vec::new();
    if !plan.added_owner_accounts.is_empty() {
        parts.push(format!(
            "added workflow-owner accounts {}",
            plan.added_owner_accounts.join(", ")
        ));
    }
    if !plan.removed_owner_accounts.is_empty() {
        parts.push(format!(
            "removed {}",
            plan.removed_owner_accounts.join(", ")
        ));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!(
        " It {}; granted accounts now: {}.",
        parts.join(" and "),
        if plan.owners_after.is_empty() {
            "none".to_owned()
        } else {
            plan.owners_after.join(", ")
        }
    )
}

/// `accessible`, `not_accessible`, `unknown`: the wire word, for messages.
pub fn status_word(status: AccessStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Why statements we did not write still keep HealthOmics out, one clause per action.
pub fn blockers(planned: &AccessEvaluation) -> Vec<String> {
    planned
        .actions
        .iter()
        .filter(|a| a.verdict != policy::Verdict::Allowed)
        .map(|a| {
            format!(
                "{} is {} by {}: {}",
                a.action,
                serde_json::to_value(a.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                a.decided_by.as_deref().unwrap_or("no statement"),
                a.reason
            )
        })
        .collect()
}

/// True when `read_back` holds every statement we expect, exactly, and none we removed: the
/// check that this call's own change survived, whatever else another writer did.
pub fn holds_our_statements(
    read_back: Option<&PolicyDocument>,
    expected: &[Value],
    absent_sids: &[String],
) -> bool {
    let Some(doc) = read_back else {
        return expected.is_empty();
    };
    let statements = doc.statements();
    let sid = |st: &Value| st.get("Sid").and_then(Value::as_str).map(str::to_owned);
    expected
        .iter()
        .all(|ours| statements.iter().any(|st| same_statement(st, ours)))
        && !statements
            .iter()
            .any(|st| sid(st).is_some_and(|s| absent_sids.contains(&s)))
}

/// Statements compare by content, not key order or the order of an action list, since ECR may
/// normalize either when it stores the policy.
fn same_statement(a: &Value, b: &Value) -> bool {
    normalized(a) == normalized(b)
}

fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), normalized(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalized).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "111122223333";
    const B: &str = "444455556666";

    fn request(add: &[&str], remove: &[&str]) -> GrantRequest {
        GrantRequest {
            partition: "aws".into(),
            add_owner_accounts: add.iter().map(|s| s.to_string()).collect(),
            remove_owner_accounts: remove.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn doc(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn plan(before: Option<&PolicyDocument>, add: &[&str], remove: &[&str]) -> GrantPlan {
        plan_grant(before, &request(add, remove)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn no_policy_gets_one_created() {
        let p = plan(None, &[], &[]);
        assert!(p.policy_created);
        assert_eq!(p.added_sids, vec![policy::REPOSITORY_PULL_SID.to_owned()]);
        assert_eq!(p.planned.status, AccessStatus::Accessible);
        assert_eq!(p.previous.status, AccessStatus::NotAccessible);
    }

    #[test]
    fn owner_grants_accumulate_and_remove_only_on_request() {
        let first = plan(None, &[A], &[]);
        let after_a = first.write.unwrap_or_else(|| panic!("a write"));
        assert_eq!(granted_owner_accounts(Some(&after_a)), vec![A]);

        let second = plan(Some(&after_a), &[B], &[]);
        assert_eq!(second.added_owner_accounts, vec![B]);
        assert!(second.removed_owner_accounts.is_empty());
        let after_b = second.write.unwrap_or_else(|| panic!("a write"));
        assert_eq!(granted_owner_accounts(Some(&after_b)), vec![A, B]);

        let again = plan(Some(&after_b), &[A], &[]);
        assert!(again.write.is_none(), "nothing new: no write");

        let removal = plan(Some(&after_b), &[], &[A]);
        assert_eq!(removal.removed_owner_accounts, vec![A]);
        let after_removal = removal.write.unwrap_or_else(|| panic!("a write"));
        assert_eq!(granted_owner_accounts(Some(&after_removal)), vec![B]);

        let last = plan(Some(&after_removal), &[], &[B]);
        assert_eq!(last.removed_sids, vec![WORKFLOW_OWNER_PULL_SID.to_owned()]);
        let none_left = last.write.unwrap_or_else(|| panic!("a write"));
        assert!(granted_owner_accounts(Some(&none_left)).is_empty());
        assert_eq!(last.planned.status, AccessStatus::Accessible);
    }

    #[test]
    fn already_accessible_is_left_alone() {
        let granted = plan(None, &[], &[])
            .write
            .unwrap_or_else(|| panic!("a write"));
        let p = plan(Some(&granted), &[], &[]);
        assert!(p.write.is_none());
        assert!(p.added_sids.is_empty() && p.updated_sids.is_empty());
    }

    #[test]
    fn foreign_deny_blocks_and_nothing_is_planned() {
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoOmics","Effect":"Deny",
                "Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:*"}]}"#,
        );
        match plan_grant(Some(&deny), &request(&[], &[])) {
            Err(GrantPlanError::Blocked(eval)) => {
                assert_eq!(eval.status, AccessStatus::NotAccessible)
            }
            other => panic!("expected Blocked, got {other:?}"),
        }
    }

    #[test]
    fn the_guides_two_actions_are_not_enough_and_the_verdict_says_why() {
        let guide = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Guide","Effect":"Allow",
                "Principal":{"Service":"omics.amazonaws.com"},
                "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#,
        );
        let eval = healthomics_access(Some(&guide));
        assert_eq!(eval.status, AccessStatus::NotAccessible);
        assert!(
            eval.notes.iter().any(|n| n.contains("follows AWS")),
            "{:?}",
            eval.notes
        );
        assert!(
            healthomics_access(None)
                .notes
                .iter()
                .all(|n| !n.contains("follows AWS"))
        );
        let unknown = AccessEvaluation::unknown(&REPOSITORY_PULL_ACTIONS, "denied");
        assert!(
            unknown.missing_actions().is_empty(),
            "unknown lists nothing as missing"
        );
    }

    #[test]
    fn owners_are_read_from_arns_and_bare_ids() {
        let d = doc(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{WORKFLOW_OWNER_PULL_SID}","Effect":"Allow",
                "Principal":{{"AWS":["arn:aws-cn:iam::{A}:root","{B}","arn:aws:iam::{A}:user/x"]}},
                "Action":"ecr:BatchGetImage"}},
                {{"Sid":"Other","Effect":"Allow","Principal":{{"AWS":"999988887777"}},"Action":"ecr:*"}}]}}"#
        ));
        assert_eq!(granted_owner_accounts(Some(&d)), vec![A, B]);
    }

    #[test]
    fn verification_finds_our_statements_in_any_order() {
        let p = plan(None, &[A], &[]);
        let written = p.write.clone().unwrap_or_else(|| panic!("a write"));
        assert!(holds_our_statements(
            Some(&written),
            &p.expected_statements,
            &p.expected_absent_sids
        ));
        // Someone else replaced the policy after our write: our owner statement is gone.
        let replaced = plan(None, &[], &[])
            .write
            .unwrap_or_else(|| panic!("a write"));
        assert!(!holds_our_statements(
            Some(&replaced),
            &p.expected_statements,
            &p.expected_absent_sids
        ));
        assert!(!holds_our_statements(None, &p.expected_statements, &[]));
    }

    #[test]
    fn repository_name_accepts_names_and_ecr_uris() {
        let cases = [
            (" my/repo ", Some("my/repo")),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/ubuntu:22.04",
                Some("docker-hub/library/ubuntu"),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b@sha256:00",
                Some("a/b"),
            ),
            ("", None),
            ("Upper/Case", None),
        ];
        for (input, name) in cases {
            let got = GrantArgs::parse(input, &[], &[]);
            assert_eq!(
                got.as_ref().ok().map(|a| a.repository.as_str()),
                name,
                "{input}"
            );
            if let Err(e) = got {
                assert_eq!(e.parameter, "repository_name");
            }
        }
    }

    #[test]
    fn owner_accounts_must_be_twelve_digits_and_not_both_added_and_removed() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let parse =
            |add: &[&str], remove: &[&str]| GrantArgs::parse("r/x", &ids(add), &ids(remove));
        assert_eq!(
            parse(&["12345678901"], &[]).err().map(|e| e.parameter),
            Some("workflow_owner_account_ids")
        );
        assert_eq!(
            parse(&[A, &format!(" {A}")], &[])
                .ok()
                .map(|a| a.add_owner_accounts),
            Some(vec![A.to_owned()])
        );
        let both = parse(&[A], &[A, B]).err();
        assert!(
            both.as_ref()
                .is_some_and(|e| e.problem.contains("both added and removed")),
            "{both:?}"
        );
        let many = vec![A.to_owned(); inputs::LIST_MAX + 1];
        assert!(GrantArgs::parse("r/x", &many, &[]).is_err());
        let args = parse(&[B], &[A]).unwrap_or_else(|e| panic!("{e}"));
        let request = args.request("aws-cn");
        assert_eq!(request.partition, "aws-cn");
        assert_eq!(request.add_owner_accounts, vec![B]);
    }

    fn result(before: Option<PolicyDocument>, wrote: bool) -> GrantResult {
        let plan = plan(before.as_ref(), &[A], &[]);
        let read_back = wrote.then(|| {
            let document = plan.write.clone();
            ReadBack {
                access: healthomics_access(document.as_ref()),
                document,
            }
        });
        GrantResult {
            before,
            plan,
            read_back,
        }
    }

    #[test]
    fn a_dry_run_reports_only_what_would_happen() {
        let out = report(result(None, false), A, "us-east-1", "r/x", true);
        assert!(!out.policy_updated && !out.policy_created && !out.verified);
        assert_eq!(
            out.current_healthomics_accessible,
            AccessStatus::NotAccessible
        );
        assert!(out.added_statement_sids.is_empty() && out.added_owner_accounts.is_empty());
        let would = out.dry_run_plan.unwrap_or_else(|| panic!("a dry-run plan"));
        assert!(would.would_create_policy && !would.would_update_policy);
        assert_eq!(would.would_add_owner_accounts, vec![A]);
        assert_eq!(
            would.planned_healthomics_accessible,
            AccessStatus::Accessible
        );
        assert!(would.planned_policy.is_some());
        assert!(
            out.message.starts_with("Dry run: would create"),
            "{}",
            out.message
        );
    }

    #[test]
    fn a_write_reports_what_was_read_back() {
        let out = report(result(None, true), A, "us-east-1", "r/x", false);
        assert!(out.policy_updated && out.policy_created && out.verified);
        assert_eq!(out.current_healthomics_accessible, AccessStatus::Accessible);
        assert_eq!(out.workflow_owner_account_ids, vec![A]);
        assert_eq!(out.added_owner_accounts, vec![A]);
        assert!(out.policy_after.is_some() && out.dry_run_plan.is_none());
        assert!(
            out.message.starts_with("Created the policy"),
            "{}",
            out.message
        );
        assert!(
            out.message.contains("added workflow-owner accounts"),
            "{}",
            out.message
        );

        let granted = plan(None, &[A], &[]).write;
        let unchanged = report(result(granted, false), A, "us-east-1", "r/x", false);
        assert!(!unchanged.policy_updated && unchanged.verified);
        assert!(
            unchanged.message.contains("nothing to change"),
            "{}",
            unchanged.message
        );
        assert_eq!(
            unchanged.current_healthomics_accessible,
            AccessStatus::Accessible
        );
    }

    #[test]
    fn blockers_name_the_action_and_the_statement() {
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoOmics","Effect":"Deny",
                "Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:BatchGetImage"}]}"#,
        );
        let Err(GrantPlanError::Blocked(planned)) = plan_grant(Some(&deny), &request(&[], &[]))
        else {
            panic!("expected Blocked");
        };
        let said = blockers(&planned);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("ecr:BatchGetImage is denied by NoOmics"),
            "{said:?}"
        );
        assert_eq!(status_word(AccessStatus::NotAccessible), "not_accessible");
    }
}
