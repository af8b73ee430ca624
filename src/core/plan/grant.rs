//! The plan of `GrantHealthOmicsRepositoryAccess`: from the repository policy as read to the
//! policy to write (if any), the workflow-owner accounts before and after, and the verdicts.
//!
//! Owner accounts accumulate: a grant for account B keeps account A, because A's cross-account
//! workflows would otherwise lose access without anyone asking for it. Only an explicit removal
//! list takes accounts away.

use serde_json::Value;

use crate::core::policy::{
    self, AccessEvaluation, AccessStatus, HEALTHOMICS_SERVICE_PRINCIPAL, PolicyDocument, Principal,
    REPOSITORY_PULL_ACTIONS, ResourceTarget, WORKFLOW_OWNER_PULL_SID,
};

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
}
