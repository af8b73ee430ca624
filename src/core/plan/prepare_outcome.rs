//! What each step of PrepareWorkflowContainers answered means for its table: the row's status,
//! whether the step changed the account, and a clone's image mapping. The handler runs the
//! steps through the other tools; these functions only read their results.

use super::check::CheckOutput;
use super::clone::CloneOutput;
use super::create_ptc::CreatePtcOutput;
use super::grant::GrantAccessOutput;
use super::map_report::RegistryMapOutput;
use super::prepare::{ImageRow, PlannedImage, STATUS_READY};
use crate::core::image_ref::{ImageReference, ecr_image_uri};
use crate::core::policy::AccessStatus;
use crate::core::registry_map::ImageMapping;

/// One image's step, as its row reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: String,
    /// The step changed the account (with dry_run: would change it).
    pub changed: bool,
    /// A clone's image mapping, for the final map.
    pub mapping: Option<ImageMapping>,
}

impl Outcome {
    pub fn new(status: impl Into<String>, changed: bool) -> Self {
        Self {
            status: status.into(),
            changed,
            mapping: None,
        }
    }

    /// A step whose tool answered with an error.
    pub fn failed(message: &str) -> Self {
        Self::new(format!("failed: {message}"), false)
    }
}

/// CreatePullThroughCacheForHealthOmics' answer for one planned cache: the cache row's status
/// and whether it changed (or would change) something.
pub fn cache_status(dry_run: bool, out: &CreatePtcOutput) -> (String, bool) {
    if dry_run {
        let n = out.planned_changes.len();
        return (format!("planned: {n} change(s)"), n > 0);
    }
    // A verified write leaves what it did to its flags.
    let done = out.secret_created
        || out.rule_created
        || out.registry_policy_updated
        || out.repository_template_created
        || out.repository_template_updated;
    match done {
        false => (STATUS_READY.to_owned(), false),
        true => ("created and verified".to_owned(), true),
    }
}

/// CheckContainerAvailability's answer for a cached image (pulled through its cache unless
/// dry_run).
pub fn warmed(dry_run: bool, out: &CheckOutput) -> Outcome {
    match out.available {
        true if out.pull_through_initiated => Outcome::new("pulled through its cache now", true),
        true => Outcome::new(STATUS_READY, false),
        false if dry_run => Outcome::new("would pull through its cache", true),
        false => Outcome::new(
            format!(
                "failed: not in ECR after the pull{}",
                out.pull_through_initiation_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            false,
        ),
    }
}

/// CloneContainerToECR's answer for `source`; with dry_run, the mapping names where the copy
/// will land (its repository, and the source's tag or digest).
pub fn cloned(dry_run: bool, source: &str, out: &CloneOutput) -> Outcome {
    if dry_run {
        // Nothing to copy when the target tag already holds the image (the plan skips every
        // blob).
        let mut outcome = match out.blobs_skipped > 0 {
            true => Outcome::new(STATUS_READY, false),
            false => Outcome::new(
                format!("would copy to `{}`", out.target_repository_name),
                true,
            ),
        };
        outcome.mapping = Some(ImageMapping {
            source_image: source.to_owned(),
            destination_image: planned_destination(out, source),
        });
        return outcome;
    }
    let changed = out.repository_created || out.policy_changed || out.blobs_copied > 0;
    Outcome {
        status: match changed {
            true => format!("cloned to `{}`", out.target_repository_name),
            false => STATUS_READY.to_owned(),
        },
        changed,
        mapping: out.image_mapping.clone(),
    }
}

fn planned_destination(out: &CloneOutput, source: &str) -> String {
    let reference = ImageReference::parse(source).ok();
    let tag = reference.as_ref().and_then(|r| r.tag.clone());
    let digest = reference
        .as_ref()
        .and_then(|r| r.digest.as_ref().map(ToString::to_string));
    ecr_image_uri(
        &out.account_id,
        &out.region,
        &out.target_repository_name,
        tag.as_deref(),
        digest.as_deref(),
    )
}

/// GrantHealthOmicsRepositoryAccess' answer for a repository the workflow already uses.
pub fn granted(dry_run: bool, out: &GrantAccessOutput) -> Outcome {
    if out.policy_updated || out.policy_created {
        return Outcome::new("granted HealthOmics pull access", true);
    }
    if out.previous_healthomics_accessible == AccessStatus::Accessible {
        return Outcome::new(STATUS_READY, false);
    }
    if dry_run {
        return Outcome::new("would grant HealthOmics pull access", true);
    }
    Outcome::new(
        format!(
            "failed: HealthOmics access is {:?}",
            out.current_healthomics_accessible
        ),
        false,
    )
}

/// One row per planned image: its route and status, and after apply the final map's verdict.
pub fn rows(
    planned: &[PlannedImage],
    outcomes: &mut [Option<Outcome>],
    report: &RegistryMapOutput,
    dry_run: bool,
) -> Vec<ImageRow> {
    planned
        .iter()
        .zip(outcomes.iter_mut())
        .map(|(image, outcome)| {
            let outcome = outcome.take();
            let covered = report.coverage.as_ref().and_then(|c| {
                c.images.iter().find(|i| {
                    i.canonical.as_deref() == Some(image.image.as_str()) || i.image == image.image
                })
            });
            let mut status = outcome
                .map(|o| o.status)
                .unwrap_or_else(|| STATUS_READY.to_owned());
            if let (Some(note), true) = (&image.note, dry_run) {
                status = format!("{status} ({note})");
            }
            ImageRow {
                image: image.image.clone(),
                route: image.route.clone(),
                target: image.target.clone(),
                status,
                ecr_image_uri: covered.and_then(|c| c.ecr_image_uri.clone()),
                covered: covered.map(|c| c.covered),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::check::report::unserved;
    use crate::core::plan::fixtures::{ACCOUNT, REGION};

    /// A cached image's check, as the warm step reads it.
    fn check(available: bool, pulled: bool, message: Option<&str>) -> CheckOutput {
        let reference = ImageReference::parse("quay.io/biocontainers/samtools:1.19")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = unserved(&reference, ACCOUNT, REGION);
        out.available = available;
        out.pull_through_initiated = pulled;
        out.pull_through_initiation_message = message.map(str::to_owned);
        out
    }

    #[test]
    fn a_warm_pull_reads_as_done_ready_planned_or_failed() {
        let cases = [
            (
                false,
                check(true, true, None),
                "pulled through its cache now",
                true,
            ),
            (false, check(true, false, None), STATUS_READY, false),
            (
                true,
                check(false, false, None),
                "would pull through its cache",
                true,
            ),
            (
                false,
                check(false, false, Some("ImageNotFound")),
                "failed: not in ECR after the pull: ImageNotFound",
                false,
            ),
            (
                false,
                check(false, false, None),
                "failed: not in ECR after the pull",
                false,
            ),
        ];
        for (dry_run, out, status, changed) in cases {
            assert_eq!(
                warmed(dry_run, &out),
                Outcome::new(status, changed),
                "{status}"
            );
        }
    }
}
