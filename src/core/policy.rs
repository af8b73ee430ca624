//! IAM policy documents as HealthOmics sees them: reading, evaluating and merging.
//!
//! Three ECR policies decide whether HealthOmics can pull an image: the repository policy, the repository
//! creation template policy (copied into repositories that pull-through cache creates) and the registry
//! policy (which lets HealthOmics create those repositories and import upstream images). This module
//! answers "does this policy let principal P do these actions on these repositories?" with IAM's own rules
//! (explicit Deny, conditions, `Not*` elements, wildcards, resource scoping) rather than string matching,
//! and it writes our statements into existing policies without disturbing anyone else's.
//!
//! Everything here is pure: no I/O, no SDK types. Callers read and write the policy text.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The service principal HealthOmics uses when it pulls images.
pub const HEALTHOMICS_SERVICE_PRINCIPAL: &str = "omics.amazonaws.com";

/// What HealthOmics needs on a repository (and so in a creation template's policy); the AWS docs list all
/// three, and a policy granting only the first two still fails layer checks.
pub const REPOSITORY_PULL_ACTIONS: [&str; 3] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
];

/// What HealthOmics needs in the registry policy so that its first pull through a cache prefix can create
/// the repository and import the image.
pub const REGISTRY_PULL_THROUGH_ACTIONS: [&str; 2] =
    ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"];

/// Sid of our repository (and creation template) statement; stable so a second grant updates, not duplicates.
pub const REPOSITORY_PULL_SID: &str = "HealthOmicsImagePull";

/// Sid of the cross-account statement that lets workflow-owner accounts pull.
pub const WORKFLOW_OWNER_PULL_SID: &str = "HealthOmicsWorkflowOwnerPull";

/// Start of every registry statement Sid; the rest is derived from the prefix (see [`registry_pull_through_sid`]).
pub const REGISTRY_PULL_THROUGH_SID_PREFIX: &str = "HealthOmicsPullThroughCache";

/// Sid of the statement in the run role's identity policy.
pub const SERVICE_ROLE_PULL_SID: &str = "HealthOmicsEcrPull";

/// Sids the Python server wrote. They are not ours to rewrite (merge keeps them), but callers may want to
/// point them out: `HealthOmicsPullThroughCacheAccess` grants on `Resource: "*"`.
pub const PYTHON_SERVER_SIDS: [&str; 3] = [
    "HealthOmicsAccess",
    "HealthOmicsPullThroughCacheAccess",
    "HealthOmicsImagePullAccess",
];

/// The IAM policy language version; also what we add when a policy has none.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The ECR pseudo-prefix that stands for "every repository" in creation templates and cache rules
/// (defined once, with the other ECR names, in `image_ref`).
pub use crate::core::image_ref::ROOT_PREFIX;

// ------------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------------

/// Why a policy text could not be used, or why a merge request was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON; `detail` is serde_json's message, which already says where.
    #[error("policy is not valid JSON: {detail}")]
    InvalidJson {
        line: usize,
        column: usize,
        detail: String,
    },
    /// The JSON is valid but is not an object.
    #[error("policy must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    /// `Statement` is present but neither one statement object nor a list of them.
    #[error("policy \"Statement\" must be an object or an array, found {found}")]
    InvalidStatementType { found: &'static str },
    /// A statement we were asked to upsert is not a JSON object (programming error).
    #[error("statement {index} to upsert is not a JSON object")]
    OurStatementNotObject { index: usize },
    /// A statement we were asked to upsert has no usable Sid (programming error): without one, a second
    /// run could not find it and would append a duplicate.
    #[error("statement {index} to upsert has no Sid made of [A-Za-z0-9]")]
    OurStatementWithoutSid { index: usize },
    /// Two statements we were asked to upsert share a Sid (programming error).
    #[error("statements to upsert share the Sid {sid:?}")]
    DuplicateSid { sid: String },
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ------------------------------------------------------------------------------------------------------
// The document
// ------------------------------------------------------------------------------------------------------

/// A policy document as a JSON object. It keeps key order and every field we do not understand, so a
/// document we merge into is written back as its owner wrote it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PolicyDocument {
    value: Value,
}

impl PolicyDocument {
    /// Parses policy text. A missing `Statement` is accepted (it reads as no statements); one of the wrong
    /// type is not, because we could not merge into it without guessing.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::InvalidJson {
            line: e.line(),
            column: e.column(),
            detail: e.to_string(),
        })?;
        let Value::Object(map) = &value else {
            return Err(PolicyError::NotAnObject {
                found: json_type_name(&value),
            });
        };
        match map.get("Statement") {
            None | Some(Value::Object(_)) | Some(Value::Array(_)) => Ok(Self { value }),
            Some(other) => Err(PolicyError::InvalidStatementType {
                found: json_type_name(other),
            }),
        }
    }

    /// `{"Version":"2012-10-17","Statement":[]}`: the base a merge starts from when there is no policy.
    pub fn empty() -> Self {
        Self {
            value: json!({ "Version": POLICY_VERSION, "Statement": [] }),
        }
    }

    pub fn to_json_pretty(&self) -> String {
        format!("{:#}", self.value)
    }

    pub fn to_json_compact(&self) -> String {
        self.value.to_string()
    }

    pub fn as_value(&self) -> &Value {
        &self.value
    }

    pub fn into_value(self) -> Value {
        self.value
    }

    /// Every entry of `Statement`, including ones that are not objects (the evaluator notes and skips those).
    pub fn statements(&self) -> Vec<&Value> {
        match self.value.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => Vec::new(),
        }
    }

    /// True when the document has no statement at all. ECR rejects such a policy, so a caller that removed
    /// the last statement should delete the policy instead of writing it.
    pub fn has_no_statements(&self) -> bool {
        self.statements().is_empty()
    }

    /// Sids of the statements that have a string Sid, in document order.
    pub fn sids(&self) -> Vec<String> {
        self.statements()
            .into_iter()
            .filter_map(|s| sid_of(s).map(str::to_owned))
            .collect()
    }
}

fn sid_of(statement: &Value) -> Option<&str> {
    match statement.get("Sid") {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn statement_label(index: usize, statement: &Value) -> String {
    sid_of(statement).map_or_else(|| format!("#{index}"), str::to_owned)
}

// ------------------------------------------------------------------------------------------------------
// Evaluation: public types
// ------------------------------------------------------------------------------------------------------

/// Who is asking. A service is matched by `{"Service": ..}`; an account (for cross-account workflow
/// owners) by `{"AWS": "<acct>"}` or `{"AWS": "arn:<partition>:iam::<acct>:root"}`. Both match `"*"` and
/// `{"AWS": "*"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    Service(&'a str),
    Account(&'a str),
}

impl Principal<'_> {
    fn describe(&self) -> String {
        match self {
            Principal::Service(s) => (*s).to_owned(),
            Principal::Account(a) => format!("account {a}"),
        }
    }

    fn name(&self) -> &str {
        match self {
            Principal::Service(s) | Principal::Account(s) => s,
        }
    }
}

/// Which resources the actions are for. Repository policies usually carry no `Resource`, so `Any` is
/// common there; registry policies need `AllUnder` to check that a cache prefix is covered as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceTarget {
    /// The ARN is unknown: resource elements are assumed to match, and the reason says so.
    Any,
    /// One repository's exact ARN.
    Arn(String),
    /// Every ARN starting with this prefix, e.g. `arn:aws:ecr:us-east-1:123456789012:repository/quay/`.
    AllUnder(String),
}

/// The outcome for one action.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// An unconditional Allow applies and no Deny can apply.
    Allowed,
    /// An unconditional Deny applies.
    Denied,
    /// An Allow applies only under a Condition, or a Deny may apply (conditionally or to some of the
    /// repositories): whether the pull works depends on facts the policy alone does not settle.
    Conditional,
    /// Nothing allows it.
    NotGranted,
}

/// The verdict for one required action and the statement that decided it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, PartialEq, Eq, Debug)]
pub struct ActionVerdict {
    /// The action as required, e.g. `ecr:BatchGetImage`.
    pub action: String,
    pub verdict: Verdict,
    /// The deciding statement's Sid, or `#<index>` (0-based position) when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// One line for a human: why this verdict.
    pub reason: String,
}

/// Summary over all required actions.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug,
)]
#[serde(rename_all = "snake_case")]
pub enum AccessStatus {
    /// Every action is allowed.
    Accessible,
    /// Some action is denied or not granted.
    NotAccessible,
    /// None is denied or missing, but some are only conditionally allowed.
    Conditional,
    /// The policy could not be read (callers produce this; the evaluator never does).
    Unknown,
}

impl AccessStatus {
    /// The summary rule: any denied/not granted wins, then any conditional, else accessible.
    pub fn from_verdicts(actions: &[ActionVerdict]) -> Self {
        if actions
            .iter()
            .any(|a| matches!(a.verdict, Verdict::Denied | Verdict::NotGranted))
        {
            AccessStatus::NotAccessible
        } else if actions.iter().any(|a| a.verdict == Verdict::Conditional) {
            AccessStatus::Conditional
        } else {
            AccessStatus::Accessible
        }
    }
}

/// The result of evaluating a policy for a principal and a set of actions.
#[derive(Serialize, Deserialize, JsonSchema, Clone, PartialEq, Eq, Debug)]
pub struct AccessEvaluation {
    pub status: AccessStatus,
    pub actions: Vec<ActionVerdict>,
    /// Things a human should know about the policy as a whole (ignored statements, assumptions made).
    pub notes: Vec<String>,
}

impl AccessEvaluation {
    /// Actions that are not plainly allowed (denied, conditional or not granted): what a grant must fix
    /// or explain.
    /// Actions not allowed. Empty when the policy could not be read: nothing is known to be
    /// missing then, and listing every action would read as a verdict.
    pub fn missing_actions(&self) -> Vec<String> {
        if self.status == AccessStatus::Unknown {
            return Vec::new();
        }
        self.actions
            .iter()
            .filter(|a| a.verdict != Verdict::Allowed)
            .map(|a| a.action.clone())
            .collect()
    }

    /// Why HealthOmics cannot plainly pull, in one short line: the actions grouped by verdict
    /// and deciding statement (`no policy`; `not granted: ecr:A, ecr:B`; `ecr:A denied by S`;
    /// `ecr:A conditional (S)`). `None` when every action is allowed or the policy is unknown
    /// (its problem says why). The per-action `reason`s stay in the detail.
    pub fn summary(&self) -> Option<String> {
        if matches!(
            self.status,
            AccessStatus::Accessible | AccessStatus::Unknown
        ) {
            return None;
        }
        let open: Vec<&ActionVerdict> = self
            .actions
            .iter()
            .filter(|a| a.verdict != Verdict::Allowed)
            .collect();
        if !open.is_empty() && open.iter().all(|a| a.reason == NO_POLICY) {
            return Some(NO_POLICY.to_owned());
        }
        // (verdict, statement) in first-seen order, each with its actions.
        let mut groups: Vec<(Verdict, Option<&str>, Vec<&str>)> = Vec::new();
        for a in &open {
            let statement = match a.verdict {
                Verdict::NotGranted => None,
                _ => a.decided_by.as_deref(),
            };
            match groups
                .iter_mut()
                .find(|(v, s, _)| *v == a.verdict && *s == statement)
            {
                Some((_, _, actions)) => actions.push(&a.action),
                None => groups.push((a.verdict, statement, vec![&a.action])),
            }
        }
        let parts: Vec<String> = groups
            .into_iter()
            .map(|(verdict, statement, actions)| {
                // Every required action alike: their count says it (missing_permissions names
                // them).
                let actions = match actions.len() {
                    n if n == self.actions.len() && n > 1 => format!("all {n} required actions"),
                    _ => actions.join(", "),
                };
                match (verdict, statement) {
                    (Verdict::Denied, Some(s)) => format!("{actions} denied by {s}"),
                    (Verdict::Denied, None) => format!("{actions} denied"),
                    (Verdict::Conditional, Some(s)) => format!("{actions} conditional ({s})"),
                    (Verdict::Conditional, None) => format!("{actions} conditional"),
                    _ => format!("not granted: {actions}"),
                }
            })
            .collect();
        let mut line = parts.join("; ");
        if self.missing_actions() == [GUIDE_OMITS] {
            line.push_str(" (AWS requires it; the HealthOmics ECR guide omits it)");
        }
        Some(line)
    }

    /// Whether the per-action verdicts say more than [`Self::summary`] and the missing
    /// actions: a note about the verdict, or a statement that denies or conditions an action.
    pub fn says_more_than_summary(&self) -> bool {
        if self.summary().as_deref() == Some(NO_POLICY) {
            // Its one note says the same: there is no policy.
            return self.notes.len() > 1;
        }
        !self.notes.is_empty()
            || self
                .actions
                .iter()
                .any(|a| matches!(a.verdict, Verdict::Denied | Verdict::Conditional))
    }

    /// Actions an explicit, unconditional Deny blocks: adding an Allow cannot fix these.
    pub fn denied_actions(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter(|a| a.verdict == Verdict::Denied)
            .map(|a| a.action.clone())
            .collect()
    }

    /// For a policy that exists but could not be read or parsed: status `unknown`, every action listed as
    /// not granted with the cause as its reason, so `missing_actions` never claims nothing is missing.
    pub fn unknown(actions: &[&str], cause: &str) -> Self {
        Self {
            status: AccessStatus::Unknown,
            actions: actions
                .iter()
                .map(|a| ActionVerdict {
                    action: (*a).to_owned(),
                    verdict: Verdict::NotGranted,
                    decided_by: None,
                    reason: format!("unknown: the policy could not be read ({cause})"),
                })
                .collect(),
            notes: vec![format!("the policy could not be read: {cause}")],
        }
    }
}

/// The reason of every action when there is no policy at all.
const NO_POLICY: &str = "no policy";

/// The pull action the seed guide's repository policy leaves out.
const GUIDE_OMITS: &str = "ecr:BatchCheckLayerAvailability";

/// The seed guide's repository policy grants only `ecr:BatchGetImage` and
/// `ecr:GetDownloadUrlForLayer`; AWS's HealthOmics documentation also lists
/// `ecr:BatchCheckLayerAvailability`. The verdict follows AWS, and says so, so that a user who
/// followed the guide learns why their policy is judged not accessible.
pub fn note_when_stricter_than_guide(evaluation: &mut AccessEvaluation) {
    const THIRD: &str = GUIDE_OMITS;
    if evaluation.status == AccessStatus::NotAccessible && evaluation.missing_actions() == [THIRD] {
        evaluation.notes.push(format!(
            "Only {THIRD} is missing: the HealthOmics ECR guide grants the other two actions alone, but AWS's HealthOmics documentation requires all three, and this verdict follows AWS."
        ));
    }
}

/// For a resource that has no policy at all: nothing grants anything.
pub fn no_policy_evaluation(actions: &[&str]) -> AccessEvaluation {
    let actions: Vec<ActionVerdict> = actions
        .iter()
        .map(|a| ActionVerdict {
            action: (*a).to_owned(),
            verdict: Verdict::NotGranted,
            decided_by: None,
            reason: NO_POLICY.to_owned(),
        })
        .collect();
    AccessEvaluation {
        status: AccessStatus::from_verdicts(&actions),
        actions,
        notes: vec!["there is no policy, so nothing is granted".to_owned()],
    }
}

// ------------------------------------------------------------------------------------------------------
// Glob matching
// ------------------------------------------------------------------------------------------------------

/// A set of IAM globs (`*` any run, `?` one character) run as one NFA, so that "does this set cover every
/// ARN under a prefix" is decided exactly, including unions like `["p", "p?*"]`.
struct GlobSet {
    patterns: Vec<Vec<char>>,
}

/// NFA state: for each pattern, which positions are live.
type GlobState = Vec<Vec<bool>>;

/// Bound on the subsets explored when deciding coverage; beyond it we answer "not covered", the cautious
/// side for an Allow.
const COVER_SEARCH_LIMIT: usize = 4096;

impl GlobSet {
    fn new<S: AsRef<str>>(patterns: &[S], fold_case: bool) -> Self {
        let patterns = patterns
            .iter()
            .map(|p| {
                let p = p.as_ref();
                if fold_case {
                    p.to_lowercase().chars().collect()
                } else {
                    p.chars().collect()
                }
            })
            .collect();
        Self { patterns }
    }

    fn close(&self, state: &mut GlobState) {
        for (pat, live) in self.patterns.iter().zip(state.iter_mut()) {
            for k in 0..pat.len() {
                if live[k] && pat[k] == '*' {
                    live[k + 1] = true;
                }
            }
        }
    }

    fn start(&self) -> GlobState {
        let mut state: GlobState = self
            .patterns
            .iter()
            .map(|p| {
                let mut live = vec![false; p.len() + 1];
                live[0] = true;
                live
            })
            .collect();
        self.close(&mut state);
        state
    }

    fn step(&self, state: &GlobState, c: char) -> GlobState {
        let mut next: GlobState = self
            .patterns
            .iter()
            .map(|p| vec![false; p.len() + 1])
            .collect();
        for ((pat, live), out) in self.patterns.iter().zip(state).zip(next.iter_mut()) {
            for k in 0..pat.len() {
                if !live[k] {
                    continue;
                }
                match pat[k] {
                    '*' => out[k] = true,
                    '?' => out[k + 1] = true,
                    lit if lit == c => out[k + 1] = true,
                    _ => {}
                }
            }
        }
        self.close(&mut next);
        next
    }

    fn run(&self, s: &str) -> GlobState {
        s.chars().fold(self.start(), |st, c| self.step(&st, c))
    }

    fn accepting(&self, state: &GlobState) -> bool {
        state
            .iter()
            .any(|live| live.last().copied().unwrap_or(false))
    }

    /// Whether any pattern matches `s` exactly.
    fn matches(&self, s: &str) -> bool {
        self.accepting(&self.run(s))
    }

    /// Whether some `prefix + t` (t non-empty) matches: any live position that is not the end can consume
    /// a character, and from there the rest of a glob always matches something.
    fn matches_some_extension(&self, prefix: &str) -> bool {
        let state = self.run(prefix);
        self.patterns
            .iter()
            .zip(&state)
            .any(|(pat, live)| live[..pat.len()].iter().any(|&b| b))
    }

    /// Whether every `prefix + t` (t non-empty) matches: a subset construction over the characters the
    /// patterns mention plus one stand-in for all others; every reachable subset must accept.
    fn matches_every_extension(&self, prefix: &str) -> bool {
        let mut alphabet: Vec<char> = self
            .patterns
            .iter()
            .flatten()
            .copied()
            .filter(|c| *c != '*' && *c != '?')
            .collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        let mut other = '\u{E000}';
        while alphabet.binary_search(&other).is_ok() {
            other = char::from_u32(u32::from(other) + 1).unwrap_or('\u{10FFFF}');
        }
        alphabet.push(other);

        let origin = self.run(prefix);
        let mut seen: HashSet<GlobState> = HashSet::new();
        let mut queue: Vec<GlobState> = alphabet.iter().map(|&c| self.step(&origin, c)).collect();
        while let Some(state) = queue.pop() {
            if seen.contains(&state) {
                continue;
            }
            if !self.accepting(&state) || seen.len() >= COVER_SEARCH_LIMIT {
                return false;
            }
            for &c in &alphabet {
                let next = self.step(&state, c);
                if !seen.contains(&next) {
                    queue.push(next);
                }
            }
            seen.insert(state);
        }
        true
    }
}

// ------------------------------------------------------------------------------------------------------
// Evaluation: statement model
// ------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: a list of globs and whether it is negated.
#[derive(Debug)]
struct Element {
    negated: bool,
    patterns: Vec<String>,
}

#[derive(Debug)]
enum PrincipalSpec {
    Wildcard,
    /// A bare string other than `*`: not valid IAM, matches nobody.
    Bare(String),
    Typed(Vec<(String, Vec<String>)>),
}

#[derive(Debug)]
struct Statement {
    label: String,
    effect: Effect,
    principal: PrincipalSpec,
    not_principal: bool,
    action: Element,
    resource: Option<Element>,
    /// Condition keys; empty means unconditional.
    condition_keys: Vec<String>,
}

fn string_list(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "{key} contains {}, not a string",
                    json_type_name(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "{key} is {}, not a string or a list",
            json_type_name(other)
        )),
    }
}

fn either<'v>(
    obj: &'v Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<(bool, &'v Value)>, String> {
    match (obj.get(positive), obj.get(negative)) {
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(format!("has both {positive} and {negative}")),
    }
}

fn parse_principal(v: &Value, key: &str) -> Result<PrincipalSpec, String> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSpec::Wildcard),
        Value::String(s) => Ok(PrincipalSpec::Bare(s.clone())),
        Value::Object(map) => map
            .iter()
            .map(|(k, vals)| Ok((k.clone(), string_list(vals, &format!("{key}.{k}"))?)))
            .collect::<Result<Vec<_>, String>>()
            .map(PrincipalSpec::Typed),
        other => Err(format!(
            "{key} is {}, not \"*\" or an object",
            json_type_name(other)
        )),
    }
}

fn parse_statement(index: usize, v: &Value) -> Result<Statement, String> {
    let Value::Object(obj) = v else {
        return Err(format!("is {}, not an object", json_type_name(v)));
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => {
            return Err(format!(
                "has Effect {s:?}; IAM accepts only \"Allow\" or \"Deny\" (case-sensitive)"
            ));
        }
        Some(other) => return Err(format!("has an Effect that is {}", json_type_name(other))),
        None => return Err("has no Effect".to_owned()),
    };
    let (not_principal, principal) = match either(obj, "Principal", "NotPrincipal")? {
        Some((neg, p)) => (
            neg,
            parse_principal(p, if neg { "NotPrincipal" } else { "Principal" })?,
        ),
        None => return Err("has no Principal or NotPrincipal".to_owned()),
    };
    let action = match either(obj, "Action", "NotAction")? {
        Some((negated, a)) => Element {
            negated,
            patterns: string_list(a, if negated { "NotAction" } else { "Action" })?,
        },
        None => return Err("has no Action or NotAction".to_owned()),
    };
    let resource = match either(obj, "Resource", "NotResource")? {
        Some((negated, r)) => Some(Element {
            negated,
            patterns: string_list(r, if negated { "NotResource" } else { "Resource" })?,
        }),
        None => None,
    };
    let condition_keys = match obj.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(ops)) => {
            let mut keys = Vec::new();
            for (op, body) in ops {
                let Value::Object(body) = body else {
                    return Err(format!(
                        "has a Condition operator {op} that is not an object"
                    ));
                };
                keys.extend(body.keys().cloned());
                if body.is_empty() {
                    keys.push(op.clone());
                }
            }
            keys
        }
        Some(other) => return Err(format!("has a Condition that is {}", json_type_name(other))),
    };
    Ok(Statement {
        label: statement_label(index, v),
        effect,
        principal,
        not_principal,
        action,
        resource,
        condition_keys,
    })
}

fn is_root_arn_of(arn: &str, account: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", acct, "root"]
        if !partition.is_empty() && *acct == account)
}

fn typed_principal_matches(entries: &[(String, Vec<String>)], who: Principal<'_>) -> bool {
    entries.iter().any(|(kind, values)| match kind.as_str() {
        "AWS" => values.iter().any(|v| {
            v == "*"
                || match who {
                    Principal::Account(a) => v == a || is_root_arn_of(v, a),
                    Principal::Service(_) => false,
                }
        }),
        "Service" => match who {
            Principal::Service(s) => values.iter().any(|v| v == s),
            Principal::Account(_) => false,
        },
        _ => false,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coverage {
    Full,
    Partial,
    None,
}

impl Statement {
    fn action_applies(&self, action: &str) -> bool {
        let hit = GlobSet::new(&self.action.patterns, true).matches(&action.to_lowercase());
        hit != self.action.negated
    }

    /// `None` when the principal is written as a bare string (not valid IAM, so it applies to nobody).
    fn principal_applies(&self, who: Principal<'_>) -> Option<bool> {
        let listed = match &self.principal {
            PrincipalSpec::Wildcard => true,
            PrincipalSpec::Bare(_) => return None,
            PrincipalSpec::Typed(entries) => typed_principal_matches(entries, who),
        };
        Some(listed != self.not_principal)
    }

    fn is_conditional(&self) -> bool {
        !self.condition_keys.is_empty()
    }

    /// How much of the target the statement's resource element covers, and whether that was assumed.
    fn coverage(&self, target: &ResourceTarget) -> (Coverage, bool) {
        let Some(res) = &self.resource else {
            return (Coverage::Full, false);
        };
        let set = GlobSet::new(&res.patterns, false);
        let (all, some) = match target {
            ResourceTarget::Any => {
                let trivial = !res.negated && res.patterns.iter().any(|p| p == "*");
                return (Coverage::Full, !trivial);
            }
            ResourceTarget::Arn(arn) => {
                let m = set.matches(arn);
                (m, m)
            }
            ResourceTarget::AllUnder(prefix) => (
                set.matches_every_extension(prefix),
                set.matches_some_extension(prefix),
            ),
        };
        // For NotResource the listed set is what is excluded.
        let (all, some) = if res.negated {
            (!some, !all)
        } else {
            (all, some)
        };
        let cov = if all {
            Coverage::Full
        } else if some {
            Coverage::Partial
        } else {
            Coverage::None
        };
        (cov, false)
    }

    fn resource_text(&self) -> String {
        match &self.resource {
            None => String::new(),
            Some(r) => format!(
                "{} {}",
                if r.negated { "NotResource" } else { "Resource" },
                r.patterns.join(", ")
            ),
        }
    }
}

// ------------------------------------------------------------------------------------------------------
// Evaluation
// ------------------------------------------------------------------------------------------------------

/// Decides, per action, whether `principal` may perform it on `resource` under `policy`, following IAM's
/// precedence: unconditional Deny, then unconditional Allow with no possible Deny, then conditional, else
/// not granted. Grants pool across statements.
pub fn evaluate(
    policy: &PolicyDocument,
    principal: Principal<'_>,
    actions: &[&str],
    resource: &ResourceTarget,
) -> AccessEvaluation {
    let mut notes: Vec<String> = Vec::new();
    if policy.as_value().get("Statement").is_none() {
        notes.push("the policy has no Statement element".to_owned());
    }
    let mut statements = Vec::new();
    for (index, raw) in policy.statements().into_iter().enumerate() {
        match parse_statement(index, raw) {
            Ok(st) => statements.push(st),
            Err(why) => notes.push(format!(
                "statement {} {why}; it is malformed and was ignored",
                statement_label(index, raw)
            )),
        }
    }
    for st in &statements {
        if let PrincipalSpec::Bare(name) = &st.principal {
            notes.push(format!(
                "statement {} names the principal as the bare string {name:?}, which is not valid IAM \
                 and matches nobody; write {{\"Service\": {name:?}}} or {{\"AWS\": {name:?}}}",
                st.label
            ));
        }
        if *resource == ResourceTarget::Any && st.coverage(resource).1 {
            notes.push(format!(
                "statement {} is limited to {}; the target ARN is unknown, so it was assumed to match",
                st.label,
                st.resource_text()
            ));
        }
    }
    let verdicts: Vec<ActionVerdict> = actions
        .iter()
        .map(|a| evaluate_action(&statements, principal, a, resource))
        .collect();
    AccessEvaluation {
        status: AccessStatus::from_verdicts(&verdicts),
        actions: verdicts,
        notes,
    }
}

struct Hit<'s> {
    statement: &'s Statement,
    assumed: bool,
    /// Set for a Deny that covers only part of an `AllUnder` target.
    partial: bool,
}

fn evaluate_action(
    statements: &[Statement],
    who: Principal<'_>,
    action: &str,
    target: &ResourceTarget,
) -> ActionVerdict {
    let mut deny: Option<&Statement> = None;
    let mut cond_deny: Option<Hit<'_>> = None;
    let mut allow: Option<Hit<'_>> = None;
    let mut cond_allow: Option<Hit<'_>> = None;
    let mut hints: Vec<String> = Vec::new();

    for st in statements {
        if !st.action_applies(action) {
            continue;
        }
        match st.principal_applies(who) {
            Some(true) => {}
            Some(false) => continue,
            None => {
                if let PrincipalSpec::Bare(name) = &st.principal
                    && st.effect == Effect::Allow
                    && !st.not_principal
                    && name == who.name()
                {
                    hints.push(format!(
                        "statement {} names {name:?} as a bare string, which is not valid IAM \
                         (write {{\"Service\": {name:?}}})",
                        st.label
                    ));
                }
                continue;
            }
        }
        let (cov, assumed) = st.coverage(target);
        let hit = |partial| Hit {
            statement: st,
            assumed,
            partial,
        };
        match (st.effect, cov, st.is_conditional()) {
            (_, Coverage::None, _) => {
                if st.effect == Effect::Allow {
                    hints.push(format!(
                        "statement {} allows it only for {}, which does not match",
                        st.label,
                        st.resource_text()
                    ));
                }
            }
            (Effect::Deny, Coverage::Full, false) => {
                deny.get_or_insert(st);
            }
            (Effect::Deny, Coverage::Full, true) => {
                cond_deny.get_or_insert(hit(false));
            }
            (Effect::Deny, Coverage::Partial, _) => {
                cond_deny.get_or_insert(hit(true));
            }
            (Effect::Allow, Coverage::Full, false) => {
                allow.get_or_insert(hit(false));
            }
            (Effect::Allow, Coverage::Full, true) => {
                cond_allow.get_or_insert(hit(false));
            }
            (Effect::Allow, Coverage::Partial, _) => hints.push(format!(
                "statement {} allows it only for part of the target ({})",
                st.label,
                st.resource_text()
            )),
        }
    }

    let who_text = who.describe();
    let assumed_text = |h: &Hit<'_>| {
        if h.assumed {
            format!(
                "; its {} was assumed to match because the ARN is unknown",
                h.statement.resource_text()
            )
        } else {
            String::new()
        }
    };
    let deny_text = |h: &Hit<'_>| {
        if h.partial {
            format!(
                "statement {} denies it for some of the repositories ({})",
                h.statement.label,
                h.statement.resource_text()
            )
        } else {
            format!(
                "statement {} denies it when its Condition ({}) holds",
                h.statement.label,
                h.statement.condition_keys.join(", ")
            )
        }
    };
    let decide = |verdict, by: &Statement, reason| ActionVerdict {
        action: action.to_owned(),
        verdict,
        decided_by: Some(by.label.clone()),
        reason,
    };

    if let Some(d) = deny {
        return decide(
            Verdict::Denied,
            d,
            format!(
                "{action} is explicitly denied to {who_text} by statement {}; a Deny wins over any Allow",
                d.label
            ),
        );
    }
    match (allow, cond_deny, cond_allow) {
        (Some(a), None, _) => decide(
            Verdict::Allowed,
            a.statement,
            format!(
                "{action} is allowed to {who_text} by statement {}{}",
                a.statement.label,
                assumed_text(&a)
            ),
        ),
        (Some(a), Some(d), _) => decide(
            Verdict::Conditional,
            d.statement,
            format!(
                "statement {} allows {action} to {who_text}, but {}, so it may be denied",
                a.statement.label,
                deny_text(&d)
            ),
        ),
        (None, d, Some(c)) => {
            let also = d.map_or_else(String::new, |d| format!("; also, {}", deny_text(&d)));
            decide(
                Verdict::Conditional,
                c.statement,
                format!(
                    "{action} is allowed to {who_text} only under the Condition ({}) of statement {}, \
                     which cannot be assumed to hold{}{also}",
                    c.statement.condition_keys.join(", "),
                    c.statement.label,
                    assumed_text(&c)
                ),
            )
        }
        (None, d, None) => {
            if let Some(d) = d {
                hints.push(deny_text(&d));
            }
            let mut reason = format!("no statement allows {action} to {who_text}");
            if !hints.is_empty() {
                reason.push_str(": ");
                reason.push_str(&hints.join("; "));
            }
            ActionVerdict {
                action: action.to_owned(),
                verdict: Verdict::NotGranted,
                decided_by: None,
                reason,
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------------
// Merge
// ------------------------------------------------------------------------------------------------------

/// What a merge produced. `changed == false` means the document is the input as is and nothing needs
/// writing.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    pub document: PolicyDocument,
    pub changed: bool,
    pub added_sids: Vec<String>,
    pub updated_sids: Vec<String>,
    /// Only [`remove_statements`] fills this.
    pub removed_sids: Vec<String>,
}

fn is_valid_sid(sid: &str) -> bool {
    !sid.is_empty() && sid.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A statement with list-valued elements in a canonical form, so that `"a"` equals `["a"]` and list order
/// (and action case) does not count: ECR may hand a policy back reformatted, and a reformatted copy of our
/// statement must not be rewritten on every run.
fn canonical(statement: &Value) -> Value {
    fn list(v: &Value, lower: bool) -> Value {
        match string_list(v, "") {
            Ok(mut items) => {
                if lower {
                    items.iter_mut().for_each(|s| *s = s.to_lowercase());
                }
                items.sort();
                items.dedup();
                Value::from(items)
            }
            Err(_) => v.clone(),
        }
    }
    let Value::Object(obj) = statement else {
        return statement.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let v = match k.as_str() {
            "Action" | "NotAction" => list(v, true),
            "Resource" | "NotResource" => list(v, false),
            "Principal" | "NotPrincipal" => match v {
                Value::Object(p) => Value::Object(
                    p.iter()
                        .map(|(pk, pv)| (pk.clone(), list(pv, false)))
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// A document taken apart for merging: the top-level object, its statements, and whether `Statement`
/// was a single object rather than a list.
struct Split {
    obj: Map<String, Value>,
    list: Vec<Value>,
    single: bool,
}

fn split_statements(doc: &PolicyDocument) -> Result<Split, PolicyError> {
    let Value::Object(obj) = doc.as_value() else {
        return Err(PolicyError::NotAnObject {
            found: json_type_name(doc.as_value()),
        });
    };
    let (list, single) = match obj.get("Statement") {
        None => (Vec::new(), false),
        Some(Value::Array(list)) => (list.clone(), false),
        Some(one @ Value::Object(_)) => (vec![one.clone()], true),
        Some(other) => {
            return Err(PolicyError::InvalidStatementType {
                found: json_type_name(other),
            });
        }
    };
    Ok(Split {
        obj: obj.clone(),
        list,
        single,
    })
}

/// Puts statements back in place, keeping a single-object `Statement` single when `keep_single` allows,
/// and adds `Version` first if the document had none.
fn reassemble(
    mut obj: Map<String, Value>,
    mut list: Vec<Value>,
    keep_single: bool,
) -> PolicyDocument {
    let statement = if keep_single && list.len() == 1 {
        list.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(list)
    };
    obj.insert("Statement".to_owned(), statement);
    if !obj.contains_key("Version") {
        obj.shift_insert(0, "Version".to_owned(), Value::from(POLICY_VERSION));
    }
    PolicyDocument {
        value: Value::Object(obj),
    }
}

/// Adds or updates our statements (matched by Sid) and leaves every other statement exactly as it was,
/// in place. `existing == None` means there is no policy yet.
pub fn upsert_statements(
    existing: Option<&PolicyDocument>,
    ours: &[Value],
) -> Result<MergeOutcome, PolicyError> {
    let mut our_sids: Vec<&str> = Vec::with_capacity(ours.len());
    for (index, st) in ours.iter().enumerate() {
        if !st.is_object() {
            return Err(PolicyError::OurStatementNotObject { index });
        }
        let sid = match st.get("Sid") {
            Some(Value::String(s)) if is_valid_sid(s) => s.as_str(),
            _ => return Err(PolicyError::OurStatementWithoutSid { index }),
        };
        if our_sids.contains(&sid) {
            return Err(PolicyError::DuplicateSid {
                sid: sid.to_owned(),
            });
        }
        our_sids.push(sid);
    }

    let base = existing.cloned().unwrap_or_else(PolicyDocument::empty);
    let Split { obj, list, single } = split_statements(&base)?;
    let mut placed = vec![false; ours.len()];
    let mut out = Vec::with_capacity(list.len() + ours.len());
    let mut changed = false;
    let mut updated_sids: Vec<String> = Vec::new();
    for st in list {
        let ours_at = sid_of(&st).and_then(|sid| our_sids.iter().position(|o| *o == sid));
        let Some(i) = ours_at else {
            out.push(st);
            continue;
        };
        if placed[i] {
            // A second copy of one of our Sids: dropping it is what keeps Sids unique.
            changed = true;
            if !updated_sids.iter().any(|s| s == our_sids[i]) {
                updated_sids.push(our_sids[i].to_owned());
            }
            continue;
        }
        placed[i] = true;
        if canonical(&st) == canonical(&ours[i]) {
            out.push(st);
        } else {
            out.push(ours[i].clone());
            changed = true;
            updated_sids.push(our_sids[i].to_owned());
        }
    }
    let mut added_sids = Vec::new();
    for (i, st) in ours.iter().enumerate() {
        if !placed[i] {
            out.push(st.clone());
            added_sids.push(our_sids[i].to_owned());
            changed = true;
        }
    }
    if !changed {
        return Ok(MergeOutcome {
            document: base,
            changed: false,
            added_sids,
            updated_sids,
            removed_sids: Vec::new(),
        });
    }
    Ok(MergeOutcome {
        document: reassemble(obj, out, single && added_sids.is_empty()),
        changed,
        added_sids,
        updated_sids,
        removed_sids: Vec::new(),
    })
}

/// Removes every statement carrying one of `sids` and nothing else. A single-object `Statement` that is
/// removed leaves an empty list (see [`PolicyDocument::has_no_statements`]).
pub fn remove_statements(existing: &PolicyDocument, sids: &[&str]) -> MergeOutcome {
    let unchanged = || MergeOutcome {
        document: existing.clone(),
        changed: false,
        added_sids: Vec::new(),
        updated_sids: Vec::new(),
        removed_sids: Vec::new(),
    };
    let Ok(Split { obj, list, single }) = split_statements(existing) else {
        return unchanged();
    };
    let mut removed_sids: Vec<String> = Vec::new();
    let mut kept = Vec::with_capacity(list.len());
    for st in list {
        match sid_of(&st) {
            Some(sid) if sids.contains(&sid) => {
                if !removed_sids.iter().any(|s| s == sid) {
                    removed_sids.push(sid.to_owned());
                }
            }
            _ => kept.push(st),
        }
    }
    if removed_sids.is_empty() {
        return unchanged();
    }
    MergeOutcome {
        document: reassemble(obj, kept, single),
        changed: true,
        added_sids: Vec::new(),
        updated_sids: Vec::new(),
        removed_sids,
    }
}

// ------------------------------------------------------------------------------------------------------
// Statement builders
// ------------------------------------------------------------------------------------------------------

fn is_root_prefix(prefix: &str) -> bool {
    prefix == ROOT_PREFIX
}

/// `arn:<partition>:ecr:<region>:<account>:repository/<name>`.
pub fn repository_arn(
    partition: &str,
    region: &str,
    account: &str,
    repository_name: &str,
) -> String {
    format!("arn:{partition}:ecr:{region}:{account}:repository/{repository_name}")
}

/// The ARN prefix every repository under a cache prefix starts with (`ROOT` means every repository); use
/// it with [`ResourceTarget::AllUnder`].
pub fn repository_prefix_arn(partition: &str, region: &str, account: &str, prefix: &str) -> String {
    if is_root_prefix(prefix) {
        format!("arn:{partition}:ecr:{region}:{account}:repository/")
    } else {
        format!("arn:{partition}:ecr:{region}:{account}:repository/{prefix}/")
    }
}

fn repository_prefix_pattern(partition: &str, region: &str, account: &str, prefix: &str) -> String {
    format!(
        "{}*",
        repository_prefix_arn(partition, region, account, prefix)
    )
}

/// Lets HealthOmics pull from a repository (also the policy of a creation template). No Resource: a
/// repository policy is about its own repository.
pub fn repository_pull_statement() -> Value {
    json!({
        "Sid": REPOSITORY_PULL_SID,
        "Effect": "Allow",
        "Principal": { "Service": HEALTHOMICS_SERVICE_PRINCIPAL },
        "Action": REPOSITORY_PULL_ACTIONS,
    })
}

/// Lets other accounts that own workflows pull (HealthOmics pulls with the workflow owner's identity
/// for cross-account images). Accounts are sorted and de-duplicated so the statement is stable across
/// runs; callers must pass at least one valid account ID (see [`crate::core::image_ref::is_account_id`]).
pub fn workflow_owner_pull_statement(partition: &str, account_ids: &[String]) -> Value {
    let mut accounts: Vec<&str> = account_ids.iter().map(String::as_str).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let arns: Vec<String> = accounts
        .iter()
        .map(|a| format!("arn:{partition}:iam::{a}:root"))
        .collect();
    json!({
        "Sid": WORKFLOW_OWNER_PULL_SID,
        "Effect": "Allow",
        "Principal": { "AWS": arns },
        "Action": REPOSITORY_PULL_ACTIONS,
    })
}

fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// One Sid per cache prefix, so each prefix's statement is updated on its own. The CamelCase part keeps
/// it readable; the hash keeps prefixes that differ only in punctuation (`docker-hub`, `dockerhub`) apart.
pub fn registry_pull_through_sid(prefix: &str) -> String {
    let camel: String = prefix
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .flat_map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars)
        })
        .collect();
    format!(
        "{REGISTRY_PULL_THROUGH_SID_PREFIX}{camel}{:08x}",
        fnv1a_32(prefix.as_bytes())
    )
}

/// Lets HealthOmics create repositories under one cache prefix and import upstream images into them,
/// and nothing else in the registry.
pub fn registry_pull_through_statement(
    partition: &str,
    region: &str,
    account_id: &str,
    prefix: &str,
) -> Value {
    json!({
        "Sid": registry_pull_through_sid(prefix),
        "Effect": "Allow",
        "Principal": { "Service": HEALTHOMICS_SERVICE_PRINCIPAL },
        "Action": REGISTRY_PULL_THROUGH_ACTIONS,
        "Resource": repository_prefix_pattern(partition, region, account_id, prefix),
    })
}

/// The identity policy the HealthOmics run role needs to pull: the pull actions on every repository
/// under each cache prefix and on each named repository. With nothing to cover it has no statement.
pub fn service_role_pull_policy(
    partition: &str,
    region: &str,
    account: &str,
    prefixes: &[String],
    repositories: &[String],
) -> Value {
    let mut resources: Vec<String> = Vec::new();
    let candidates = prefixes
        .iter()
        .map(|p| repository_prefix_pattern(partition, region, account, p))
        .chain(
            repositories
                .iter()
                .map(|r| repository_arn(partition, region, account, r)),
        );
    for arn in candidates {
        if !resources.contains(&arn) {
            resources.push(arn);
        }
    }
    let statements = if resources.is_empty() {
        Vec::new()
    } else {
        vec![json!({
            "Sid": SERVICE_ROLE_PULL_SID,
            "Effect": "Allow",
            "Action": REPOSITORY_PULL_ACTIONS,
            "Resource": resources,
        })]
    };
    json!({ "Version": POLICY_VERSION, "Statement": statements })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Allowed as A, Conditional as C, Denied as D, NotGranted as N};

    const OMICS: Principal<'static> = Principal::Service(HEALTHOMICS_SERVICE_PRINCIPAL);
    const OWNER: Principal<'static> = Principal::Account("123456789012");
    const PULL: &[&str] = &REPOSITORY_PULL_ACTIONS;
    const PTC: &[&str] = &REGISTRY_PULL_THROUGH_ACTIONS;
    const REPO_ARN: &str =
        "arn:aws:ecr:us-east-1:123456789012:repository/quay/biocontainers/samtools";
    const QUAY: &str = "arn:aws:ecr:us-east-1:123456789012:repository/quay/";
    const ALLOW_PULL: &str = r#"{"Sid":"Pull","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
        "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}"#;

    fn doc(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    fn allow_ptc_on(resource: &str) -> String {
        doc(&format!(
            r#"{{"Sid":"Ptc","Effect":"Allow","Principal":{{"Service":"omics.amazonaws.com"}},
            "Action":["ecr:CreateRepository","ecr:BatchImportUpstreamImage"],"Resource":{resource}}}"#
        ))
    }

    fn arn(rest: &str) -> String {
        format!("\"arn:aws:ecr:us-east-1:123456789012:repository/{rest}\"")
    }

    fn parse(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).expect("test policy parses")
    }

    struct Case {
        name: &'static str,
        policy: String,
        who: Principal<'static>,
        target: ResourceTarget,
        actions: &'static [&'static str],
        expect: Vec<(Verdict, Option<&'static str>)>,
        reason_has: Option<&'static str>,
        note_has: Option<&'static str>,
    }

    fn case(
        name: &'static str,
        policy: impl Into<String>,
        expect: &[(Verdict, Option<&'static str>)],
    ) -> Case {
        Case {
            name,
            policy: policy.into(),
            who: OMICS,
            target: ResourceTarget::Any,
            actions: PULL,
            expect: expect.to_vec(),
            reason_has: None,
            note_has: None,
        }
    }

    impl Case {
        fn who(mut self, who: Principal<'static>) -> Self {
            self.who = who;
            self
        }
        fn target(mut self, target: ResourceTarget) -> Self {
            self.target = target;
            self
        }
        fn registry(mut self) -> Self {
            self.actions = PTC;
            self.target = ResourceTarget::AllUnder(QUAY.to_owned());
            self
        }
        fn reason(mut self, s: &'static str) -> Self {
            self.reason_has = Some(s);
            self
        }
        fn note(mut self, s: &'static str) -> Self {
            self.note_has = Some(s);
            self
        }
    }

    fn all3(v: Verdict, by: Option<&'static str>) -> [(Verdict, Option<&'static str>); 3] {
        [(v, by), (v, by), (v, by)]
    }

    fn all2(v: Verdict, by: Option<&'static str>) -> [(Verdict, Option<&'static str>); 2] {
        [(v, by), (v, by)]
    }

    fn cases() -> Vec<Case> {
        let deny_get =
            r#"{"Sid":"NoManifests","Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage"}"#;
        let omics_allow = |sid: &str, action: &str| {
            format!(
                r#"{{"Sid":"{sid}","Effect":"Allow","Principal":{{"Service":"omics.amazonaws.com"}},"Action":{action}}}"#
            )
        };
        let aws_allow = |principal: &str| {
            doc(&format!(
                r#"{{"Sid":"Owner","Effect":"Allow","Principal":{principal},"Action":"ecr:*"}}"#
            ))
        };
        vec![
            case("plain allow", doc(ALLOW_PULL), &all3(A, Some("Pull"))),
            // Deny wins over Allow, whichever comes first.
            case(
                "deny over allow",
                doc(&format!("{ALLOW_PULL},{deny_get}")),
                &[(D, Some("NoManifests")), (A, Some("Pull")), (A, Some("Pull"))],
            )
            .reason("explicitly denied"),
            case(
                "deny before allow",
                doc(&format!("{deny_get},{ALLOW_PULL}")),
                &[(D, Some("NoManifests")), (A, Some("Pull")), (A, Some("Pull"))],
            ),
            case(
                "conditional deny over allow",
                doc(&format!(
                    r#"{ALLOW_PULL},{{"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"ecr:*",
                    "Condition":{{"StringNotEquals":{{"aws:PrincipalOrgID":"o-abc123"}}}}}}"#
                )),
                &all3(C, Some("OrgOnly")),
            )
            .reason("aws:PrincipalOrgID"),
            case(
                "conditional deny alone grants nothing",
                doc(
                    r#"{"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"ecr:*",
                    "Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#,
                ),
                &all3(N, None),
            ),
            case(
                "NotAction allow",
                doc(
                    r#"{"Sid":"AllButWrites","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
                    "NotAction":["ecr:Delete*","ecr:Put*"]}"#,
                ),
                &all3(A, Some("AllButWrites")),
            ),
            case(
                "NotAction deny",
                doc(&format!(
                    r#"{ALLOW_PULL},{{"Sid":"ManifestsOnly","Effect":"Deny","Principal":"*","NotAction":"ecr:BatchGetImage"}}"#
                )),
                &[
                    (A, Some("Pull")),
                    (D, Some("ManifestsOnly")),
                    (D, Some("ManifestsOnly")),
                ],
            ),
            case(
                "NotAction allow that excludes a pull action",
                doc(
                    r#"{"Sid":"NoLayers","Effect":"Allow","Principal":"*","NotAction":"ecr:GetDownloadUrlForLayer"}"#,
                ),
                &[(A, Some("NoLayers")), (N, None), (A, Some("NoLayers"))],
            ),
            case(
                "NotPrincipal deny hits omics",
                doc(&format!(
                    r#"{ALLOW_PULL},{{"Sid":"AdminOnly","Effect":"Deny",
                    "NotPrincipal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"ecr:*"}}"#
                )),
                &all3(D, Some("AdminOnly")),
            ),
            case(
                "NotPrincipal deny that exempts omics",
                doc(&format!(
                    r#"{ALLOW_PULL},{{"Sid":"OmicsOnly","Effect":"Deny",
                    "NotPrincipal":{{"Service":["omics.amazonaws.com"]}},"Action":"ecr:*"}}"#
                )),
                &all3(A, Some("Pull")),
            ),
            case(
                "NotPrincipal allow",
                doc(
                    r#"{"Sid":"NotThem","Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"ecr:*"}"#,
                ),
                &all3(A, Some("NotThem")),
            ),
            case(
                "AWS star is everyone",
                doc(r#"{"Sid":"Public","Effect":"Allow","Principal":{"AWS":"*"},"Action":"ecr:*"}"#),
                &all3(A, Some("Public")),
            ),
            case(
                "star is everyone",
                doc(r#"{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"ecr:*"}"#),
                &all3(A, Some("Public")),
            ),
            case(
                "bare string principal is not IAM",
                doc(r#"{"Sid":"Bare","Effect":"Allow","Principal":"omics.amazonaws.com","Action":"ecr:*"}"#),
                &all3(N, None),
            )
            .reason("bare string")
            .note("not valid IAM"),
            case(
                "other service",
                doc(
                    r#"{"Sid":"Ecs","Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"ecr:*"}"#,
                ),
                &all3(N, None),
            ),
            case(
                "service list",
                doc(
                    r#"{"Sid":"Both","Effect":"Allow",
                    "Principal":{"Service":["ecs.amazonaws.com","omics.amazonaws.com"]},"Action":"ecr:*"}"#,
                ),
                &all3(A, Some("Both")),
            ),
            case(
                "federated and canonical users are not omics",
                doc(
                    r#"{"Sid":"Fed","Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com",
                    "CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"ecr:*"}"#,
                ),
                &all3(N, None),
            ),
            case(
                "prefix wildcard",
                doc(&omics_allow("Batch", r#""ecr:Batch*""#)),
                &[(A, Some("Batch")), (N, None), (A, Some("Batch"))],
            ),
            case(
                "service wildcard",
                doc(&omics_allow("Ecr", r#""ecr:*""#)),
                &all3(A, Some("Ecr")),
            ),
            case(
                "full wildcard",
                doc(&omics_allow("All", r#""*""#)),
                &all3(A, Some("All")),
            ),
            case(
                "question mark wildcard",
                doc(&omics_allow("Q", r#"["ecr:Get?ownloadUrlForLayer","ecr:BatchGetImage?"]"#)),
                &[(N, None), (A, Some("Q")), (N, None)],
            ),
            case(
                "actions are case-insensitive",
                doc(&omics_allow(
                    "Case",
                    r#"["ECR:batchgetimage","Ecr:GETDOWNLOADURLFORLAYER","ecr:BATCH*AVAILABILITY"]"#,
                )),
                &all3(A, Some("Case")),
            ),
            case(
                "grants pool across statements",
                doc(&format!(
                    "{},{},{}",
                    omics_allow("One", r#""ecr:BatchGetImage""#),
                    omics_allow("Two", r#"["ecr:GetDownloadUrlForLayer"]"#),
                    omics_allow("Three", r#""ecr:BatchCheckLayerAvailability""#)
                )),
                &[(A, Some("One")), (A, Some("Two")), (A, Some("Three"))],
            ),
            case(
                "statement without Sid is named by index",
                doc(&format!(
                    r#"{ALLOW_PULL},{{"Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage"}}"#
                )),
                &[(D, Some("#1")), (A, Some("Pull")), (A, Some("Pull"))],
            ),
            // Resource against a known ARN.
            case(
                "Resource equals the ARN",
                allow_ptc_on(&format!("\"{REPO_ARN}\"")).replace("ecr:CreateRepository", "ecr:BatchGetImage"),
                &[(A, Some("Ptc")), (N, None), (N, None)],
            )
            .target(ResourceTarget::Arn(REPO_ARN.to_owned())),
            case(
                "Resource glob matches the ARN",
                doc(
                    r#"{"Sid":"Region","Effect":"Allow","Principal":"*","Action":"ecr:*",
                    "Resource":"arn:aws:ecr:*:123456789012:repository/quay/*"}"#,
                ),
                &all3(A, Some("Region")),
            )
            .target(ResourceTarget::Arn(REPO_ARN.to_owned())),
            case(
                "Resource for another repository",
                doc(&format!(
                    r#"{{"Sid":"Other","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":{}}}"#,
                    arn("other")
                )),
                &all3(N, None),
            )
            .target(ResourceTarget::Arn(REPO_ARN.to_owned()))
            .reason("does not match"),
            case(
                "Resource is case-sensitive",
                doc(&format!(
                    r#"{{"Sid":"Upper","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":{}}}"#,
                    arn("QUAY/*")
                )),
                &all3(N, None),
            )
            .target(ResourceTarget::Arn(REPO_ARN.to_owned())),
            case(
                "NotResource excludes the ARN",
                doc(&format!(
                    r#"{{"Sid":"NotQuay","Effect":"Allow","Principal":"*","Action":"ecr:*","NotResource":{}}}"#,
                    arn("quay/*")
                )),
                &all3(N, None),
            )
            .target(ResourceTarget::Arn(REPO_ARN.to_owned())),
            case(
                "NotResource elsewhere leaves the ARN",
                doc(&format!(
                    r#"{{"Sid":"NotHub","Effect":"Allow","Principal":"*","Action":"ecr:*","NotResource":[{}]}}"#,
                    arn("docker-hub/*")
                )),
                &all3(A, Some("NotHub")),
            )
            .target(ResourceTarget::Arn(REPO_ARN.to_owned())),
            case(
                "unknown ARN assumes the Resource matches and says so",
                doc(&format!(
                    r#"{{"Sid":"Other","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":{}}}"#,
                    arn("other")
                )),
                &all3(A, Some("Other")),
            )
            .reason("assumed")
            .note("assumed"),
            // Resource against a whole cache prefix.
            case("prefix/* covers the prefix", allow_ptc_on(&arn("quay/*")), &all2(A, Some("Ptc"))).registry(),
            case("repository/* covers the prefix", allow_ptc_on(&arn("*")), &all2(A, Some("Ptc"))).registry(),
            case("star covers the prefix", allow_ptc_on(r#""*""#), &all2(A, Some("Ptc"))).registry(),
            case(
                "a sub-prefix does not cover the prefix",
                allow_ptc_on(&arn("quay/biocontainers/*")),
                &all2(N, None),
            )
            .registry()
            .reason("only for part"),
            case("one character does not cover the prefix", allow_ptc_on(&arn("quay/?")), &all2(N, None))
                .registry(),
            case("another prefix", allow_ptc_on(&arn("docker-hub/*")), &all2(N, None)).registry(),
            case(
                "a union of globs covers the prefix",
                allow_ptc_on(&format!("[{},{}]", arn("quay/a*"), arn("quay/?*"))),
                &all2(A, Some("Ptc")),
            )
            .registry(),
            case(
                "NotResource elsewhere covers the prefix",
                allow_ptc_on(&arn("docker-hub/*")).replace("\"Resource\"", "\"NotResource\""),
                &all2(A, Some("Ptc")),
            )
            .registry(),
            case(
                "NotResource inside the prefix breaks coverage",
                allow_ptc_on(&arn("quay/biocontainers/*")).replace("\"Resource\"", "\"NotResource\""),
                &all2(N, None),
            )
            .registry(),
            case(
                "a Deny on part of the prefix makes it conditional",
                doc(&format!(
                    r#"{{"Sid":"All","Effect":"Allow","Principal":{{"Service":"omics.amazonaws.com"}},
                    "Action":"ecr:*","Resource":{}}},
                    {{"Sid":"NotBio","Effect":"Deny","Principal":"*","Action":"ecr:*","Resource":{}}}"#,
                    arn("*"),
                    arn("quay/biocontainers/*")
                )),
                &all2(C, Some("NotBio")),
            )
            .registry()
            .reason("some of the repositories"),
            // Conditions.
            case(
                "Condition makes an allow conditional",
                doc(
                    r#"{"Sid":"SameAccount","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
                    "Action":"ecr:*","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}"#,
                ),
                &all3(C, Some("SameAccount")),
            )
            .reason("aws:SourceAccount"),
            case(
                "an unconditional allow beats a conditional one",
                doc(&format!(
                    r#"{{"Sid":"SameAccount","Effect":"Allow","Principal":"*","Action":"ecr:*",
                    "Condition":{{"ArnLike":{{"aws:SourceArn":"arn:aws:omics:*:123456789012:run/*"}}}}}},{ALLOW_PULL}"#
                )),
                &all3(A, Some("Pull")),
            ),
            case(
                "an empty Condition is no condition",
                doc(
                    r#"{"Sid":"Empty","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
                    "Action":"ecr:*","Condition":{}}"#,
                ),
                &all3(A, Some("Empty")),
            ),
            case(
                "single-object Statement",
                format!(r#"{{"Version":"2012-10-17","Statement":{ALLOW_PULL}}}"#),
                &all3(A, Some("Pull")),
            ),
            case(
                "malformed statements are ignored",
                doc(
                    r#"{"Sid":"Lower","Effect":"allow","Principal":"*","Action":"ecr:*"},
                    {"Sid":"NoEffect","Principal":"*","Action":"ecr:*"},
                    {"Sid":"Both","Effect":"Allow","Principal":"*","Action":"ecr:*","NotAction":"s3:*"},
                    {"Sid":"NumberAction","Effect":"Allow","Principal":"*","Action":7},
                    {"Sid":"NoPrincipal","Effect":"Allow","Action":"ecr:*"},
                    "just a string""#,
                ),
                &all3(N, None),
            )
            .note("malformed"),
            case(
                "a malformed Deny is ignored",
                doc(&format!(
                    r#"{ALLOW_PULL},{{"Sid":"LowerDeny","Effect":"deny","Principal":"*","Action":"ecr:*"}}"#
                )),
                &all3(A, Some("Pull")),
            )
            .note("case-sensitive"),
            // Account principals (cross-account workflow owners).
            case("account id", aws_allow(r#"{"AWS":"123456789012"}"#), &all3(A, Some("Owner"))).who(OWNER),
            case(
                "account root ARN",
                aws_allow(r#"{"AWS":"arn:aws:iam::123456789012:root"}"#),
                &all3(A, Some("Owner")),
            )
            .who(OWNER),
            case(
                "account root ARN in another partition",
                aws_allow(r#"{"AWS":"arn:aws-cn:iam::123456789012:root"}"#),
                &all3(A, Some("Owner")),
            )
            .who(OWNER),
            case(
                "account in a list",
                aws_allow(r#"{"AWS":["arn:aws:iam::111122223333:root","123456789012"]}"#),
                &all3(A, Some("Owner")),
            )
            .who(OWNER),
            case("star for an account", aws_allow(r#""*""#), &all3(A, Some("Owner"))).who(OWNER),
            case(
                "a role is not the account",
                aws_allow(r#"{"AWS":"arn:aws:iam::123456789012:role/Runner"}"#),
                &all3(N, None),
            )
            .who(OWNER),
            case(
                "another account",
                aws_allow(r#"{"AWS":"arn:aws:iam::999999999999:root"}"#),
                &all3(N, None),
            )
            .who(OWNER),
            case(
                "the service is not the account",
                aws_allow(r#"{"Service":"omics.amazonaws.com"}"#),
                &all3(N, None),
            )
            .who(OWNER),
            case(
                "the account is not the service",
                aws_allow(r#"{"AWS":"123456789012"}"#),
                &all3(N, None),
            ),
        ]
    }

    #[test]
    fn iam_rule_table() {
        for c in cases() {
            let eval = evaluate(&parse(&c.policy), c.who, c.actions, &c.target);
            assert_eq!(eval.actions.len(), c.expect.len(), "{}", c.name);
            for (got, (verdict, by)) in eval.actions.iter().zip(&c.expect) {
                assert_eq!(
                    (got.verdict, got.decided_by.as_deref()),
                    (*verdict, *by),
                    "case {:?}, action {}: {}",
                    c.name,
                    got.action,
                    got.reason
                );
                assert!(!got.reason.contains('\n'), "{}: reason is one line", c.name);
            }
            if let Some(s) = c.reason_has {
                assert!(
                    eval.actions.iter().any(|a| a.reason.contains(s)),
                    "case {:?}: no reason mentions {s:?}: {:#?}",
                    c.name,
                    eval.actions
                );
            }
            if let Some(s) = c.note_has {
                assert!(
                    eval.notes.iter().any(|n| n.contains(s)),
                    "case {:?}: no note mentions {s:?}: {:?}",
                    c.name,
                    eval.notes
                );
            }
            assert_eq!(eval.status, AccessStatus::from_verdicts(&eval.actions));
        }
    }

    // ---- The Python server's policy bugs (reference §15, items 10-14). Each would pass on its behaviour
    // ---- only if these assertions were inverted.

    #[test]
    fn python_bug_10_deny_is_not_ignored() {
        let eval = evaluate(
            &parse(&doc(&format!(
                r#"{ALLOW_PULL},{{"Sid":"Lockdown","Effect":"Deny","Principal":"*","Action":"ecr:*"}}"#
            ))),
            OMICS,
            PULL,
            &ResourceTarget::Any,
        );
        assert_eq!(eval.status, AccessStatus::NotAccessible);
        assert_eq!(eval.denied_actions(), PULL.to_vec());
    }

    #[test]
    fn python_bug_10_conditions_on_wildcard_principals_are_not_grants() {
        for principal in [r#""*""#, r#"{"AWS":"*"}"#] {
            let policy = doc(&format!(
                r#"{{"Sid":"Org","Effect":"Allow","Principal":{principal},"Action":"ecr:*",
                "Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-abc123"}}}}}}"#
            ));
            let eval = evaluate(&parse(&policy), OMICS, PULL, &ResourceTarget::Any);
            assert_eq!(eval.status, AccessStatus::Conditional, "{principal}");
            assert_eq!(eval.missing_actions().len(), 3);
        }
    }

    #[test]
    fn python_bug_10_prefix_wildcards_grant() {
        let policy = doc(
            r#"{"Sid":"Wild","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
            "Action":["ecr:Batch*","ecr:Get*"]}"#,
        );
        let eval = evaluate(&parse(&policy), OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::Accessible);
    }

    #[test]
    fn python_bug_10_not_action_is_honoured() {
        let policy = doc(
            r#"{"Sid":"NoDelete","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
            "NotAction":"ecr:DeleteRepository"}"#,
        );
        let eval = evaluate(&parse(&policy), OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::Accessible);
    }

    #[test]
    fn python_bug_10_not_principal_is_honoured() {
        let policy = doc(
            r#"{"Sid":"NotOmics","Effect":"Allow","NotPrincipal":{"Service":"omics.amazonaws.com"},
            "Action":"ecr:*"}"#,
        );
        let eval = evaluate(&parse(&policy), OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::NotAccessible);
    }

    #[test]
    fn python_bug_10_bare_string_principal_is_rejected() {
        let policy = doc(
            r#"{"Sid":"Bare","Effect":"Allow","Principal":"omics.amazonaws.com",
            "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}"#,
        );
        let eval = evaluate(&parse(&policy), OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::NotAccessible);
        assert!(
            eval.actions[0]
                .reason
                .contains(r#"{"Service": "omics.amazonaws.com"}"#)
        );
    }

    #[test]
    fn python_bug_10_registry_policy_is_scoped_to_the_prefix() {
        let policy = parse(&allow_ptc_on(&arn("docker-hub/*")));
        let quay = evaluate(
            &policy,
            OMICS,
            PTC,
            &ResourceTarget::AllUnder(QUAY.to_owned()),
        );
        assert_eq!(quay.status, AccessStatus::NotAccessible);
        let hub = repository_prefix_arn("aws", "us-east-1", "123456789012", "docker-hub");
        let hub = evaluate(&policy, OMICS, PTC, &ResourceTarget::AllUnder(hub));
        assert_eq!(hub.status, AccessStatus::Accessible);
    }

    #[test]
    fn python_bug_11_batch_check_layer_availability_is_required() {
        // The statement the Python server wrote.
        let policy = doc(
            r#"{"Sid":"HealthOmicsAccess","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
            "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#,
        );
        let eval = evaluate(&parse(&policy), OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::NotAccessible);
        assert_eq!(
            eval.missing_actions(),
            vec!["ecr:BatchCheckLayerAvailability"]
        );
    }

    #[test]
    fn python_bug_12_grant_keeps_every_other_statement() {
        let foreign = [
            r#"{"Sid":"Shared","Effect":"Allow","Principal":{"Service":["omics.amazonaws.com","codebuild.amazonaws.com"]},"Action":"ecr:BatchGetImage"}"#,
            r#"{"Sid":"BlockPush","Effect":"Deny","Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:PutImage"}"#,
            r#"{"Sid":"Workflow42","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:*","Condition":{"StringEquals":{"aws:SourceArn":"arn:aws:omics:us-east-1:123456789012:workflow/42"}}}"#,
            r#"{"Sid":"HealthOmicsAccess","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#,
            r#"{"Principal":"omics.amazonaws.com","Action":"ecr:*","Effect":"Allow"}"#,
        ];
        let existing = parse(&doc(&foreign.join(",")));
        let merged = upsert_statements(Some(&existing), &[repository_pull_statement()]).unwrap();
        assert!(merged.changed);
        assert_eq!(merged.added_sids, vec![REPOSITORY_PULL_SID]);
        let after: Vec<String> = merged
            .document
            .statements()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let before: Vec<String> = foreign.iter().map(|s| parse(s).to_json_compact()).collect();
        assert_eq!(&after[..foreign.len()], &before[..]);
        assert_eq!(after.len(), foreign.len() + 1);
        let eval = evaluate(&merged.document, OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::Accessible);
    }

    #[test]
    fn python_bug_13_registry_statement_is_scoped_and_per_prefix() {
        let st = registry_pull_through_statement("aws", "us-east-1", "123456789012", "quay");
        assert_eq!(
            st["Resource"],
            "arn:aws:ecr:us-east-1:123456789012:repository/quay/*"
        );
        let policy = parse(&doc(&st.to_string()));
        let quay = evaluate(
            &policy,
            OMICS,
            PTC,
            &ResourceTarget::AllUnder(QUAY.to_owned()),
        );
        assert_eq!(quay.status, AccessStatus::Accessible);
        let private = repository_arn("aws", "us-east-1", "123456789012", "private-tool");
        let private = evaluate(&policy, OMICS, PTC, &ResourceTarget::Arn(private));
        assert_eq!(private.status, AccessStatus::NotAccessible);

        // Two prefixes get two statements; adding the second does not replace the first.
        let hub = registry_pull_through_statement("aws", "us-east-1", "123456789012", "docker-hub");
        let both = upsert_statements(Some(&policy), &[hub]).unwrap();
        assert_eq!(both.document.statements().len(), 2);
    }

    #[test]
    fn python_bug_14_template_policy_is_merged_not_overwritten() {
        let existing = parse(&doc(
            r#"{"Sid":"HealthOmicsImagePullAccess","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]},
            {"Sid":"CiPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":["ecr:PutImage","ecr:InitiateLayerUpload"]}"#,
        ));
        let merged = upsert_statements(Some(&existing), &[repository_pull_statement()]).unwrap();
        assert_eq!(
            merged.document.sids(),
            vec!["HealthOmicsImagePullAccess", "CiPush", REPOSITORY_PULL_SID]
        );
        let again =
            upsert_statements(Some(&merged.document), &[repository_pull_statement()]).unwrap();
        assert!(!again.changed);
    }

    #[test]
    fn python_unreadable_policy_is_not_silently_unknown_or_accessible() {
        // Python: None → unknown, bad JSON → unknown, and a crash in Grant. We: no policy is a definite
        // not_accessible, and bad JSON is an error with a position.
        assert_eq!(
            no_policy_evaluation(PULL).status,
            AccessStatus::NotAccessible
        );
        let err = PolicyDocument::parse("{\"Statement\": [").unwrap_err();
        assert!(
            matches!(err, PolicyError::InvalidJson { line: 1, .. }),
            "{err}"
        );
    }

    // ---- Parsing.

    #[test]
    fn parse_errors_are_precise() {
        let err =
            PolicyDocument::parse("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [,]\n}")
                .unwrap_err();
        match &err {
            PolicyError::InvalidJson {
                line,
                column,
                detail,
            } => {
                assert_eq!((*line, *column), (3, 17));
                assert!(detail.contains("line 3 column 17"), "{detail}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().starts_with("policy is not valid JSON"));
        assert!(matches!(
            PolicyDocument::parse(""),
            Err(PolicyError::InvalidJson { .. })
        ));
        assert_eq!(
            PolicyDocument::parse("[]"),
            Err(PolicyError::NotAnObject { found: "an array" })
        );
        assert_eq!(
            PolicyDocument::parse("\"policy\"").unwrap_err().to_string(),
            "policy must be a JSON object, found a string"
        );
        assert_eq!(
            PolicyDocument::parse(r#"{"Statement":"Allow"}"#),
            Err(PolicyError::InvalidStatementType { found: "a string" })
        );
        assert_eq!(
            PolicyDocument::parse(r#"{"Statement":null}"#)
                .unwrap_err()
                .to_string(),
            "policy \"Statement\" must be an object or an array, found null"
        );
    }

    #[test]
    fn parse_keeps_order_and_unknown_fields() {
        let text = r#"{"Statement":[{"Sid":"B","Effect":"Allow","Principal":"*","Action":"ecr:*","X-Custom":1}],"Id":"p1","Version":"2008-10-17"}"#;
        let policy = parse(text);
        assert_eq!(policy.to_json_compact(), text);
        assert_eq!(parse(&policy.to_json_pretty()), policy);
        assert_eq!(policy.sids(), vec!["B"]);
        assert_eq!(
            PolicyDocument::empty().to_json_compact(),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
    }

    #[test]
    fn missing_statement_reads_as_empty_with_a_note() {
        let policy = parse(r#"{"Version":"2012-10-17"}"#);
        assert!(policy.has_no_statements());
        let eval = evaluate(&policy, OMICS, PULL, &ResourceTarget::Any);
        assert_eq!(eval.status, AccessStatus::NotAccessible);
        assert!(eval.notes.iter().any(|n| n.contains("no Statement")));
    }

    // ---- Output types.

    #[test]
    fn enums_serialize_as_snake_case() {
        assert_eq!(
            serde_json::to_value(Verdict::NotGranted).unwrap(),
            "not_granted"
        );
        assert_eq!(
            serde_json::to_value(Verdict::Conditional).unwrap(),
            "conditional"
        );
        assert_eq!(
            serde_json::to_value(AccessStatus::NotAccessible).unwrap(),
            "not_accessible"
        );
        assert_eq!(
            serde_json::to_value(AccessStatus::Unknown).unwrap(),
            "unknown"
        );
        let schema = serde_json::to_string(&schemars::schema_for!(AccessEvaluation)).unwrap();
        assert!(schema.contains("not_granted") && schema.contains("not_accessible"));
    }

    #[test]
    fn summary_and_helpers() {
        let none = no_policy_evaluation(PTC);
        assert!(
            none.actions
                .iter()
                .all(|a| a.verdict == N && a.reason == "no policy")
        );
        assert_eq!(none.missing_actions(), PTC.to_vec());
        assert!(none.denied_actions().is_empty());

        let unknown = AccessEvaluation::unknown(PULL, "AccessDenied on GetRepositoryPolicy");
        assert_eq!(unknown.status, AccessStatus::Unknown);
        assert!(
            unknown.missing_actions().is_empty(),
            "an unread policy is not a missing grant"
        );

        let conditional = evaluate(
            &parse(&doc(&format!(
                r#"{ALLOW_PULL},{{"Sid":"Cond","Effect":"Deny","Principal":"*","Action":"ecr:BatchGetImage",
                "Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}"#
            ))),
            OMICS,
            PULL,
            &ResourceTarget::Any,
        );
        assert_eq!(conditional.status, AccessStatus::Conditional);
        assert_eq!(conditional.missing_actions(), vec!["ecr:BatchGetImage"]);
        assert_eq!(
            conditional.summary().as_deref(),
            Some("ecr:BatchGetImage conditional (Cond)")
        );
        assert!(
            evaluate(&PolicyDocument::empty(), OMICS, &[], &ResourceTarget::Any)
                .actions
                .is_empty()
        );
    }

    #[test]
    fn the_one_line_summary_groups_actions_by_verdict_and_statement() {
        let judge = |statements: &str| {
            evaluate(&parse(&doc(statements)), OMICS, PULL, &ResourceTarget::Any)
        };
        let cases: [(&str, Option<&str>); 6] = [
            (ALLOW_PULL, None),
            (
                r#"{"Sid":"Two","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
                   "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#,
                Some(
                    "not granted: ecr:BatchCheckLayerAvailability (AWS requires it; the HealthOmics ECR guide omits it)",
                ),
            ),
            (
                r#"{"Sid":"One","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},
                   "Action":"ecr:BatchGetImage"}"#,
                Some("not granted: ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability"),
            ),
            (
                r#"{"Sid":"All","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:*"},
                   {"Sid":"NoPull","Effect":"Deny","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}"#,
                Some("ecr:BatchGetImage, ecr:GetDownloadUrlForLayer denied by NoPull"),
            ),
            // Every required action alike: counted, not listed.
            (
                r#"{"Sid":"Other","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"ecr:*"}"#,
                Some("not granted: all 3 required actions"),
            ),
            (
                r#"{"Sid":"All","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:*"},
                   {"Sid":"NoEcr","Effect":"Deny","Principal":"*","Action":"ecr:*"}"#,
                Some("all 3 required actions denied by NoEcr"),
            ),
        ];
        for (statements, want) in cases {
            assert_eq!(judge(statements).summary().as_deref(), want, "{statements}");
        }
        assert_eq!(
            no_policy_evaluation(PULL).summary().as_deref(),
            Some("no policy")
        );
        assert!(!no_policy_evaluation(PULL).says_more_than_summary());
        assert!(!judge(cases[2].0).says_more_than_summary());
        assert!(judge(cases[3].0).says_more_than_summary());
        assert_eq!(AccessEvaluation::unknown(PULL, "denied").summary(), None);
    }

    // ---- Merging.

    #[test]
    fn merge_into_nothing_creates_a_policy() {
        let out = upsert_statements(None, &[repository_pull_statement()]).unwrap();
        assert!(out.changed);
        assert_eq!(out.added_sids, vec![REPOSITORY_PULL_SID]);
        assert_eq!(
            out.document.to_json_compact(),
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
                repository_pull_statement()
            )
        );
        let nothing = upsert_statements(None, &[]).unwrap();
        assert!(!nothing.changed);
    }

    #[test]
    fn merge_replaces_ours_in_place() {
        let existing = parse(&doc(
            r#"{"Sid":"First","Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"},
            {"Sid":"HealthOmicsImagePull","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:BatchGetImage"},
            {"Sid":"Last","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"ecr:*"}"#,
        ));
        let out = upsert_statements(Some(&existing), &[repository_pull_statement()]).unwrap();
        assert!(out.changed);
        assert_eq!(out.updated_sids, vec![REPOSITORY_PULL_SID]);
        assert!(out.added_sids.is_empty());
        assert_eq!(
            out.document.sids(),
            vec!["First", REPOSITORY_PULL_SID, "Last"]
        );
        assert_eq!(*out.document.statements()[1], repository_pull_statement());
    }

    #[test]
    fn merge_of_an_equivalent_statement_is_a_no_op() {
        // Same meaning, written differently (as ECR might hand it back).
        let existing = parse(&doc(
            r#"{"Action":["ecr:BatchCheckLayerAvailability","ECR:BatchGetImage","ecr:GetDownloadUrlForLayer"],
            "Principal":{"Service":["omics.amazonaws.com"]},"Effect":"Allow","Sid":"HealthOmicsImagePull"}"#,
        ));
        let out = upsert_statements(Some(&existing), &[repository_pull_statement()]).unwrap();
        assert!(!out.changed);
        assert_eq!(out.document.to_json_compact(), existing.to_json_compact());
    }

    #[test]
    fn merge_keeps_a_single_statement_single_unless_it_adds() {
        let stale = r#"{"Version":"2012-10-17","Statement":{"Sid":"HealthOmicsImagePull","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":"ecr:BatchGetImage"}}"#;
        let replaced =
            upsert_statements(Some(&parse(stale)), &[repository_pull_statement()]).unwrap();
        assert!(replaced.document.as_value()["Statement"].is_object());
        assert_eq!(
            replaced.document.as_value()["Statement"],
            repository_pull_statement()
        );

        let other = r#"{"Statement":{"Sid":"Other","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"},"Id":"keep"}"#;
        let added = upsert_statements(Some(&parse(other)), &[repository_pull_statement()]).unwrap();
        let value = added.document.as_value();
        assert!(value["Statement"].is_array());
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, vec!["Version", "Statement", "Id"]);
        assert_eq!(value["Statement"][0], parse(other).as_value()["Statement"]);
    }

    #[test]
    fn merge_keeps_the_existing_version() {
        let old = parse(r#"{"Version":"2008-10-17","Statement":[]}"#);
        let out = upsert_statements(Some(&old), &[repository_pull_statement()]).unwrap();
        assert_eq!(out.document.as_value()["Version"], "2008-10-17");
    }

    #[test]
    fn merge_drops_duplicate_copies_of_our_sid() {
        let dup = repository_pull_statement().to_string();
        let existing = parse(&doc(&format!(
            r#"{dup},{{"Sid":"Mid","Effect":"Allow","Principal":"*","Action":"ecr:ListImages"}},{dup}"#
        )));
        let out = upsert_statements(Some(&existing), &[repository_pull_statement()]).unwrap();
        assert!(out.changed);
        assert_eq!(out.document.sids(), vec![REPOSITORY_PULL_SID, "Mid"]);
    }

    #[test]
    fn merge_rejects_bad_statements_of_ours() {
        let no_sid = json!({"Effect":"Allow","Principal":"*","Action":"ecr:*"});
        assert_eq!(
            upsert_statements(None, &[no_sid]),
            Err(PolicyError::OurStatementWithoutSid { index: 0 })
        );
        let bad_sid = json!({"Sid":"Has-Dash","Effect":"Allow","Principal":"*","Action":"ecr:*"});
        assert_eq!(
            upsert_statements(None, &[repository_pull_statement(), bad_sid]),
            Err(PolicyError::OurStatementWithoutSid { index: 1 })
        );
        assert_eq!(
            upsert_statements(
                None,
                &[repository_pull_statement(), repository_pull_statement()]
            ),
            Err(PolicyError::DuplicateSid {
                sid: REPOSITORY_PULL_SID.to_owned()
            })
        );
        assert_eq!(
            upsert_statements(None, &[json!("Allow")]),
            Err(PolicyError::OurStatementNotObject { index: 0 })
        );
    }

    #[test]
    fn remove_takes_out_only_the_named_statements() {
        let existing = parse(&doc(&format!(
            r#"{{"Sid":"Keep","Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"}},{}"#,
            repository_pull_statement()
        )));
        let out = remove_statements(&existing, &[REPOSITORY_PULL_SID, "Absent"]);
        assert!(out.changed);
        assert_eq!(out.removed_sids, vec![REPOSITORY_PULL_SID]);
        assert_eq!(out.document.sids(), vec!["Keep"]);
        assert_eq!(out.document.statements()[0], existing.statements()[0]);

        let again = remove_statements(&out.document, &[REPOSITORY_PULL_SID]);
        assert!(!again.changed);
        assert_eq!(again.document, out.document);

        let single = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":{}}}"#,
            repository_pull_statement()
        ));
        let emptied = remove_statements(&single, &[REPOSITORY_PULL_SID]);
        assert!(emptied.document.has_no_statements());
        assert_eq!(
            emptied.document.to_json_compact(),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
    }

    // ---- Builders.

    #[test]
    fn repository_statement_shape() {
        assert_eq!(
            repository_pull_statement().to_string(),
            r#"{"Sid":"HealthOmicsImagePull","Effect":"Allow","Principal":{"Service":"omics.amazonaws.com"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}"#
        );
    }

    #[test]
    fn workflow_owner_statement_is_stable_and_grants_the_accounts() {
        let st = workflow_owner_pull_statement(
            "aws-us-gov",
            &[
                "222233334444".to_owned(),
                "111122223333".to_owned(),
                "222233334444".to_owned(),
            ],
        );
        assert_eq!(st["Sid"], WORKFLOW_OWNER_PULL_SID);
        assert_eq!(
            st["Principal"]["AWS"],
            json!([
                "arn:aws-us-gov:iam::111122223333:root",
                "arn:aws-us-gov:iam::222233334444:root"
            ])
        );
        let policy = parse(&doc(&st.to_string()));
        for acct in ["111122223333", "222233334444"] {
            let eval = evaluate(
                &policy,
                Principal::Account(acct),
                PULL,
                &ResourceTarget::Any,
            );
            assert_eq!(eval.status, AccessStatus::Accessible, "{acct}");
        }
        let other = evaluate(&policy, OWNER, PULL, &ResourceTarget::Any);
        assert_eq!(other.status, AccessStatus::NotAccessible);
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn registry_sids_are_readable_distinct_and_alphanumeric() {
        let hub = registry_pull_through_sid("docker-hub");
        let flat = registry_pull_through_sid("dockerhub");
        assert!(
            hub.starts_with("HealthOmicsPullThroughCacheDockerHub"),
            "{hub}"
        );
        assert!(
            flat.starts_with("HealthOmicsPullThroughCacheDockerhub"),
            "{flat}"
        );
        assert_ne!(hub, flat);
        assert_ne!(
            registry_pull_through_sid("a-b"),
            registry_pull_through_sid("a_b")
        );
        assert_eq!(hub, registry_pull_through_sid("docker-hub"));
        assert_eq!(hub.len(), "HealthOmicsPullThroughCacheDockerHub".len() + 8);
        for sid in [
            hub,
            flat,
            registry_pull_through_sid("ROOT"),
            registry_pull_through_sid("a/b.c_d"),
        ] {
            assert!(is_valid_sid(&sid), "{sid}");
        }
    }

    #[test]
    fn root_prefix_means_every_repository() {
        assert_eq!(
            repository_prefix_arn("aws-cn", "cn-north-1", "123456789012", "ROOT"),
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/"
        );
        assert_eq!(
            repository_prefix_arn("aws", "us-east-1", "123456789012", "quay"),
            QUAY
        );
        let st = registry_pull_through_statement("aws", "us-east-1", "123456789012", "ROOT");
        assert_eq!(
            st["Resource"],
            "arn:aws:ecr:us-east-1:123456789012:repository/*"
        );
        assert_eq!(st["Action"], json!(REGISTRY_PULL_THROUGH_ACTIONS));
        let policy = parse(&doc(&st.to_string()));
        let eval = evaluate(
            &policy,
            OMICS,
            PTC,
            &ResourceTarget::AllUnder(QUAY.to_owned()),
        );
        assert_eq!(eval.status, AccessStatus::Accessible);
    }

    #[test]
    fn service_role_policy_covers_prefixes_and_repositories() {
        let policy = service_role_pull_policy(
            "aws",
            "us-east-1",
            "123456789012",
            &[
                "quay".to_owned(),
                "docker-hub".to_owned(),
                "quay".to_owned(),
            ],
            &["tools/samtools".to_owned()],
        );
        assert_eq!(policy["Version"], POLICY_VERSION);
        assert_eq!(
            policy["Statement"][0]["Action"],
            json!(REPOSITORY_PULL_ACTIONS)
        );
        assert_eq!(
            policy["Statement"][0]["Resource"],
            json!([
                "arn:aws:ecr:us-east-1:123456789012:repository/quay/*",
                "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*",
                "arn:aws:ecr:us-east-1:123456789012:repository/tools/samtools"
            ])
        );
        assert!(policy["Statement"][0].get("Principal").is_none());
        let empty = service_role_pull_policy("aws", "us-east-1", "123456789012", &[], &[]);
        assert_eq!(empty["Statement"], json!([]));
    }

    // ---- Properties.

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn naive(p: &[char], s: &[char]) -> bool {
            match p.first() {
                None => s.is_empty(),
                Some('*') => naive(&p[1..], s) || (!s.is_empty() && naive(p, &s[1..])),
                Some('?') => !s.is_empty() && naive(&p[1..], &s[1..]),
                Some(c) => s.first() == Some(c) && naive(&p[1..], &s[1..]),
            }
        }

        fn extensions(max: usize) -> Vec<String> {
            let mut all = vec![String::new()];
            let mut out = Vec::new();
            for _ in 0..max {
                all = all
                    .iter()
                    .flat_map(|s| ['a', 'b', 'c'].map(|c| format!("{s}{c}")))
                    .collect();
                out.extend(all.iter().cloned());
            }
            out
        }

        proptest! {
            #[test]
            fn glob_coverage_agrees_with_brute_force(
                patterns in prop::collection::vec("[ab*?]{0,4}", 1..3),
                prefix in "[ab]{0,3}",
            ) {
                let set = GlobSet::new(&patterns, false);
                let chars: Vec<Vec<char>> = patterns.iter().map(|p| p.chars().collect()).collect();
                let hit = |s: &str| {
                    let s: Vec<char> = s.chars().collect();
                    chars.iter().any(|p| naive(p, &s))
                };
                prop_assert_eq!(set.matches(&prefix), hit(&prefix));
                let exts: Vec<bool> = extensions(7).iter().map(|t| hit(&format!("{prefix}{t}"))).collect();
                prop_assert_eq!(set.matches_some_extension(&prefix), exts.iter().any(|&b| b));
                prop_assert_eq!(set.matches_every_extension(&prefix), exts.iter().all(|&b| b));
            }
        }

        /// (JSON, matches omics, bare string)
        const PRINCIPALS: &[(&str, bool, bool)] = &[
            (r#""*""#, true, false),
            (r#"{"AWS":"*"}"#, true, false),
            (r#"{"Service":"omics.amazonaws.com"}"#, true, false),
            (r#"{"Service":"ecs.amazonaws.com"}"#, false, false),
            (
                r#"{"Service":["ecs.amazonaws.com","omics.amazonaws.com"]}"#,
                true,
                false,
            ),
            (r#"{"AWS":"arn:aws:iam::111122223333:root"}"#, false, false),
            (
                r#"{"AWS":["111122223333","arn:aws:iam::444455556666:root"]}"#,
                false,
                false,
            ),
            (
                r#"{"Federated":"cognito-identity.amazonaws.com"}"#,
                false,
                false,
            ),
            (r#""omics.amazonaws.com""#, false, true),
        ];

        /// (JSON, which of REPOSITORY_PULL_ACTIONS it names)
        const ACTIONS: &[(&str, [bool; 3])] = &[
            (r#""ecr:*""#, [true, true, true]),
            (r#""*""#, [true, true, true]),
            (r#""ecr:BatchGetImage""#, [true, false, false]),
            (r#""ecr:batch*""#, [true, false, true]),
            (
                r#"["ecr:GetDownloadUrlForLayer","ecr:PutImage"]"#,
                [false, true, false],
            ),
            (r#""ecr:DeleteRepository""#, [false, false, false]),
            (r#""s3:GetObject""#, [false, false, false]),
            (r#""ecr:Get?ownloadUrlForLayer""#, [false, true, false]),
            (r#""ECR:BATCHCHECKLAYERAVAILABILITY""#, [false, false, true]),
        ];

        const EFFECTS: &[&str] = &["Allow", "Deny", "deny"];

        #[derive(Debug, Clone)]
        struct Foreign {
            value: Value,
            /// Per pull action: `Some(conditional)` when it is a valid Deny that applies to omics.
            denies: [Option<bool>; 3],
        }

        fn foreign(index: usize) -> impl Strategy<Value = Foreign> {
            (
                proptest::option::of("[A-Za-z0-9]{1,10}"),
                0..EFFECTS.len(),
                0..PRINCIPALS.len(),
                any::<bool>(),
                0..ACTIONS.len(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(move |(sid, e, p, not_p, a, not_a, cond, res)| {
                    let mut obj = Map::new();
                    if let Some(sid) = sid {
                        obj.insert("Sid".into(), Value::from(format!("{sid}{index}")));
                    }
                    obj.insert("Effect".into(), Value::from(EFFECTS[e]));
                    let (p_json, p_match, bare) = PRINCIPALS[p];
                    let p_key = if not_p { "NotPrincipal" } else { "Principal" };
                    obj.insert(p_key.into(), serde_json::from_str(p_json).unwrap());
                    let (a_json, names) = ACTIONS[a];
                    let a_key = if not_a { "NotAction" } else { "Action" };
                    obj.insert(a_key.into(), serde_json::from_str(a_json).unwrap());
                    if res {
                        obj.insert("Resource".into(), Value::from("*"));
                    }
                    if cond {
                        obj.insert(
                            "Condition".into(),
                            json!({"StringEquals": {"aws:SourceAccount": "123456789012"}}),
                        );
                    }
                    let applies_to_omics = !bare && (p_match != not_p);
                    let denies = names.map(|named| {
                        (EFFECTS[e] == "Deny" && applies_to_omics && named != not_a).then_some(cond)
                    });
                    Foreign {
                        value: Value::Object(obj),
                        denies,
                    }
                })
        }

        fn foreigns() -> impl Strategy<Value = Vec<Foreign>> {
            (0..6usize).prop_flat_map(|n| (0..n).map(foreign).collect::<Vec<_>>())
        }

        proptest! {
            #[test]
            fn upsert_preserves_foreign_statements_and_converges(
                foreign in foreigns(),
                has_existing in any::<bool>(),
                version in any::<bool>(),
                id_field in any::<bool>(),
                single in any::<bool>(),
                ours_before in 0..3usize,
                ours_at in any::<prop::sample::Index>(),
                with_owner in any::<bool>(),
            ) {
                let foreign = if has_existing { foreign } else { Vec::new() };
                let mut ours = vec![repository_pull_statement()];
                if with_owner {
                    ours.push(workflow_owner_pull_statement("aws", &["111122223333".to_owned()]));
                }
                let our_sids: Vec<String> =
                    ours.iter().filter_map(|s| sid_of(s).map(str::to_owned)).collect();

                let existing = has_existing.then(|| {
                    let mut list: Vec<Value> = foreign.iter().map(|f| f.value.clone()).collect();
                    let previous = match ours_before {
                        1 => Some(json!({"Sid": REPOSITORY_PULL_SID, "Effect": "Allow",
                            "Principal": {"Service": HEALTHOMICS_SERVICE_PRINCIPAL},
                            "Action": ["ecr:BatchGetImage"]})),
                        2 => Some(repository_pull_statement()),
                        _ => None,
                    };
                    if let Some(previous) = previous {
                        list.insert(ours_at.index(list.len() + 1), previous);
                    }
                    let mut top = Map::new();
                    if id_field {
                        top.insert("Id".into(), Value::from("existing"));
                    }
                    if version {
                        top.insert("Version".into(), Value::from(POLICY_VERSION));
                    }
                    let statement = if single && list.len() == 1 {
                        list.pop().unwrap()
                    } else {
                        Value::Array(list)
                    };
                    top.insert("Statement".into(), statement);
                    PolicyDocument::parse(&Value::Object(top).to_string()).unwrap()
                });

                let merged = upsert_statements(existing.as_ref(), &ours).unwrap();
                let doc = &merged.document;

                // Foreign statements: unchanged, byte for byte, in the same relative order.
                let kept: Vec<String> = doc
                    .statements()
                    .into_iter()
                    .filter(|s| sid_of(s).is_none_or(|sid| !our_sids.iter().any(|o| o == sid)))
                    .map(|s| s.to_string())
                    .collect();
                let given: Vec<String> = foreign.iter().map(|f| f.value.to_string()).collect();
                prop_assert_eq!(kept, given);

                // Ours are present; Sids are unique.
                for st in &ours {
                    prop_assert_eq!(doc.statements().iter().filter(|s| **s == st).count(), 1);
                }
                let sids = doc.sids();
                let unique: HashSet<&String> = sids.iter().collect();
                prop_assert_eq!(unique.len(), sids.len());

                // `changed` tells exactly whether there is something to write.
                if let Some(existing) = &existing {
                    prop_assert_eq!(merged.changed, doc.to_json_compact() != existing.to_json_compact());
                } else {
                    prop_assert!(merged.changed);
                }

                // The evaluator: allowed unless a foreign Deny applies.
                let eval = evaluate(doc, OMICS, PULL, &ResourceTarget::Any);
                for (j, verdict) in eval.actions.iter().enumerate() {
                    let denies: Vec<bool> = foreign.iter().filter_map(|f| f.denies[j]).collect();
                    let expected = if denies.contains(&false) {
                        Verdict::Denied
                    } else if denies.contains(&true) {
                        Verdict::Conditional
                    } else {
                        Verdict::Allowed
                    };
                    prop_assert_eq!(verdict.verdict, expected, "{}", &verdict.reason);
                    prop_assert!(verdict.decided_by.is_some());
                }

                // A second merge is a no-op.
                let again = upsert_statements(Some(doc), &ours).unwrap();
                prop_assert!(!again.changed);
                prop_assert_eq!(again.document.to_json_compact(), doc.to_json_compact());
            }

            #[test]
            fn registry_statement_covers_its_prefix_and_nothing_beside(
                prefix in "[a-z][a-z0-9._-]{0,12}(/[a-z0-9]{1,6})?",
            ) {
                let st = registry_pull_through_statement("aws", "eu-west-1", "123456789012", &prefix);
                let sid = registry_pull_through_sid(&prefix);
                prop_assert!(is_valid_sid(&sid));
                prop_assert_eq!(&st["Sid"], &Value::from(sid));
                let policy = PolicyDocument::parse(&doc(&st.to_string())).unwrap();
                let own = repository_prefix_arn("aws", "eu-west-1", "123456789012", &prefix);
                let sibling = repository_prefix_arn("aws", "eu-west-1", "123456789012", &format!("{prefix}x"));
                let inside = format!("{own}library/ubuntu");
                let eval = |t| evaluate(&policy, OMICS, PTC, &t).status;
                prop_assert_eq!(eval(ResourceTarget::AllUnder(own)), AccessStatus::Accessible);
                prop_assert_eq!(eval(ResourceTarget::Arn(inside)), AccessStatus::Accessible);
                prop_assert_eq!(eval(ResourceTarget::AllUnder(sibling)), AccessStatus::NotAccessible);
            }
        }
    }
}
