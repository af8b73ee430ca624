//! Bounds on every free-form input, checked before any value reaches an SDK, a registry or a
//! cache key.
//!
//! Why here and not in each tool: an SDK may panic on input it did not expect (aws-sdk-omics on a
//! ~65 KB workflow id), and a value used as a cache key (a region) grows memory per distinct
//! value. One table of bounds keeps every tool's answer to bad input the same.

use super::image_ref;

/// AWS CLI profile names are free text in the config file; this bound keeps them sane.
pub const PROFILE_NAME_MAX: usize = 128;
/// The longest AWS region name today is 14 characters (`ap-southeast-5`, `us-gov-west-1`).
pub const REGION_NAME_MAX: usize = 32;
/// HealthOmics workflow ids are decimal numbers (`1234567`); the API allows 1–18 digits.
pub const WORKFLOW_ID_MAX: usize = 18;
/// Images, mappings or sources in one call: enough for the largest public pipelines.
pub const LIST_MAX: usize = 1000;
/// Any other free-form string (paths, URLs, image references).
pub const TEXT_MAX: usize = 4096;

/// A bad input: which parameter, what is wrong with it, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}: {problem}")]
pub struct InputError {
    pub parameter: &'static str,
    pub problem: String,
    pub hint: &'static str,
}

fn input_error(parameter: &'static str, problem: String, hint: &'static str) -> InputError {
    InputError {
        parameter,
        problem,
        hint,
    }
}

/// A value shown back in an error, cut so that a huge input does not become a huge error.
pub fn clipped(value: &str) -> String {
    const SHOWN: usize = 40;
    match value.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}… ({} bytes)", &value[..end], value.len()),
        None => value.to_owned(),
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `eu-isoe-west-1`.
pub fn check_region(value: &str) -> Result<(), InputError> {
    if value.len() <= REGION_NAME_MAX && image_ref::is_region_name(value) {
        return Ok(());
    }
    Err(input_error(
        "aws_region",
        format!("`{}` is not an AWS region name", clipped(value)),
        "Pass a region like \"us-east-1\" (lowercase words and a number, joined by `-`).",
    ))
}

/// Profile names as the AWS CLI writes them: letters, digits and `-_.+@:/`, at most 128.
pub fn check_profile(value: &str) -> Result<(), InputError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.+@:/".contains(c);
    if !value.is_empty() && value.len() <= PROFILE_NAME_MAX && value.chars().all(allowed) {
        return Ok(());
    }
    Err(input_error(
        "aws_profile",
        format!("`{}` is not a usable AWS profile name", clipped(value)),
        "Pass the name of a profile in ~/.aws/config (letters, digits, `-_.+@:/`, at most 128 characters).",
    ))
}

pub fn check_workflow_id(value: &str) -> Result<(), InputError> {
    if !value.is_empty()
        && value.len() <= WORKFLOW_ID_MAX
        && value.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(());
    }
    Err(input_error(
        "workflow_id",
        format!("`{}` is not a HealthOmics workflow id", clipped(value)),
        "Pass the numeric id HealthOmics shows for the workflow (e.g. \"1234567\"), at most 18 digits.",
    ))
}

/// An image tag in the registry grammar (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
pub fn check_tag(parameter: &'static str, value: &str) -> Result<(), InputError> {
    image_ref::validate_tag(value).map_err(|e| {
        input_error(
            parameter,
            e.to_string(),
            "Use letters, digits, `_`, `.` and `-` (not first), at most 128 characters.",
        )
    })
}

/// ECR's `upstreamRepositoryPrefix`: 2–30 characters of the repository grammar, or `ROOT`.
pub fn check_upstream_repository_prefix(value: &str) -> Result<(), InputError> {
    image_ref::validate_ptc_prefix(value).map_err(|e| {
        input_error(
            "upstream_repository_prefix",
            e.to_string()
                .replacen("pull-through cache prefix", "upstream prefix", 1),
            "Pass an upstream namespace like \"biocontainers\" (2–30 lowercase characters).",
        )
    })
}

pub fn check_list_len(parameter: &'static str, len: usize) -> Result<(), InputError> {
    if len <= LIST_MAX {
        return Ok(());
    }
    Err(input_error(
        parameter,
        format!("{len} entries; at most {LIST_MAX} are accepted in one call"),
        "Split the list over several calls.",
    ))
}

pub fn check_text_len(parameter: &'static str, value: &str) -> Result<(), InputError> {
    if value.len() <= TEXT_MAX {
        return Ok(());
    }
    Err(input_error(
        parameter,
        format!("{} bytes; at most {TEXT_MAX} are accepted", value.len()),
        "Pass a shorter value.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "eu-isoe-west-1",
        ] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        let huge = "a".repeat(100_000);
        for bad in [
            "",
            "../../",
            "US-EAST-1",
            "us-east",
            "us east 1",
            huge.as_str(),
        ] {
            let err = check_region(bad).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.len() < 120),
                "{bad:.20}: {err:?}"
            );
        }
    }

    #[test]
    fn profiles() {
        for ok in ["default", "dev-admin", "sso:team/prod", "a.b+c@d_e"] {
            assert!(check_profile(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "x\ny", &"p".repeat(129)] {
            assert!(check_profile(bad).is_err(), "{bad:.20}");
        }
    }

    #[test]
    fn workflow_ids() {
        assert!(check_workflow_id("1234567").is_ok());
        for bad in ["", "abc", "12 3", &"9".repeat(19), &"1".repeat(70_000)] {
            assert!(check_workflow_id(bad).is_err(), "{bad:.20}");
        }
    }

    #[test]
    fn tags_prefixes_and_lengths() {
        assert!(check_tag("target_image_tag", "1.19--h50ea8bc_0").is_ok());
        for bad in ["-x", "a b", "a:b", &"t".repeat(129)] {
            assert!(check_tag("target_image_tag", bad).is_err(), "{bad:.20}");
        }
        assert!(check_upstream_repository_prefix("biocontainers").is_ok());
        assert!(check_upstream_repository_prefix("Bad Prefix").is_err());
        assert!(check_list_len("container_images", LIST_MAX).is_ok());
        assert!(check_list_len("container_images", LIST_MAX + 1).is_err());
        assert!(check_text_len("x", &"y".repeat(TEXT_MAX + 1)).is_err());
    }

    #[test]
    fn clipped_values_stay_short_and_on_char_boundaries() {
        assert_eq!(clipped("short"), "short");
        let long = "é".repeat(1000);
        let shown = clipped(&long);
        assert!(shown.ends_with("(2000 bytes)"), "{shown}");
        assert!(shown.chars().count() < 60);
    }
}
