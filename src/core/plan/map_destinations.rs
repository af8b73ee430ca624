//! Whether an image mapping's destination can serve a run: the repository exists, the image
//! (tag or digest) is in it, and HealthOmics may read it. A mapping to a destination that fails
//! any of these is not coverage, whatever the map's syntax says.

use serde_json::json;

use crate::core::findings::SuggestedCall;
use crate::core::image_ref::ImageReference;
use crate::core::policy::AccessStatus;
use crate::core::registry_map::{
    CoverageCode, CoverageProblem, CoverageReport, Fix, ImageMapping, PlannedFix, RewriteOutcome,
    Severity,
};
use crate::core::tool_names::ToolName;

/// What reading the destination found (the tool reads; this decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationState {
    RepositoryMissing,
    ImageMissing,
    /// The image is there; HealthOmics' verdict on the repository policy, and the actions it
    /// lacks when not accessible.
    Present {
        access: AccessStatus,
        missing_actions: Vec<String>,
    },
    /// The destination could not be read (a denied call): why.
    Unknown(String),
}

/// Where a destination points, relative to the account and region that runs the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationPlace {
    /// In this account and region: readable here.
    Local {
        repository: String,
        /// The tag or digest to look for (`latest` when the destination names neither).
        reference: String,
        by_digest: bool,
    },
    OtherAccount(String),
    OtherRegion(String),
    NotEcr,
}

pub fn place(mapping: &ImageMapping, account: &str, region: &str) -> DestinationPlace {
    let Ok(reference) = ImageReference::parse(&mapping.destination_image) else {
        return DestinationPlace::NotEcr;
    };
    let Some(host) = reference.ecr_host() else {
        return DestinationPlace::NotEcr;
    };
    if host.region != region {
        return DestinationPlace::OtherRegion(host.region);
    }
    if host.account_id != account {
        return DestinationPlace::OtherAccount(host.account_id);
    }
    let (reference_text, by_digest) = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => (digest.to_string(), true),
        (None, Some(tag)) => (tag.clone(), false),
        (None, None) => (crate::core::image_ref::DEFAULT_TAG.to_owned(), false),
    };
    DestinationPlace::Local {
        repository: reference.repository,
        reference: reference_text,
        by_digest,
    }
}

/// A problem with a destination, worded once for every tool that reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationProblem {
    /// True when a run will fail; false when it only could not be checked.
    pub blocks_runs: bool,
    pub message: String,
    pub remediation: String,
    /// The fix as a call: (tool, repository) — Clone for a missing image, Grant for access.
    pub fix: Option<DestinationFix>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationFix {
    /// Copy the mapping's source image into the destination repository (and tag).
    Clone {
        source_image: String,
        repository: String,
        tag: Option<String>,
    },
    Grant {
        repository: String,
    },
}

pub fn judge(
    mapping: &ImageMapping,
    place: &DestinationPlace,
    state: Option<&DestinationState>,
) -> Option<DestinationProblem> {
    let dest = &mapping.destination_image;
    match place {
        DestinationPlace::NotEcr | DestinationPlace::OtherRegion(_) => None, // the map check reports these
        DestinationPlace::OtherAccount(owner) => Some(DestinationProblem {
            blocks_runs: false,
            message: format!("`{dest}` is in account {owner}, so it was not checked from here."),
            remediation: format!(
                "Make sure it exists and that its repository policy lets omics.amazonaws.com pull (run GrantHealthOmicsRepositoryAccess in account {owner})."
            ),
            fix: None,
        }),
        DestinationPlace::Local {
            repository,
            reference,
            by_digest,
        } => {
            let clone_fix = || DestinationFix::Clone {
                source_image: mapping.source_image.clone(),
                repository: repository.clone(),
                tag: (!by_digest).then(|| reference.clone()),
            };
            match state? {
                DestinationState::RepositoryMissing => Some(DestinationProblem {
                    blocks_runs: true,
                    message: format!("the destination repository `{repository}` of `{dest}` does not exist."),
                    remediation: "Copy the source image there with the suggested CloneContainerToECR call.".into(),
                    fix: Some(clone_fix()),
                }),
                DestinationState::ImageMissing => Some(DestinationProblem {
                    blocks_runs: true,
                    message: format!("`{repository}` has no image `{reference}`, so `{dest}` cannot be pulled."),
                    remediation: "Copy the source image there with the suggested CloneContainerToECR call.".into(),
                    fix: Some(clone_fix()),
                }),
                DestinationState::Present { access: AccessStatus::Accessible, .. } => None,
                DestinationState::Present { access, missing_actions } => Some(DestinationProblem {
                    blocks_runs: *access != AccessStatus::Conditional,
                    message: format!(
                        "HealthOmics may not pull `{dest}`: the policy of `{repository}` {}.",
                        if missing_actions.is_empty() {
                            "grants it only under conditions".to_owned()
                        } else {
                            format!("does not allow {}", missing_actions.join(", "))
                        }
                    ),
                    remediation: "Run the suggested GrantHealthOmicsRepositoryAccess call.".into(),
                    fix: Some(DestinationFix::Grant { repository: repository.clone() }),
                }),
                DestinationState::Unknown(why) => Some(DestinationProblem {
                    blocks_runs: false,
                    message: format!("`{dest}` could not be checked: {why}."),
                    remediation: "Allow ecr:DescribeImages and ecr:GetRepositoryPolicy on it, then check again.".into(),
                    fix: None,
                }),
            }
        }
    }
}

/// The call that fixes a destination, as a coverage fix.
pub fn fix_call(fix: &DestinationFix, region: &str) -> Fix {
    let (tool, arguments, why) = match fix {
        DestinationFix::Clone {
            source_image,
            repository,
            tag,
        } => {
            let mut args = json!({
                "source_image": source_image,
                "target_repository_name": repository,
                "aws_region": region,
            });
            if let Some(tag) = tag {
                args["target_image_tag"] = json!(tag);
            }
            (
                ToolName::Clone,
                args,
                "copy the image to the mapping's destination",
            )
        }
        DestinationFix::Grant { repository } => (
            ToolName::Grant,
            json!({ "repository_name": repository, "aws_region": region }),
            "let HealthOmics pull from the destination repository",
        ),
    };
    Fix::Tool {
        call: SuggestedCall::new(tool, arguments),
        why: why.to_owned(),
    }
}

/// Marks the images whose image mapping has a destination problem: a blocking one makes the
/// image not covered (with the fixing call); the counts and `all_covered` follow.
pub fn apply_to_coverage(
    report: &mut CoverageReport,
    problems: &[(usize, DestinationProblem)],
    region: &str,
) {
    for image in &mut report.images {
        let Some(RewriteOutcome::ImageMapping { index }) = &image.matched else {
            continue;
        };
        let Some((_, problem)) = problems.iter().find(|(i, _)| i == index) else {
            continue;
        };
        image.problems.push(CoverageProblem {
            severity: if problem.blocks_runs {
                Severity::Error
            } else {
                Severity::Warning
            },
            code: CoverageCode::DestinationUnusable,
            message: problem.message.clone(),
        });
        if problem.blocks_runs && image.covered {
            image.covered = false;
            report.summary.covered = report.summary.covered.saturating_sub(1);
            report.summary.not_covered += 1;
        }
        if let Some(fix) = problem.fix.as_ref().filter(|_| problem.blocks_runs) {
            let fix = fix_call(fix, region);
            let key = image
                .canonical
                .clone()
                .unwrap_or_else(|| image.image.clone());
            match report.fixes.iter_mut().find(|f| f.fix == fix) {
                Some(planned) => planned.images.push(key),
                None => report.fixes.push(PlannedFix {
                    fix: fix.clone(),
                    images: vec![key],
                }),
            }
            image.fix = Some(fix);
        }
    }
    report.all_covered = report.images.iter().all(|i| i.covered);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn mapping(destination: &str) -> ImageMapping {
        ImageMapping {
            source_image: "ubuntu:22.04".into(),
            destination_image: destination.into(),
        }
    }

    fn judged(destination: &str, state: DestinationState) -> Option<DestinationProblem> {
        let m = mapping(destination);
        let p = place(&m, "123456789012", "us-east-1");
        judge(&m, &p, Some(&state))
    }

    #[test]
    fn places() {
        let local = place(
            &mapping(&format!("{HOST}/base/ubuntu:22.04")),
            "123456789012",
            "us-east-1",
        );
        assert_eq!(
            local,
            DestinationPlace::Local {
                repository: "base/ubuntu".into(),
                reference: "22.04".into(),
                by_digest: false
            }
        );
        let other = place(
            &mapping("210987654321.dkr.ecr.us-east-1.amazonaws.com/x/y:1"),
            "123456789012",
            "us-east-1",
        );
        assert_eq!(other, DestinationPlace::OtherAccount("210987654321".into()));
        let west = place(
            &mapping("123456789012.dkr.ecr.us-west-2.amazonaws.com/x/y:1"),
            "123456789012",
            "us-east-1",
        );
        assert_eq!(west, DestinationPlace::OtherRegion("us-west-2".into()));
        assert_eq!(
            place(&mapping("quay.io/x/y:1"), "123456789012", "us-east-1"),
            DestinationPlace::NotEcr
        );
    }

    #[test]
    fn verdicts() {
        let dest = format!("{HOST}/base/ubuntu:22.04");
        let missing = judged(&dest, DestinationState::RepositoryMissing)
            .unwrap_or_else(|| panic!("a problem"));
        assert!(missing.blocks_runs && missing.message.contains("does not exist"));
        assert_eq!(
            missing.fix,
            Some(DestinationFix::Clone {
                source_image: "ubuntu:22.04".into(),
                repository: "base/ubuntu".into(),
                tag: Some("22.04".into())
            })
        );
        let no_image =
            judged(&dest, DestinationState::ImageMissing).unwrap_or_else(|| panic!("a problem"));
        assert!(no_image.message.contains("no image `22.04`"));
        let closed = judged(
            &dest,
            DestinationState::Present {
                access: AccessStatus::NotAccessible,
                missing_actions: vec!["ecr:BatchGetImage".into()],
            },
        )
        .unwrap_or_else(|| panic!("a problem"));
        assert!(closed.blocks_runs && closed.message.contains("ecr:BatchGetImage"));
        assert_eq!(
            closed.fix,
            Some(DestinationFix::Grant {
                repository: "base/ubuntu".into()
            })
        );
        assert!(
            judged(
                &dest,
                DestinationState::Present {
                    access: AccessStatus::Accessible,
                    missing_actions: vec![]
                }
            )
            .is_none()
        );
        let unknown = judged(&dest, DestinationState::Unknown("denied".into()))
            .unwrap_or_else(|| panic!("a problem"));
        assert!(!unknown.blocks_runs);
        let by_digest = format!("{HOST}/base/ubuntu@sha256:{}", "0".repeat(64));
        let fix = judged(&by_digest, DestinationState::ImageMissing).and_then(|p| p.fix);
        assert!(matches!(fix, Some(DestinationFix::Clone { tag: None, .. })));
    }
}
