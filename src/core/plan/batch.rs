//! Batches of `CheckContainerAvailability` and `CloneContainerToECR`: many images in one call.
//!
//! Every image goes through the single-image path, so its verdict is the single call's; this
//! module only condenses those results into what an assistant reads first (counts and one line
//! saying what to do next) and one short row per image. A failed image is a row with its error,
//! never the end of the batch. It also adds up the copies' progress into one stream.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::check::CheckOutput;
use super::clone::CloneOutput;
use crate::core::findings::SuggestedCall;
use crate::core::image_rules::Severity as RuleSeverity;
use crate::core::inputs::{self, InputError};
use crate::core::policy::AccessStatus;
use crate::core::registry_map::{Fix, ImageMapping};
use crate::core::tool_names::ToolName;

/// Images checked at once: reads and pulls through a cache are small and mostly waiting.
pub const CHECK_CONCURRENCY: usize = 8;
/// Images copied at once: each copy already streams several blobs in parallel.
pub const CLONE_CONCURRENCY: usize = 3;
/// Images one call takes (a large workflow has a few dozen).
pub const MAX_IMAGES: usize = 200;

/// The images of a batch: trimmed, empty entries dropped, each once, in the order given.
pub fn image_list(
    parameter: &'static str,
    given: impl IntoIterator<Item = String>,
) -> Result<Vec<String>, InputError> {
    let mut images: Vec<String> = Vec::new();
    for image in given {
        let image = image.trim();
        if !image.is_empty() && !images.iter().any(|i| i == image) {
            inputs::check_text_len(parameter, image)?;
            images.push(image.to_owned());
        }
    }
    if images.len() > MAX_IMAGES {
        return Err(InputError {
            parameter,
            problem: format!(
                "{} images; at most {MAX_IMAGES} are taken in one call",
                images.len()
            ),
            hint: "Split the images over several calls.",
        });
    }
    Ok(images)
}

/// How a batch came out, by name (`images`, `available`, `accessible`, `pulled`, `failed` for
/// checks; `images`, `copied`, `already_there`, `failed` for clones). A map, not a struct: its
/// schema is one line in a tool list every assistant turn pays for, and its names show in
/// every result.
pub type Counts = BTreeMap<&'static str, usize>;

/// One image of a batch of checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CheckRow {
    /// The reference as given.
    pub image: String,
    pub available: bool,
    /// The single check's values; a plain string in the schema, which spells them out there.
    #[schemars(with = "String")]
    pub healthomics_accessible: AccessStatus,
    /// Why it is not available or not plainly pullable (absent when it is both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// The ECR URI pinned by digest, when the image is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_image_uri: Option<String>,
    /// What this call did for the image (a pull through its cache, or why none was made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<String>,
    /// Codes of the container rules it breaks (errors and warnings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// The check itself failed (the image could not be resolved or read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failure's error code, for the command line's exit code.
    #[serde(skip)]
    pub error_code: Option<String>,
}

/// A batch of checks, as the tool returns it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CheckBatchOutput {
    pub account_id: String,
    pub region: String,
    pub counts: Counts,
    /// Counts and the next call, in one line.
    pub message: String,
    pub images: Vec<CheckRow>,
    /// The suggested fixes of the images, merged (one clone call for every image to clone).
    #[serde(skip)]
    pub next_calls: Vec<SuggestedCall>,
}

/// Why one image of a batch failed: the tool error's message and code, and what its call had
/// already changed in the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// The error code as the tool's error spells it (`invalid_input`, `access_denied`, …).
    pub code: String,
    pub changed: Vec<String>,
}

/// One image's check result, or its failure.
pub type Checked = (String, Result<CheckOutput, Failure>);

/// The row of one checked image.
pub fn check_row((image, result): &Checked) -> CheckRow {
    let out = match result {
        Ok(out) => out,
        Err(failure) => {
            return CheckRow {
                image: image.clone(),
                available: false,
                healthomics_accessible: AccessStatus::Unknown,
                why: None,
                ecr_image_uri: None,
                done: None,
                rules: Vec::new(),
                error: Some(failure.message.clone()),
                error_code: Some(failure.code.clone()),
            };
        }
    };
    let why = match (&out.why, out.available) {
        (Some(why), _) => Some(why.clone()),
        (None, false)
            if !out.repository_exists && out.cache.is_none() && !out.repository_name.is_empty() =>
        {
            Some("the repository does not exist".to_owned())
        }
        (None, false) => Some(out.message.clone()),
        (None, true) => None,
    };
    let done = match (
        &out.pull_through_initiation_message,
        out.pull_through_initiated,
    ) {
        (_, true) => Some(match &out.cache {
            Some(cache) => format!("pulled through cache `{}`", cache.ecr_repository_prefix),
            None => "pulled through its cache".to_owned(),
        }),
        (Some(message), false) if Some(message) != why.as_ref() => Some(message.clone()),
        _ => None,
    };
    let rules = out
        .container_rule_findings
        .iter()
        .filter(|f| f.severity != RuleSeverity::Info)
        .filter_map(|f| serde_json::to_value(f.code).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    CheckRow {
        image: image.clone(),
        available: out.available,
        healthomics_accessible: out.healthomics_accessible,
        why,
        ecr_image_uri: out.ecr_image_uri.clone(),
        done,
        rules,
        error: None,
        error_code: None,
    }
}

/// The batch's result from every image's (in the order given).
pub fn check_batch(
    account_id: String,
    region: String,
    checked: &[Checked],
    unresolved: &[String],
) -> CheckBatchOutput {
    let rows: Vec<CheckRow> = checked.iter().map(check_row).collect();
    let accessible = |r: &&CheckRow| r.healthomics_accessible == AccessStatus::Accessible;
    let pulled = |(_, r): &&Checked| r.as_ref().is_ok_and(|o| o.pull_through_initiated);
    let (images, available, accessible, pulled, failed) = (
        rows.len(),
        rows.iter().filter(|r| r.available).count(),
        rows.iter().filter(accessible).count(),
        checked.iter().filter(pulled).count(),
        rows.iter().filter(|r| r.error.is_some()).count(),
    );
    let counts = Counts::from([
        ("images", images),
        ("available", available),
        ("accessible", accessible),
        ("pulled", pulled),
        ("failed", failed),
    ]);
    let fixes = checked
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok()?.suggested_fix.clone());
    let next_calls = merge_fixes(fixes);
    let mut message = format!(
        "{images} image(s): {available} available in ECR, {accessible} accessible by HealthOmics"
    );
    if pulled > 0 {
        message.push_str(&format!(", {pulled} pulled through a cache now"));
    }
    if failed > 0 {
        message.push_str(&format!(", {failed} could not be checked (see error)"));
    }
    if !unresolved.is_empty() {
        message.push_str(&format!(
            "; not checked, expressions rather than images: {}",
            unresolved.join(", ")
        ));
    }
    message.push('.');
    message.push_str(&next_sentence(&next_calls));
    CheckBatchOutput {
        account_id,
        region,
        counts,
        message,
        images: rows,
        next_calls,
    }
}

/// " Next: …" naming the merged calls, or nothing.
fn next_sentence(calls: &[SuggestedCall]) -> String {
    if calls.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.tool.name(), Value::Object(c.arguments.clone())))
        .collect();
    format!(" Next: {}.", shown.join("; "))
}

/// The per-image fixes as few calls: every clone of one account and region becomes one call
/// with `source_images`, every pull through a cache one check with `images`; the other calls
/// (a grant per repository, a cache per registry) each once.
pub fn merge_fixes(fixes: impl IntoIterator<Item = Fix>) -> Vec<SuggestedCall> {
    let mut merged: Vec<SuggestedCall> = Vec::new();
    for fix in fixes {
        let Fix::Tool { call, .. } = fix else {
            continue;
        };
        let list = match call.tool {
            ToolName::Clone => Some(("source_image", "source_images")),
            ToolName::Check => Some(("image_uri", "images")),
            _ => None,
        };
        let Some((one, many)) = list else {
            if !merged.contains(&call) {
                merged.push(call);
            }
            continue;
        };
        let mut rest = call.arguments.clone();
        let Some(image) = rest.remove(one) else {
            if !merged.contains(&call) {
                merged.push(call);
            }
            continue;
        };
        let same = |c: &SuggestedCall| {
            let mut others = c.arguments.clone();
            others.remove(many);
            c.tool == call.tool && c.arguments.contains_key(many) && others == rest
        };
        match merged.iter_mut().find(|c| same(c)) {
            Some(existing) => {
                if let Some(Value::Array(images)) = existing.arguments.get_mut(many)
                    && !images.contains(&image)
                {
                    images.push(image);
                }
            }
            None => {
                let mut arguments = Map::new();
                arguments.insert(many.to_owned(), Value::Array(vec![image]));
                arguments.extend(rest);
                merged.push(SuggestedCall {
                    tool: call.tool,
                    arguments,
                });
            }
        }
    }
    merged
}

/// One image of a batch of clones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CloneRow {
    pub source_image: String,
    /// The copy's URI pinned by digest (absent in a dry run and on failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecr_uri: Option<String>,
    /// `pull_through_cache` or `registry_copy` (absent on failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub bytes_transferred: u64,
    /// What the clone changed or, in a dry run, would do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// A copy that is not verified or that HealthOmics cannot pull, or the container rules it
    /// breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failure's error code, for the command line's exit code.
    #[serde(skip)]
    pub error_code: Option<String>,
    /// A real copy that is not verified or that HealthOmics cannot pull (what the command
    /// line's exit code 1 stands for).
    #[serde(skip)]
    pub finding: bool,
}

/// A batch of clones, as the tool returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CloneBatchOutput {
    pub account_id: String,
    pub region: String,
    /// Every image cloned, verified and pullable by HealthOmics (or planned without error).
    pub success: bool,
    pub dry_run: bool,
    /// `copied`: copied or pulled now (in a dry run: planned); `already_there`: the target
    /// held the digest, nothing copied.
    pub counts: Counts,
    /// Layer and config bytes copied over all images.
    pub bytes_transferred: u64,
    pub message: String,
    pub images: Vec<CloneRow>,
    /// For CreateContainerRegistryMap's image_mappings: one per image now in ECR (the single
    /// clone's `image_mapping`, whose schema spells the fields out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<serde_json::Map<String, Value>>")]
    pub image_mappings: Vec<ImageMapping>,
}

/// One image's clone result, or its failure.
pub type Cloned = (String, Result<CloneOutput, Failure>);

/// Whether a finished (not dry-run) clone copied nothing: the target already held the digest.
fn nothing_copied(out: &CloneOutput) -> bool {
    !out.dry_run
        && out.bytes_transferred == 0
        && out.blobs_copied == 0
        && !out.used_pull_through_cache
        && !out.repository_created
}

/// The row of one cloned image.
pub fn clone_row((source, result): &Cloned) -> CloneRow {
    let out = match result {
        Ok(out) => out,
        Err(failure) => {
            return CloneRow {
                source_image: source.clone(),
                ecr_uri: None,
                method: None,
                bytes_transferred: 0,
                changed: failure.changed.clone(),
                problem: None,
                error: Some(failure.message.clone()),
                error_code: Some(failure.code.clone()),
                finding: false,
            };
        }
    };
    let mut changed = if out.dry_run {
        out.steps.clone()
    } else {
        out.side_effects()
    };
    if !out.dry_run && out.blobs_copied > 0 {
        changed.push(format!("copied {} blob(s)", out.blobs_copied));
    }
    if !out.dry_run && out.used_pull_through_cache {
        changed.push("pulled through its cache".to_owned());
    }
    let mut problems = Vec::new();
    let finding =
        !out.dry_run && (!out.verified || out.healthomics_accessible != AccessStatus::Accessible);
    if !out.dry_run && !out.verified {
        problems.push("not verified (see CloneContainerToECR with this source_image)".to_owned());
    }
    if !out.dry_run && out.healthomics_accessible != AccessStatus::Accessible {
        problems.push(format!(
            "HealthOmics access: {}",
            serde_json::to_value(out.healthomics_accessible)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
    }
    let broken: Vec<String> = out
        .container_rule_findings
        .iter()
        .filter(|f| f.severity != RuleSeverity::Info)
        .filter_map(|f| serde_json::to_value(f.code).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if !broken.is_empty() {
        problems.push(format!("container rules: {}", broken.join(", ")));
    }
    CloneRow {
        source_image: source.clone(),
        ecr_uri: out.ecr_uri.clone(),
        method: Some(out.method.clone()),
        bytes_transferred: out.bytes_transferred,
        changed,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
        error: None,
        error_code: None,
        finding,
    }
}

/// The batch's result from every image's (in the order given).
pub fn clone_batch(
    account_id: String,
    region: String,
    dry_run: bool,
    cloned: &[Cloned],
) -> CloneBatchOutput {
    let rows: Vec<CloneRow> = cloned.iter().map(clone_row).collect();
    let ok: Vec<&CloneOutput> = cloned.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
    let already_there = ok.iter().filter(|o| nothing_copied(o)).count();
    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    let images = rows.len();
    let copied = ok.len() - already_there;
    let counts = Counts::from([
        ("images", images),
        ("copied", copied),
        ("already_there", already_there),
        ("failed", failed),
    ]);
    let bytes_transferred = ok.iter().map(|o| o.bytes_transferred).sum();
    let success = failed == 0 && !rows.iter().any(|r| r.finding);
    let image_mappings: Vec<ImageMapping> =
        ok.iter().filter_map(|o| o.image_mapping.clone()).collect();
    let changed: usize = rows
        .iter()
        .filter(|r| !dry_run && !r.changed.is_empty())
        .count();
    let message = if dry_run {
        format!(
            "Dry run of {images} image(s): {copied} would be copied or pulled, {already_there} already in ECR, {failed} cannot be cloned (see error). Nothing was changed."
        )
    } else {
        let mut m = format!(
            "{images} image(s): {copied} copied or pulled ({bytes_transferred} bytes), {already_there} already in ECR (nothing copied), {failed} failed; {changed} changed the account (see changed)."
        );
        if !image_mappings.is_empty() {
            m.push_str(" Pass image_mappings to CreateContainerRegistryMap.");
        }
        if failed > 0 {
            m.push_str(" A retry with the failed sources resumes where they stopped.");
        }
        m
    };
    CloneBatchOutput {
        account_id,
        region,
        success,
        dry_run,
        counts,
        bytes_transferred,
        message,
        images: rows,
        image_mappings,
    }
}

/// Several copies' progress as one stream: the sum over images of bytes and blobs, never going
/// back (a retried blob takes back its bytes in its own image's count).
#[derive(Debug, Default)]
pub struct BatchProgress {
    /// Per image: bytes done, bytes total, blobs done, blobs total.
    images: Vec<[u64; 4]>,
    sent_done: u64,
}

impl BatchProgress {
    pub fn new(images: usize) -> Self {
        Self {
            images: vec![[0; 4]; images],
            sent_done: 0,
        }
    }

    /// Records image `index`'s latest report; returns the batch's (bytes done, bytes total,
    /// blobs done, blobs total).
    pub fn update(&mut self, index: usize, report: [u64; 4]) -> [u64; 4] {
        if let Some(slot) = self.images.get_mut(index) {
            *slot = report;
        }
        let mut sum = [0u64; 4];
        for image in &self.images {
            for (s, v) in sum.iter_mut().zip(image) {
                *s += v;
            }
        }
        self.sent_done = self.sent_done.max(sum[0]);
        sum[0] = self.sent_done.min(sum[1].max(self.sent_done));
        sum[1] = sum[1].max(sum[0]);
        sum
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_image_list_is_trimmed_deduplicated_and_bounded() {
        let given = [" a:1 ", "", "b:2", "a:1"].map(String::from);
        assert_eq!(
            image_list("images", given).ok(),
            Some(vec!["a:1".to_owned(), "b:2".to_owned()])
        );
        let many = (0..=MAX_IMAGES).map(|i| format!("img{i}:1"));
        let err = image_list("images", many).err();
        assert!(err.is_some_and(|e| e.parameter == "images"));
    }

    fn clone_fix(image: &str) -> Fix {
        Fix::Tool {
            call: SuggestedCall::new(
                ToolName::Clone,
                json!({"source_image": image, "aws_region": "us-east-1"}),
            ),
            why: String::new(),
        }
    }

    #[test]
    fn fixes_of_several_images_merge_into_one_call_per_tool() {
        let grant = Fix::Tool {
            call: SuggestedCall::new(ToolName::Grant, json!({"repository_name": "r"})),
            why: String::new(),
        };
        let merged = merge_fixes([
            clone_fix("ghcr.io/a:1"),
            grant.clone(),
            clone_fix("ghcr.io/b:1"),
            grant,
            clone_fix("ghcr.io/a:1"),
        ]);
        assert_eq!(merged.len(), 2, "{merged:?}");
        assert_eq!(merged[0].tool, ToolName::Clone);
        assert_eq!(
            merged[0].arguments.get("source_images"),
            Some(&json!(["ghcr.io/a:1", "ghcr.io/b:1"]))
        );
        assert_eq!(
            merged[0].arguments.get("aws_region"),
            Some(&json!("us-east-1"))
        );
        assert_eq!(merged[1].tool, ToolName::Grant);
    }

    #[test]
    fn calls_for_other_regions_stay_apart() {
        let other = Fix::Tool {
            call: SuggestedCall::new(
                ToolName::Clone,
                json!({"source_image": "x:1", "aws_region": "eu-west-1"}),
            ),
            why: String::new(),
        };
        assert_eq!(merge_fixes([clone_fix("y:1"), other]).len(), 2);
    }

    #[test]
    fn a_failed_check_is_a_row_and_is_counted() {
        let failure = Failure {
            message: "not a reference".to_owned(),
            code: "invalid_input".to_owned(),
            changed: Vec::new(),
        };
        let checked = vec![("nope".to_owned(), Err(failure))];
        let out = check_batch("1".into(), "r".into(), &checked, &[]);
        assert_eq!(out.counts.get("failed"), Some(&1));
        assert_eq!(out.images[0].error.as_deref(), Some("not a reference"));
        assert!(!out.images[0].available);
        assert!(
            out.message.contains("1 could not be checked"),
            "{}",
            out.message
        );
    }

    #[test]
    fn a_failed_clone_keeps_what_it_changed_and_the_batch_is_not_a_success() {
        let cloned = vec![(
            "ghcr.io/a:1".to_owned(),
            Err(Failure {
                message: "disk full".to_owned(),
                code: "registry_error".to_owned(),
                changed: vec!["created repository `github/a`".to_owned()],
            }),
        )];
        let out = clone_batch("1".into(), "r".into(), false, &cloned);
        assert!(!out.success);
        assert_eq!(out.counts.get("failed"), Some(&1));
        assert_eq!(out.images[0].changed, ["created repository `github/a`"]);
        assert!(out.image_mappings.is_empty());
    }

    #[test]
    fn batch_progress_adds_up_and_never_goes_back() {
        let mut p = BatchProgress::new(2);
        assert_eq!(p.update(0, [10, 100, 1, 3]), [10, 100, 1, 3]);
        assert_eq!(p.update(1, [5, 50, 0, 2]), [15, 150, 1, 5]);
        // Image 0 retries a blob and takes back 8 bytes: the stream stays at 15.
        assert_eq!(p.update(0, [2, 100, 1, 3])[0], 15);
        assert_eq!(p.update(0, [100, 100, 3, 3]), [105, 150, 3, 5]);
        // An index out of range changes nothing.
        assert_eq!(p.update(7, [1, 1, 1, 1]), [105, 150, 3, 5]);
    }
}
