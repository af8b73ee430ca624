//! A person's view of each tool's result: the verdicts, the counts, what is wrong and the next
//! step, in short lines. Every word of judgement is the tool's own (its messages, problems and
//! fixes); this file only chooses what to show and lays it out. A suggested tool call is shown
//! as the command that makes it, when there is one.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::findings::SuggestedCall;
use crate::core::plan::batch::{CheckBatchOutput, CloneBatchOutput};
use crate::core::plan::check::report::CheckOutput;
use crate::core::plan::clone::CloneOutput;
use crate::core::plan::create_ptc::CreatePtcOutput;
use crate::core::plan::grant::GrantAccessOutput;
use crate::core::plan::map_report::RegistryMapOutput;
use crate::core::plan::prepare::{PrepareOutput, STATUS_READY};
use crate::core::plan::repository_list::ListRepositoriesOutput;
use crate::core::plan::validate::ValidateOutput;
use crate::core::registry_map::Fix;
use crate::core::tool_names::ToolName;
use crate::tools::list_pull_through_cache_rules::ListRulesOutput;

/// The lowercase word a value serializes to (`not_accessible`, `error`, …).
fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The command that makes a suggested call, or the call itself when no command takes all its
/// arguments.
pub fn next_step(call: &SuggestedCall) -> String {
    let mut args = call.arguments.clone();
    let command = command_for(call.tool, &mut args);
    let region = take_str(&mut args, "aws_region").map(|r| format!(" --region {r}"));
    match command {
        Some(command) if args.is_empty() => {
            format!(
                "healthomics-ecr-mcp {command}{}",
                region.unwrap_or_default()
            )
        }
        _ => format!(
            "{} {}",
            call.tool,
            serde_json::to_string(&call.arguments).unwrap_or_default()
        ),
    }
}

/// A list of strings as command-line arguments (a batch's images), taken when all are strings.
fn take_list(args: &mut Map<String, Value>, key: &str) -> Option<String> {
    let Some(Value::Array(items)) = args.get(key) else {
        return None;
    };
    let words: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
    let line = words.filter(|w| !w.is_empty())?.join(" ");
    args.remove(key);
    Some(line)
}

fn take_str(args: &mut Map<String, Value>, key: &str) -> Option<String> {
    match args.remove(key) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            args.insert(key.to_owned(), other);
            None
        }
        None => None,
    }
}

fn take_flag(args: &mut Map<String, Value>, key: &str) -> bool {
    match args.remove(key) {
        Some(Value::Bool(b)) => b,
        Some(other) => {
            args.insert(key.to_owned(), other);
            false
        }
        None => false,
    }
}

/// The command line for `tool` from the arguments it consumes (the rest stay in `args`).
fn command_for(tool: ToolName, args: &mut Map<String, Value>) -> Option<String> {
    let mut line = match tool {
        ToolName::Grant => format!("grant {}", take_str(args, "repository_name")?),
        ToolName::Clone => match take_list(args, "source_images") {
            Some(images) => format!("clone {images}"),
            None => format!("clone {}", take_str(args, "source_image")?),
        },
        ToolName::CreatePtc => format!("cache {}", take_str(args, "upstream_registry")?),
        ToolName::Check => {
            match take_list(args, "images").or_else(|| take_str(args, "image_uri")) {
                Some(image) => format!("check {image}"),
                None => format!("check --repository {}", take_str(args, "repository_name")?),
            }
        }
        ToolName::Validate => "validate".to_owned(),
        ToolName::ListRules => "rules".to_owned(),
        ToolName::ListRepositories => "repos".to_owned(),
        ToolName::RegistryMap => "map".to_owned(),
        ToolName::Prepare => return None,
    };
    let options = [
        ("target_repository_name", "--target-repository"),
        ("target_image_tag", "--target-tag"),
        ("ecr_repository_prefix", "--prefix"),
        ("credential_arn", "--credential-arn"),
        ("source_credential_arn", "--source-credential-arn"),
        ("platform", "--platform"),
        ("upstream_registry_url", "--upstream-url"),
        ("upstream_repository_prefix", "--upstream-prefix"),
        ("image_tag", "--tag"),
        ("image_digest", "--digest"),
        ("workflow_id", "--workflow-id"),
    ];
    for (key, flag) in options {
        if let Some(value) = take_str(args, key) {
            let _ = write!(line, " {flag} {value}");
        }
    }
    for (key, flag) in [
        ("initiate_pull_through", "--initiate-pull-through"),
        ("dry_run", "--dry-run"),
    ] {
        if take_flag(args, key) {
            let _ = write!(line, " {flag}");
        }
    }
    Some(line)
}

fn fix_line(fix: &Fix) -> String {
    match fix {
        Fix::Tool { call, why } if why.is_empty() => next_step(call),
        Fix::Tool { call, why } => format!("{} ({why})", next_step(call)),
        Fix::Edit { kind, mapping, why } => format!(
            "{} {} → {}: {why}",
            word(kind),
            mapping.upstream_registry_url,
            mapping.ecr_repository_prefix
        ),
    }
}

pub fn validate(out: &ValidateOutput) -> String {
    let mut s = String::new();
    let count = |severity: &str| {
        out.issues
            .iter()
            .filter(|i| word(&i.severity) == severity)
            .count()
    };
    let _ = writeln!(
        s,
        "{}: {}, {}; {}, {}, {}.",
        where_(out.account_id.as_deref(), &out.region),
        plural(
            out.pull_through_caches_checked,
            "pull-through cache",
            "pull-through caches"
        ),
        plural(out.repositories_checked, "repository", "repositories"),
        plural(count("error"), "error", "errors"),
        plural(count("warning"), "warning", "warnings"),
        plural(count("info"), "note", "notes"),
    );
    let _ = writeln!(
        s,
        "{}",
        if out.valid {
            "VALID: HealthOmics can use this setup."
        } else {
            "NOT VALID: HealthOmics will fail until the errors below are fixed."
        }
    );
    for issue in &out.issues {
        let scope = issue
            .prefix
            .as_deref()
            .or(issue.repository_name.as_deref())
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "\n{:<8} {}{scope}: {}",
            word(&issue.severity),
            word(&issue.component),
            issue.message
        );
        let _ = writeln!(s, "         fix: {}", issue.remediation);
        if let Some(call) = &issue.fix_tool_call {
            let _ = writeln!(s, "         run: {}", next_step(call));
        }
    }
    s
}

fn where_(account: Option<&str>, region: &str) -> String {
    match account {
        Some(account) => format!("Account {account}, {region}"),
        None => format!("Region {region}"),
    }
}

pub fn repos(out: &ListRepositoriesOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}",
        where_(out.account_id.as_deref(), &out.region),
        out.message
    );
    if !out.repositories.is_empty() {
        let width = out
            .repositories
            .iter()
            .map(|r| r.repository_name.len())
            .max()
            .unwrap_or(0)
            .max("REPOSITORY".len());
        let _ = writeln!(
            s,
            "\n{:<width$}  {:<15}  WHY NOT",
            "REPOSITORY", "HEALTHOMICS"
        );
        for repo in &out.repositories {
            let why = repo
                .why
                .as_deref()
                .or(repo.policy_problem.as_deref())
                .unwrap_or("");
            let line = format!(
                "{:<width$}  {:<15}  {why}",
                repo.repository_name,
                word(&repo.healthomics_accessible)
            );
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }
    for note in &out.notes {
        let _ = writeln!(s, "note: {note}");
    }
    if let Some(token) = &out.next_token {
        let _ = writeln!(s, "\nmore: repos --next-token {token}");
    }
    s
}

pub fn rules(out: &ListRulesOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}",
        where_(out.account_id.as_deref(), &out.region),
        out.message
    );
    for rule in &out.rules {
        let verdict = if rule.healthomics_usable {
            "usable"
        } else {
            "NOT USABLE"
        };
        let _ = writeln!(
            s,
            "\n{:<10} {} → {}",
            verdict, rule.ecr_repository_prefix, rule.upstream_registry_url
        );
        for problem in &rule.problems {
            let _ = writeln!(s, "           - {problem}");
        }
    }
    if let Some(token) = &out.next_token {
        let _ = writeln!(s, "\nmore: rules --next-token {token}");
    }
    s
}

/// `asked`: the image or repository as given on the command line.
pub fn check(out: &CheckOutput, asked: &str) -> String {
    let mut s = String::new();
    let present = if out.available {
        "in ECR"
    } else {
        "NOT IN ECR"
    };
    let _ = writeln!(s, "{asked}");
    if let Some(uri) = out.ecr_image_uri.as_deref().filter(|uri| *uri != asked) {
        let _ = writeln!(s, "  ECR: {uri}");
    }
    let _ = writeln!(
        s,
        "  {present}; HealthOmics: {}",
        word(&out.healthomics_accessible)
    );
    if let Some(why) = &out.why {
        let _ = writeln!(s, "  why: {why}");
    }
    if let Some(cache) = &out.cache {
        let usable = if cache.healthomics_usable {
            "usable"
        } else {
            "not usable"
        };
        let _ = writeln!(
            s,
            "  cache {} → {}: {usable}",
            cache.ecr_repository_prefix, cache.upstream_registry_url
        );
        for problem in &cache.problems {
            let _ = writeln!(s, "    - {problem}");
        }
    }
    let pulled = out.pull_through_initiation_message.as_ref();
    if let Some(message) = pulled.filter(|m| !out.message.contains(m.as_str())) {
        let _ = writeln!(s, "  pull through: {message}");
    }
    for finding in &out.container_rule_findings {
        let _ = writeln!(
            s,
            "  {}: {} ({})",
            word(&finding.severity),
            finding.message,
            finding.remediation
        );
    }
    if let Some(problem) = &out.inspection_problem {
        let _ = writeln!(s, "  not inspected: {problem}");
    }
    let _ = writeln!(s, "  {}", out.message);
    if let Some(fix) = &out.suggested_fix {
        let _ = writeln!(s, "  next: {}", fix_line(fix));
    }
    s
}

/// A batch of checks: the summary line, then one line per image (and its why or error).
pub fn check_batch(out: &CheckBatchOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", out.message);
    for row in &out.images {
        let state = match (&row.error, row.available) {
            (Some(_), _) => "FAILED".to_owned(),
            (None, true) => format!("in ECR; HealthOmics: {}", word(&row.healthomics_accessible)),
            (None, false) => "NOT IN ECR".to_owned(),
        };
        let _ = writeln!(s, "  {}  {state}", row.image);
        if let Some(done) = &row.done {
            let _ = writeln!(s, "      {done}");
        }
        if let Some(why) = row.why.as_ref().or(row.error.as_ref()) {
            let _ = writeln!(s, "      {why}");
        }
        if !row.rules.is_empty() {
            let _ = writeln!(s, "      container rules: {}", row.rules.join(", "));
        }
    }
    for call in &out.next_calls {
        let _ = writeln!(s, "  next: {}", next_step(call));
    }
    s
}

/// A batch of clones: the summary line, then one line per image.
pub fn clone_batch(out: &CloneBatchOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", out.message);
    for row in &out.images {
        let to = row.ecr_uri.as_deref().unwrap_or("");
        let head = match (&row.error, out.dry_run) {
            (Some(_), _) => "FAILED ",
            (None, true) => "PLAN   ",
            (None, false) => "CLONED ",
        };
        let _ = writeln!(
            s,
            "  {head} {} → {to} ({} bytes)",
            row.source_image, row.bytes_transferred
        );
        for change in &row.changed {
            let _ = writeln!(s, "      - {change}");
        }
        if let Some(text) = row.problem.as_ref().or(row.error.as_ref()) {
            let _ = writeln!(s, "      {text}");
        }
    }
    s
}

pub fn clone(out: &CloneOutput) -> String {
    let mut s = String::new();
    let head = if out.dry_run {
        "PLAN (dry run)"
    } else {
        "CLONED"
    };
    let _ = writeln!(
        s,
        "{head}: {} → {} ({})",
        out.source_image,
        out.ecr_uri
            .as_deref()
            .unwrap_or(&out.target_repository_name),
        out.method
    );
    for step in &out.steps {
        let _ = writeln!(s, "  - {step}");
    }
    if !out.dry_run {
        let _ = writeln!(
            s,
            "  {} blobs copied, {} skipped, {} bytes; verified: {}; HealthOmics: {}",
            out.blobs_copied,
            out.blobs_skipped,
            out.bytes_transferred,
            if out.verified { "yes" } else { "NO" },
            word(&out.healthomics_accessible)
        );
    }
    for finding in &out.container_rule_findings {
        let _ = writeln!(s, "  {}: {}", word(&finding.severity), finding.message);
    }
    for note in &out.notes {
        let _ = writeln!(s, "  note: {note}");
    }
    let _ = writeln!(s, "  {}", out.message);
    s
}

pub fn grant(out: &GrantAccessOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}, {}): {}",
        out.repository_name, out.account_id, out.region, out.message
    );
    match &out.dry_run_plan {
        Some(plan) => {
            let _ = writeln!(
                s,
                "  dry run: HealthOmics {} now, {} after the change",
                word(&out.previous_healthomics_accessible),
                word(&plan.planned_healthomics_accessible)
            );
            if let Some(policy) = &plan.planned_policy {
                let text = serde_json::to_string_pretty(policy).unwrap_or_default();
                let _ = writeln!(s, "  policy that would be written:\n{text}");
            }
        }
        None => {
            let _ = writeln!(
                s,
                "  HealthOmics: {} before, {} now; verified: {}",
                word(&out.previous_healthomics_accessible),
                word(&out.current_healthomics_accessible),
                if out.verified { "yes" } else { "NO" }
            );
        }
    }
    for (what, sids) in [
        ("added", &out.added_statement_sids),
        ("updated", &out.updated_statement_sids),
        ("removed", &out.removed_statement_sids),
    ] {
        if !sids.is_empty() {
            let _ = writeln!(s, "  {what}: {}", sids.join(", "));
        }
    }
    for (what, policy) in [("before", &out.policy_before), ("after", &out.policy_after)] {
        if let Some(policy) = policy {
            let text = serde_json::to_string_pretty(policy).unwrap_or_default();
            let _ = writeln!(s, "  policy {what}:\n{text}");
        }
    }
    s
}

pub fn map(out: &RegistryMapOutput, written: Option<&Path>) -> String {
    let mut s = String::new();
    let map = &out.container_registry_map;
    let _ = writeln!(
        s,
        "{}: {}",
        where_(Some(&out.account_id), &out.region),
        out.message
    );
    let _ = writeln!(
        s,
        "map: {}, {}",
        plural(
            map.registry_mappings.len(),
            "registry mapping",
            "registry mappings"
        ),
        plural(map.image_mappings.len(), "image mapping", "image mappings")
    );
    for m in &map.registry_mappings {
        let _ = writeln!(
            s,
            "  {} → {}",
            m.upstream_registry_url, m.ecr_repository_prefix
        );
    }
    for cache in &out.excluded_caches {
        let _ = writeln!(
            s,
            "  left out: cache {} → {} ({})",
            cache.ecr_repository_prefix,
            cache.upstream_registry_url,
            cache.reasons.join("; ")
        );
    }
    for finding in &out.findings {
        let _ = writeln!(s, "{}: {}", word(&finding.severity), finding.message);
    }
    if let Some(coverage) = &out.coverage {
        let sum = &coverage.summary;
        let _ = writeln!(
            s,
            "\nimages: {} covered, {} not covered (of {})",
            sum.covered, sum.not_covered, sum.total
        );
        for image in &coverage.images {
            let verdict = if image.covered {
                "covered"
            } else {
                "NOT COVERED"
            };
            let target = image.ecr_image_uri.as_deref().unwrap_or("");
            let line = format!("  {verdict:<12} {}  {target}", image.image);
            let _ = writeln!(s, "{}", line.trim_end());
            for problem in &image.problems {
                // Without --detail a problem is its code; the image's fix says the rest.
                let said = match problem.message.is_empty() {
                    true => word(&problem.code),
                    false => problem.message.clone(),
                };
                let _ = writeln!(s, "      {}: {said}", word(&problem.severity));
            }
        }
        for planned in &coverage.fixes {
            let _ = writeln!(s, "  next: {}", fix_line(&planned.fix));
        }
    }
    for unresolved in &out.unresolved_images {
        let _ = writeln!(
            s,
            "  unresolved: {}:{} {}",
            unresolved.file, unresolved.line, unresolved.expression
        );
    }
    match written {
        Some(path) => {
            let _ = writeln!(
                s,
                "\nwrote {}: aws omics create-workflow --container-registry-map file://{} …",
                path.display(),
                path.display()
            );
        }
        None => {
            let _ = writeln!(
                s,
                "\n(--output FILE writes the map for aws omics create-workflow)"
            );
        }
    }
    s
}

pub fn cache(out: &CreatePtcOutput) -> String {
    let mut s = String::new();
    let head = match (out.dry_run, out.success) {
        (true, _) => "PLAN (dry run)",
        (false, true) => "READY",
        (false, false) => "NOT USABLE",
    };
    let _ = writeln!(
        s,
        "{head}: cache {} → {}",
        out.ecr_repository_prefix, out.upstream_registry_url
    );
    for change in &out.planned_changes {
        let mark = if change.done { "done" } else { "planned" };
        let _ = writeln!(s, "  [{mark}] {}", change.description);
    }
    if let Some(rule) = &out.rule {
        for problem in &rule.problems {
            let _ = writeln!(s, "  - {problem}");
        }
    }
    s
}

/// `again` is the command that made this result, without --apply.
pub fn prepare(out: &PrepareOutput, written: Option<&Path>, again: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}",
        where_(Some(&out.account_id), &out.region),
        out.message
    );
    if !out.caches.is_empty() {
        let _ = writeln!(s, "\ncaches:");
        for cache in &out.caches {
            let _ = writeln!(
                s,
                "  {} → {}  {} ({})",
                cache.upstream_registry_url,
                cache.ecr_repository_prefix,
                cache.status,
                cache.credential
            );
        }
    }
    if !out.credentials_needed.is_empty() {
        let _ = writeln!(s, "\ncredentials needed:");
        for needed in &out.credentials_needed {
            let _ = writeln!(
                s,
                "  {} ({}): add --credential {}=USER with the token in {}, or --credential {}=arn:… of an existing secret; without them its images are cloned",
                needed.registry,
                plural(needed.images, "image", "images"),
                needed.registry,
                super::args::token_variable(&needed.registry),
                needed.registry
            );
        }
    }
    let ready = out
        .images
        .iter()
        .filter(|r| {
            // A dry run adds the plan's note to a row: `ready (…)`.
            r.status == STATUS_READY || r.status.starts_with(&format!("{STATUS_READY} ("))
        })
        .count();
    let rest = out.images.len() - ready;
    let _ = match out.dry_run {
        true => writeln!(s, "\nimages: {ready} ready, {rest} to do"),
        false => writeln!(
            s,
            "\nimages: {ready} already in place, {rest} changed or failed"
        ),
    };
    let routes: Vec<String> = out.images.iter().map(|r| word(&r.route)).collect();
    let route_width = routes.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let image_width = out
        .images
        .iter()
        .map(|r| r.image.chars().count())
        .max()
        .unwrap_or(0);
    for (row, route) in out.images.iter().zip(&routes) {
        let mark = match row.covered {
            Some(false) => "NOT COVERED ",
            _ => "",
        };
        let line = format!(
            "  {route:<route_width$}  {:<image_width$}  {mark}{}  {}",
            row.image,
            row.status,
            row.ecr_image_uri.as_deref().unwrap_or("")
        );
        let _ = writeln!(s, "{}", line.trim_end());
    }
    let map = &out.container_registry_map;
    let _ = writeln!(
        s,
        "\nmap: {}, {}{}",
        plural(
            map.registry_mappings.len(),
            "registry mapping",
            "registry mappings"
        ),
        plural(map.image_mappings.len(), "image mapping", "image mappings"),
        if out.dry_run { " (as it will be)" } else { "" }
    );
    if let Some(path) = written {
        let _ = writeln!(s, "wrote {}", path.display());
    }
    let next = match (out.dry_run, out.changed) {
        (true, true) => format!("{again} --apply"),
        _ if !out.success || out.all_covered == Some(false) => {
            format!(
                "see the failed rows above, then {again} --apply (it redoes only what is missing)"
            )
        }
        _ => match written {
            Some(path) => format!(
                "aws omics create-workflow … --container-registry-map file://{}; the run role needs run_role_policy (--json)",
                path.display()
            ),
            None => {
                format!("`{again} --output map.json` writes the map for aws omics create-workflow")
            }
        },
    };
    let _ = writeln!(s, "next: {next}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_suggested_call_reads_as_the_command_that_makes_it() {
        let call = SuggestedCall::new(
            ToolName::Grant,
            json!({"repository_name": "quay/x", "aws_region": "eu-west-1"}),
        );
        assert_eq!(
            next_step(&call),
            "healthomics-ecr-mcp grant quay/x --region eu-west-1"
        );
        let call = SuggestedCall::new(
            ToolName::CreatePtc,
            json!({"upstream_registry": "quay", "ecr_repository_prefix": "q"}),
        );
        assert_eq!(
            next_step(&call),
            "healthomics-ecr-mcp cache quay --prefix q"
        );
    }

    #[test]
    fn a_call_no_command_can_make_is_shown_as_the_call() {
        let call = SuggestedCall::new(
            ToolName::Grant,
            json!({"repository_name": "x", "workflow_owner_account_ids": ["111122223333"]}),
        );
        let shown = next_step(&call);
        assert!(
            shown.starts_with("GrantHealthOmicsRepositoryAccess {"),
            "{shown}"
        );
        assert!(shown.contains("111122223333"), "{shown}");
    }
}
