//! The `credentialArn` rules: a Secrets Manager secret ARN, in the partition (and ideally the
//! region) the runs are in.

use crate::core::image_ref::{is_account_id, is_region_name, partition_for_region};

use super::checker::{Checker, Finder};
use super::{FindingCode, Severity};

impl Checker<'_> {
    pub(super) fn check_credential_arn(&self, arn: &str, f: &mut Finder) {
        let Some(parts) = parse_secret_arn(arn) else {
            f.push(
                Severity::Error,
                FindingCode::InvalidCredentialArn,
                Some("credentialArn"),
                format!(
                    "`{arn}` is not a Secrets Manager secret ARN: write `arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>`"
                ),
                None,
            );
            return;
        };
        if !is_region_name(self.region) {
            return;
        }
        let expected = partition_for_region(self.region).arn_partition();
        if parts.partition != expected {
            f.push(
                Severity::Error,
                FindingCode::CredentialPartition,
                Some("credentialArn"),
                format!(
                    "the secret is in partition `{}`, but runs in {} are in `{expected}` and cannot read it: use a secret in {}",
                    parts.partition, self.region, self.region
                ),
                None,
            );
        } else if parts.region != self.region {
            f.push(
                Severity::Warning,
                FindingCode::CredentialRegion,
                Some("credentialArn"),
                format!(
                    "the secret is in {}, the runs in {}; whether HealthOmics reads secrets across regions is not documented: prefer a secret in {}",
                    parts.region, self.region, self.region
                ),
                None,
            );
        }
    }
}

struct SecretArn<'a> {
    partition: &'a str,
    region: &'a str,
}

/// Matches `^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+`, the SecretArn shape
/// of the HealthOmics model, without a regex dependency.
fn parse_secret_arn(arn: &str) -> Option<SecretArn<'_>> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let suffix = partition.strip_prefix("aws")?;
    if !suffix.is_empty() {
        let mut parts = suffix.split('-');
        if parts.next() != Some("") {
            return None;
        }
        if !parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase())) {
            return None;
        }
    }
    let rest = rest.strip_prefix("secretsmanager:")?;
    let (region, rest) = rest.split_once(':')?;
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    let (account, rest) = rest.split_once(':')?;
    if !is_account_id(account) {
        return None;
    }
    let name = rest.strip_prefix("secret:")?;
    if name.is_empty() || name.contains(['\n', '\r']) {
        return None;
    }
    Some(SecretArn { partition, region })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::SECRET;

    #[test]
    fn secret_arn_grammar() {
        let good = [
            SECRET,
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a",
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x/y-AbC",
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x",
            "arn:aws-iso-b:secretsmanager:x:123456789012:secret:x",
        ];
        for arn in good {
            assert!(parse_secret_arn(arn).is_some(), "{arn}");
        }
        let bad = [
            "arn:aws-:secretsmanager:us-east-1:123456789012:secret:x",
            "arn:aws-US:secretsmanager:us-east-1:123456789012:secret:x",
            "arn:aws:secretsmanager::123456789012:secret:x",
            "arn:aws:secretsmanager:US-EAST-1:123456789012:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:key:x",
            "arn:aws:secretsmanager:us-east-1:1234567890123:secret:x",
            "arn:aws:ssm:us-east-1:123456789012:secret:x",
            "aws:secretsmanager:us-east-1:123456789012:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:a\nb",
        ];
        for arn in bad {
            assert!(parse_secret_arn(arn).is_none(), "{arn}");
        }
    }
}
