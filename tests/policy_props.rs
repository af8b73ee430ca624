//! Property tests for merging our HealthOmics statements into policies someone else wrote.
//!
//! The generated policies are hostile on purpose: statements without a Sid, with Sids that look
//! like ours but are not (case, whitespace, stale registry prefixes), Deny statements, Conditions,
//! `NotAction` / `NotPrincipal` / `NotResource`, wrong JSON types, keys in any order, unknown keys,
//! entries that are not objects at all, and older or reformatted copies of our own statements.
//! For every such policy and every set of our statements, `upsert_statements` must:
//! - keep each foreign statement (one whose Sid is not one we are writing) byte for byte, in order;
//! - leave each of our Sids exactly once, with our statement or an equivalent one that was there;
//! - keep the policy's other top-level keys as they were;
//! - produce a document that re-parses to itself;
//! - report no change on a second merge;
//! - and, when no foreign statement denies, let HealthOmics (and the workflow owners) pull.
//!
//! Cases come from `PROPTEST_CASES` (proptest's default config reads it; 256 when unset, which is
//! what CI runs). A nightly-sized run: `PROPTEST_CASES=10000 cargo test --test policy_props`.

use healthomics_ecr_mcp::core::policy::{
    AccessStatus, HEALTHOMICS_SERVICE_PRINCIPAL, PolicyDocument, Principal,
    REGISTRY_PULL_THROUGH_ACTIONS, REPOSITORY_PULL_ACTIONS, REPOSITORY_PULL_SID, ResourceTarget,
    Verdict, WORKFLOW_OWNER_PULL_SID, evaluate, registry_pull_through_sid,
    registry_pull_through_statement, repository_prefix_arn, repository_pull_statement,
    upsert_statements, workflow_owner_pull_statement,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "cn-north-1"];
const ACCOUNTS: [&str; 2] = ["123456789012", "210987654321"];
const OWNER_ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
/// Cache prefixes shared by the statements already in a policy and the ones we write, so that
/// merges often meet an earlier (or different) version of our own statement.
const PREFIX_POOL: [&str; 6] = [
    "quay",
    "docker-hub",
    "dockerhub",
    "ROOT",
    "github/containers",
    "ecr-public",
];

// ---------------------------------------------------------------------------------------------
// Generic JSON
// ---------------------------------------------------------------------------------------------

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z]{1,8}",
        "(?s).{0,6}",
        prop::sample::select(vec![
            "sid",
            "SID",
            "Statement",
            "Version",
            "effect",
            "principal",
            "Principals",
            "Actions",
        ])
        .prop_map(str::to_owned),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Short decimals only (at most 9 digits, small exponent): longer floats do not survive
        // a parse and write with serde_json's default float parsing (see
        // `a_foreign_float_survives_a_rewrite`).
        (-999_999_999i64..999_999_999, -15i32..15).prop_map(|(m, e)| {
            Value::from(format!("{m}e{e}").parse::<f64>().unwrap_or_default())
        }),
        "(?s).{0,12}".prop_map(Value::from),
        Just(Value::from(REPOSITORY_PULL_SID)),
        Just(Value::from("*")),
    ]
}

fn json_any() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object from `entries` in a random key order (the first entry wins for a repeated key).
fn shuffled_object(entries: Vec<(String, Value)>) -> impl Strategy<Value = Value> {
    Just(entries).prop_shuffle().prop_map(|entries| {
        let mut map = Map::new();
        for (k, v) in entries {
            map.entry(k).or_insert(v);
        }
        Value::Object(map)
    })
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(PREFIX_POOL.to_vec()).prop_map(str::to_owned),
        1 => "[a-z][a-z0-9._-]{1,15}(/[a-z0-9]{1,8})?",
    ]
}

/// A Sid for a statement that is not ours (or, for the stale ones, not ours in this merge).
fn foreign_sid() -> impl Strategy<Value = Option<Value>> {
    let lookalikes = vec![
        "healthomicsimagepull",
        "HEALTHOMICSIMAGEPULL",
        "HealthOmicsImagePull ",
        " HealthOmicsImagePull",
        "HealthOmicsImagePullAccess",
        "HealthOmicsAccess",
        "HealthOmicsPullThroughCacheAccess",
        "HealthOmicsPullThroughCache",
        "HealthOmicsWorkflowOwnerPull2",
        "",
    ];
    prop_oneof![
        3 => Just(None),
        4 => "[A-Za-z0-9]{1,12}".prop_map(|s| Some(Value::from(s))),
        2 => prop::sample::select(lookalikes).prop_map(|s| Some(Value::from(s))),
        // A stale registry Sid: foreign unless this merge writes that prefix.
        2 => prefix().prop_map(|p| Some(Value::from(registry_pull_through_sid(&p)))),
        1 => prop_oneof![
            Just(json!(7)),
            Just(Value::Null),
            Just(json!([REPOSITORY_PULL_SID])),
            Just(json!({ "Sid": REPOSITORY_PULL_SID })),
        ]
        .prop_map(Some),
    ]
}

fn effect() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(Some(json!("Allow"))),
        4 => Just(Some(json!("Deny"))),
        1 => Just(Some(json!("deny"))),
        1 => Just(Some(json!("ALLOW"))),
        1 => Just(Some(json!(true))),
        1 => Just(None),
    ]
}

fn principal_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            json!("*"),
            json!({ "AWS": "*" }),
            json!({ "Service": HEALTHOMICS_SERVICE_PRINCIPAL }),
            json!({ "Service": [HEALTHOMICS_SERVICE_PRINCIPAL] }),
            json!({ "Service": ["ecs.amazonaws.com", HEALTHOMICS_SERVICE_PRINCIPAL] }),
            json!({ "Service": "ecs.amazonaws.com" }),
            json!({ "AWS": ["111122223333", "arn:aws:iam::444455556666:root"] }),
            json!({ "AWS": "arn:aws-cn:iam::777788889999:root" }),
            json!({ "Federated": "cognito-identity.amazonaws.com" }),
            json!(HEALTHOMICS_SERVICE_PRINCIPAL),
            json!({}),
        ]),
        1 => json_any(),
    ]
}

fn action_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            json!("ecr:*"),
            json!("*"),
            json!("ecr:BatchGetImage"),
            json!("ecr:batch*"),
            json!(REPOSITORY_PULL_ACTIONS),
            json!(REGISTRY_PULL_THROUGH_ACTIONS),
            json!(["ecr:GetDownloadUrlForLayer", "ecr:PutImage"]),
            json!("ecr:Get?ownloadUrlForLayer"),
            json!("ECR:BATCHCHECKLAYERAVAILABILITY"),
            json!("s3:GetObject"),
            json!([]),
        ]),
        1 => json_any(),
    ]
}

fn resource_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            json!("*"),
            json!("arn:aws:ecr:us-east-1:123456789012:repository/*"),
            json!("arn:aws:ecr:us-east-1:123456789012:repository/quay/*"),
            json!(["arn:aws:ecr:eu-west-1:123456789012:repository/docker-hub/*", "arn:aws:ecr:*"]),
            json!("arn:aws:ecr:us-east-1:123456789012:repository/q?ay*"),
        ]),
        1 => json_any(),
    ]
}

fn condition_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec![
            json!({ "StringEquals": { "aws:SourceAccount": "123456789012" } }),
            json!({ "ArnLike": { "aws:SourceArn": "arn:aws:omics:us-east-1:123456789012:run/*" } }),
            json!({ "Bool": { "aws:SecureTransport": "false" } }),
            json!({ "Null": {} }),
        ]),
        1 => json_any(),
    ]
}

/// A positive / negative element pair: neither, one of them, or (malformed) both.
fn element<S: Strategy<Value = Value>>(
    positive: &'static str,
    negative: &'static str,
    value: impl Fn() -> S,
) -> impl Strategy<Value = Vec<(String, Value)>> {
    (0..5u8, value(), value()).prop_map(move |(which, a, b)| match which {
        0 => Vec::new(),
        1 | 2 => vec![(positive.to_owned(), a)],
        3 => vec![(negative.to_owned(), a)],
        _ => vec![(positive.to_owned(), a), (negative.to_owned(), b)],
    })
}

fn foreign_statement() -> impl Strategy<Value = Value> {
    (
        foreign_sid(),
        effect(),
        element("Principal", "NotPrincipal", principal_value),
        element("Action", "NotAction", action_value),
        element("Resource", "NotResource", resource_value),
        proptest::option::weighted(0.3, condition_value()),
        prop::collection::vec((key(), json_any()), 0..3),
    )
        .prop_flat_map(
            |(sid, effect, principal, action, resource, condition, extra)| {
                let mut entries = Vec::new();
                if let Some(sid) = sid {
                    entries.push(("Sid".to_owned(), sid));
                }
                if let Some(effect) = effect {
                    entries.push(("Effect".to_owned(), effect));
                }
                entries.extend(principal);
                entries.extend(action);
                entries.extend(resource);
                if let Some(condition) = condition {
                    entries.push(("Condition".to_owned(), condition));
                }
                entries.extend(extra);
                shuffled_object(entries)
            },
        )
}

/// One of the statements this crate writes, for random parameters, possibly edited the way a
/// person or the ECR console might: reformatted, narrowed, conditioned, turned into a Deny.
fn ours_like_statement() -> impl Strategy<Value = Value> {
    let base = prop_oneof![
        Just(repository_pull_statement()),
        (
            prop::sample::select(PARTITIONS.to_vec()),
            prop::sample::subsequence(OWNER_ACCOUNTS.to_vec(), 1..=3),
        )
            .prop_map(|(p, accounts)| {
                let accounts: Vec<String> = accounts.into_iter().map(str::to_owned).collect();
                workflow_owner_pull_statement(p, &accounts)
            }),
        (
            prop::sample::select(PARTITIONS.to_vec()),
            prop::sample::select(REGIONS.to_vec()),
            prop::sample::select(ACCOUNTS.to_vec()),
            prefix(),
        )
            .prop_map(|(p, r, a, prefix)| registry_pull_through_statement(p, r, a, &prefix)),
    ];
    (base, 0..10u8).prop_flat_map(|(mut st, edit)| {
        let obj = st.as_object_mut().expect("our statements are objects");
        match edit {
            1 => {
                if let Some(Value::Array(actions)) = obj.get_mut("Action") {
                    actions.reverse();
                }
            }
            2 => {
                if let Some(Value::Array(actions)) = obj.get_mut("Action") {
                    for a in actions.iter_mut() {
                        *a = Value::from(a.as_str().unwrap_or_default().to_uppercase());
                    }
                }
            }
            3 => {
                let first = obj["Action"][0].clone();
                obj.insert("Action".into(), first);
            }
            4 => {
                obj.insert(
                    "Condition".into(),
                    json!({ "StringEquals": { "aws:SourceAccount": "123456789012" } }),
                );
            }
            5 => {
                obj.insert("Effect".into(), json!("Deny"));
            }
            6 => {
                obj.insert("Principal".into(), json!("*"));
            }
            7 => {
                if let Some(Value::String(s)) = obj.get("Resource").cloned() {
                    obj.insert("Resource".into(), json!([s]));
                }
            }
            8 => {
                obj.insert("Comment".into(), json!("added by hand"));
            }
            _ => {}
        }
        let entries: Vec<(String, Value)> = obj.clone().into_iter().collect();
        shuffled_object(entries)
    })
}

fn non_object_statement() -> impl Strategy<Value = Value> {
    json_any().prop_filter("not an object", |v| !v.is_object())
}

fn any_statement() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => foreign_statement(),
        3 => ours_like_statement(),
        1 => non_object_statement(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

/// Policy text: a JSON object with or without `Version` / `Id` / unknown keys, and a `Statement`
/// that is missing, one object, or a list; compact or pretty.
fn policy_text() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(None),
            Just(Some(json!("2012-10-17"))),
            Just(Some(json!("2008-10-17")))
        ],
        proptest::option::of(prop_oneof![Just(json!("existing")), Just(json!(42))]),
        prop::collection::vec((key(), json_any()), 0..2),
        prop::collection::vec(any_statement(), 0..8),
        0..5u8,
        any::<bool>(),
    )
        .prop_flat_map(|(version, id, extra, statements, shape, pretty)| {
            let mut entries = Vec::new();
            if let Some(v) = version {
                entries.push(("Version".to_owned(), v));
            }
            if let Some(id) = id {
                entries.push(("Id".to_owned(), id));
            }
            // `Statement` is added here so that an unknown key cannot take its place.
            let statement = match shape {
                0 => None,
                1 if statements.len() == 1 && statements[0].is_object() => {
                    Some(statements[0].clone())
                }
                _ => Some(Value::Array(statements)),
            };
            if let Some(statement) = statement {
                entries.push(("Statement".to_owned(), statement));
            }
            entries.extend(
                extra
                    .into_iter()
                    .filter(|(k, _)| k != "Statement" && k != "Version"),
            );
            shuffled_object(entries).prop_map(move |doc| {
                if pretty {
                    format!("{doc:#}")
                } else {
                    doc.to_string()
                }
            })
        })
}

// ---------------------------------------------------------------------------------------------
// Our statements
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Ours {
    repository: bool,
    owner_partition: &'static str,
    owners: Vec<String>,
    partition: &'static str,
    region: &'static str,
    account: &'static str,
    prefixes: Vec<String>,
}

impl Ours {
    fn statements(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.repository {
            out.push(repository_pull_statement());
        }
        if !self.owners.is_empty() {
            out.push(workflow_owner_pull_statement(
                self.owner_partition,
                &self.owners,
            ));
        }
        for p in &self.prefixes {
            out.push(registry_pull_through_statement(
                self.partition,
                self.region,
                self.account,
                p,
            ));
        }
        out
    }
}

fn ours() -> impl Strategy<Value = Ours> {
    (
        any::<bool>(),
        prop::sample::select(PARTITIONS.to_vec()),
        prop::sample::subsequence(OWNER_ACCOUNTS.to_vec(), 0..=3),
        prop::sample::select(PARTITIONS.to_vec()),
        prop::sample::select(REGIONS.to_vec()),
        prop::sample::select(ACCOUNTS.to_vec()),
        prop::collection::vec(prefix(), 0..4),
    )
        .prop_map(
            |(repository, owner_partition, owners, partition, region, account, mut prefixes)| {
                let mut seen = Vec::new();
                prefixes.retain(|p| {
                    let fresh = !seen.contains(p);
                    seen.push(p.clone());
                    fresh
                });
                Ours {
                    repository,
                    owner_partition,
                    owners: owners.into_iter().map(str::to_owned).collect(),
                    partition,
                    region,
                    account,
                    prefixes,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn sid_is(statement: &Value, sid: &str) -> bool {
    statement.get("Sid").and_then(Value::as_str) == Some(sid)
}

fn is_ours(statement: &Value, our_sids: &[String]) -> bool {
    our_sids.iter().any(|sid| sid_is(statement, sid))
}

/// Each foreign statement's serialized JSON, in document order.
fn foreign_json(doc: &PolicyDocument, our_sids: &[String]) -> Vec<String> {
    doc.statements()
        .into_iter()
        .filter(|s| !is_ours(s, our_sids))
        .map(|s| serde_json::to_string(s).expect("a JSON value serializes"))
        .collect()
}

fn our_sids(statements: &[Value]) -> Vec<String> {
    statements
        .iter()
        .map(|s| {
            s["Sid"]
                .as_str()
                .expect("our statements have a Sid")
                .to_owned()
        })
        .collect()
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// Top-level entries other than `Statement` and `Version`, serialized, in order.
fn other_top_level(doc: &PolicyDocument) -> Vec<(String, String)> {
    doc.as_value()
        .as_object()
        .map(|obj| {
            obj.iter()
                .filter(|(k, _)| *k != "Statement" && *k != "Version")
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// With no foreign Deny in the way, our statements must do their job.
fn check_access(doc: &PolicyDocument, ours: &Ours) -> Result<(), TestCaseError> {
    let omics = Principal::Service(HEALTHOMICS_SERVICE_PRINCIPAL);
    if ours.repository {
        let eval = evaluate(doc, omics, &REPOSITORY_PULL_ACTIONS, &ResourceTarget::Any);
        for a in &eval.actions {
            prop_assert_eq!(a.verdict, Verdict::Allowed, "{}: {}", &a.action, &a.reason);
        }
    }
    for owner in &ours.owners {
        let eval = evaluate(
            doc,
            Principal::Account(owner),
            &REPOSITORY_PULL_ACTIONS,
            &ResourceTarget::Any,
        );
        prop_assert_eq!(eval.status, AccessStatus::Accessible, "{:?}", eval);
    }
    for p in &ours.prefixes {
        let target = ResourceTarget::AllUnder(repository_prefix_arn(
            ours.partition,
            ours.region,
            ours.account,
            p,
        ));
        let eval = evaluate(doc, omics, &REGISTRY_PULL_THROUGH_ACTIONS, &target);
        prop_assert_eq!(
            eval.status,
            AccessStatus::Accessible,
            "prefix {}: {:?}",
            p,
            eval
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    // `ProptestConfig::default()` takes the case count from PROPTEST_CASES (256 when unset).
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn merge_keeps_foreign_statements_and_converges(text in policy_text(), ours in ours()) {
        let statements = ours.statements();
        let sids = our_sids(&statements);
        // Two prefixes whose Sids collide (a 32-bit hash) are refused by design; not this test.
        let mut distinct = sids.clone();
        distinct.sort();
        distinct.dedup();
        prop_assume!(distinct.len() == sids.len());

        let input = PolicyDocument::parse(&text).map_err(fail)?;
        let merged = upsert_statements(Some(&input), &statements).map_err(fail)?;
        let doc = &merged.document;

        // Foreign statements: the same bytes, in the same order.
        prop_assert_eq!(foreign_json(doc, &sids), foreign_json(&input, &sids));

        // Each of our Sids exactly once: our statement, or an equivalent one that was there.
        for (sid, ours_st) in sids.iter().zip(&statements) {
            let found: Vec<&Value> = doc.statements().into_iter().filter(|s| sid_is(s, sid)).collect();
            prop_assert_eq!(found.len(), 1, "Sid {} appears {} times", sid, found.len());
            prop_assert!(
                found[0] == ours_st || input.statements().contains(&found[0]),
                "Sid {} holds a statement that is neither ours nor the one that was there: {}",
                sid,
                found[0]
            );
        }
        let expected_added: Vec<String> = sids
            .iter()
            .filter(|sid| !input.statements().iter().any(|s| sid_is(s, sid)))
            .cloned()
            .collect();
        prop_assert_eq!(&merged.added_sids, &expected_added);
        for sid in &merged.updated_sids {
            prop_assert!(sids.contains(sid) && !expected_added.contains(sid));
        }

        // `changed` says exactly whether there is something to write; no change means the input.
        prop_assert_eq!(merged.changed, doc.to_json_compact() != input.to_json_compact());
        if !merged.changed {
            prop_assert_eq!(doc, &input);
        }

        // The rest of the document is untouched; a written policy has a Version.
        prop_assert_eq!(other_top_level(doc), other_top_level(&input));
        if merged.changed {
            prop_assert!(doc.as_value().get("Version").is_some());
        }

        // The result re-parses to itself, compact or pretty.
        for written in [doc.to_json_compact(), doc.to_json_pretty()] {
            let reparsed = PolicyDocument::parse(&written).map_err(fail)?;
            prop_assert_eq!(&reparsed, doc);
        }

        // A second merge, of the document or of its text, changes nothing.
        let again = upsert_statements(Some(doc), &statements).map_err(fail)?;
        prop_assert!(!again.changed, "second merge changed {:?} / added {:?}", again.updated_sids, again.added_sids);
        prop_assert!(again.added_sids.is_empty() && again.updated_sids.is_empty());
        prop_assert_eq!(again.document.to_json_compact(), doc.to_json_compact());
        let from_text = PolicyDocument::parse(&doc.to_json_compact()).map_err(fail)?;
        prop_assert!(!upsert_statements(Some(&from_text), &statements).map_err(fail)?.changed);

        // Unless a foreign statement denies something, HealthOmics can pull.
        let foreign_deny = doc
            .statements()
            .into_iter()
            .any(|s| !is_ours(s, &sids) && s.get("Effect") == Some(&json!("Deny")));
        if !foreign_deny {
            check_access(doc, &ours)?;
        }
    }

    #[test]
    fn merge_into_no_policy_writes_exactly_ours(ours in ours()) {
        let statements = ours.statements();
        let sids = our_sids(&statements);
        let mut distinct = sids.clone();
        distinct.sort();
        distinct.dedup();
        prop_assume!(distinct.len() == sids.len());

        let merged = upsert_statements(None, &statements).map_err(fail)?;
        let doc = &merged.document;
        let written: Vec<Value> = doc.statements().into_iter().cloned().collect();
        prop_assert_eq!(&written, &statements);
        prop_assert_eq!(&merged.added_sids, &sids);
        prop_assert_eq!(doc.as_value()["Version"].as_str(), Some("2012-10-17"));
        let reparsed = PolicyDocument::parse(&doc.to_json_pretty()).map_err(fail)?;
        prop_assert_eq!(&reparsed, doc);
        let again = upsert_statements(Some(&reparsed), &statements).map_err(fail)?;
        prop_assert!(!again.changed);
        check_access(doc, &ours)?;
    }
}

#[test]
fn our_sids_are_the_documented_ones() {
    // Guards the generators above: they rely on these being our Sids.
    assert_eq!(repository_pull_statement()["Sid"], REPOSITORY_PULL_SID);
    assert_eq!(
        workflow_owner_pull_statement("aws", &["111122223333".to_owned()])["Sid"],
        WORKFLOW_OWNER_PULL_SID
    );
    assert_eq!(
        registry_pull_through_statement("aws", "us-east-1", "123456789012", "quay")["Sid"],
        Value::from(registry_pull_through_sid("quay"))
    );
}

/// Shrunk from `merge_keeps_foreign_statements_and_converges` when it generated arbitrary floats:
/// a foreign statement's number with 16-17 significant digits changes in the last digit every
/// time a policy is parsed and written, because serde_json's default float parser is not
/// correctly rounded (`-5.813659768952731e+299` parses to the float that prints as
/// `…732e+299`, which parses to `…7324e+299`). serde_json's `float_roundtrip` feature (in
/// Cargo.toml) makes parsing correctly rounded; this keeps it so.
#[test]
fn a_foreign_float_survives_a_rewrite() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Other","Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"NumericGreaterThan":{"aws:MultiFactorAuthAge":-5.813659768952731e+299}}}]}"#;
    let input = PolicyDocument::parse(text).expect("valid policy");
    let merged = upsert_statements(Some(&input), &[repository_pull_statement()])
        .expect("our statement merges");
    let written = merged.document.to_json_compact();
    let reread = PolicyDocument::parse(&written).expect("our output parses");
    assert_eq!(
        foreign_json(&reread, &[REPOSITORY_PULL_SID.to_owned()]),
        foreign_json(&input, &[REPOSITORY_PULL_SID.to_owned()]),
        "{written}"
    );
}
