//! Feeds arbitrary text to the IAM policy reader, then runs everything the server does with a
//! policy it read from ECR: the HealthOmics access evaluation (for the service, a workflow-owner
//! account, and resource targets taken from the policy itself), the merge of our statements and
//! their removal. None of it may panic, and the merge must keep its promises: foreign statements
//! unchanged and in order, output that parses, and a second merge that changes nothing.
//!
//! Run with `cargo +nightly fuzz run parse_policy` from the repository root.

#![no_main]

use healthomics_ecr_mcp::core::policy::{
    HEALTHOMICS_SERVICE_PRINCIPAL, PolicyDocument, Principal, REGISTRY_PULL_THROUGH_ACTIONS,
    REPOSITORY_PULL_ACTIONS, ResourceTarget, evaluate, registry_pull_through_statement,
    remove_statements, repository_arn, repository_prefix_arn, repository_pull_statement,
    upsert_statements, workflow_owner_pull_statement,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const OWNER: &str = "111122223333";

fn is_ours(statement: &Value, sids: &[String]) -> bool {
    statement
        .get("Sid")
        .and_then(Value::as_str)
        .is_some_and(|s| sids.iter().any(|o| o == s))
}

fn foreign(doc: &PolicyDocument, sids: &[String]) -> Vec<String> {
    doc.statements()
        .into_iter()
        .filter(|s| !is_ours(s, sids))
        .map(|s| s.to_string())
        .collect()
}

/// Resource strings the policy names (at most a few), to aim the evaluator at its own patterns.
fn resources(doc: &PolicyDocument) -> Vec<String> {
    let mut out = Vec::new();
    for st in doc.statements() {
        for key in ["Resource", "NotResource"] {
            match st.get(key) {
                Some(Value::String(s)) => out.push(s.clone()),
                Some(Value::Array(items)) => {
                    out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
                }
                _ => {}
            }
        }
    }
    out.truncate(4);
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = match PolicyDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = doc.sids();
    let _ = doc.has_no_statements();
    let _ = doc.to_json_pretty();

    // Evaluation, as the audit tools run it.
    let omics = Principal::Service(HEALTHOMICS_SERVICE_PRINCIPAL);
    let mut targets = vec![
        ResourceTarget::Any,
        ResourceTarget::Arn(repository_arn(
            "aws",
            "us-east-1",
            "123456789012",
            "quay/biocontainers/samtools",
        )),
        ResourceTarget::AllUnder(repository_prefix_arn(
            "aws",
            "us-east-1",
            "123456789012",
            "quay",
        )),
        ResourceTarget::AllUnder(repository_prefix_arn(
            "aws",
            "us-east-1",
            "123456789012",
            "ROOT",
        )),
    ];
    for r in resources(&doc) {
        targets.push(ResourceTarget::AllUnder(r.trim_end_matches('*').to_owned()));
        targets.push(ResourceTarget::Arn(r));
    }
    for target in &targets {
        for (who, actions) in [
            (omics, &REPOSITORY_PULL_ACTIONS[..]),
            (omics, &REGISTRY_PULL_THROUGH_ACTIONS[..]),
            (Principal::Account(OWNER), &REPOSITORY_PULL_ACTIONS[..]),
        ] {
            let eval = evaluate(&doc, who, actions, target);
            assert_eq!(eval.actions.len(), actions.len());
            let _ = eval.missing_actions();
            let _ = eval.denied_actions();
        }
    }

    // Merge, as the grant tools run it.
    let ours = vec![
        repository_pull_statement(),
        workflow_owner_pull_statement("aws", &[OWNER.to_owned()]),
        registry_pull_through_statement("aws", "us-east-1", "123456789012", "quay"),
        registry_pull_through_statement("aws", "us-east-1", "123456789012", "ROOT"),
    ];
    let sids: Vec<String> = ours
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default().to_owned())
        .collect();
    let merged = upsert_statements(Some(&doc), &ours).expect("our statements are valid");
    let out = &merged.document;
    assert_eq!(
        foreign(out, &sids),
        foreign(&doc, &sids),
        "foreign statements changed"
    );
    for sid in &sids {
        let n = out
            .statements()
            .iter()
            .filter(|s| is_ours(s, std::slice::from_ref(sid)))
            .count();
        assert_eq!(n, 1, "{sid} appears {n} times");
    }
    if !merged.changed {
        assert_eq!(out, &doc);
    }
    let again = upsert_statements(Some(out), &ours).expect("our statements are valid");
    assert!(
        !again.changed,
        "a second merge changed {:?}",
        again.updated_sids
    );
    let written = out.to_json_compact();
    let reread = PolicyDocument::parse(&written).expect("merge output parses");
    let third = upsert_statements(Some(&reread), &ours).expect("our statements are valid");
    assert!(
        !third.changed,
        "merging into the written text changed {:?}",
        third.updated_sids
    );

    // Removal, as the revoke path runs it.
    let sid_refs: Vec<&str> = sids.iter().map(String::as_str).collect();
    let removed = remove_statements(out, &sid_refs);
    assert_eq!(
        foreign(&removed.document, &sids),
        foreign(&doc, &sids),
        "removal touched foreign statements"
    );
    let _ = remove_statements(&doc, &sid_refs);
});
