//! Private ECR: AWS partitions, registry hosts, account and region shapes, and image URIs.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// AWS partition, which decides the DNS suffix of ECR hosts and the first field of ARNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
}

impl Partition {
    /// `amazonaws.com`, or `amazonaws.com.cn` in China.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
        }
    }

    /// `aws`, `aws-cn` or `aws-us-gov`, as in `arn:<partition>:ecr:…`.
    pub fn arn_partition(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }
}

/// The partition a region belongs to, so URIs and ARNs are right outside the commercial regions.
/// Regions of other partitions (ISO) are not served by HealthOmics and fall back to `aws`.
pub fn partition_for_region(region: &str) -> Partition {
    if region.starts_with("cn-") {
        Partition::AwsCn
    } else if region.starts_with("us-gov-") {
        Partition::AwsUsGov
    } else {
        Partition::Aws
    }
}

/// A private ECR registry host: `<account>.dkr.ecr[-fips].<region>.<dns suffix>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct EcrRegistryHost {
    /// The 12-digit account that owns the registry.
    pub account_id: String,
    /// Region of the registry, e.g. `us-east-1`.
    pub region: String,
    /// `amazonaws.com` or `amazonaws.com.cn`.
    pub dns_suffix: String,
    /// True for the FIPS endpoint `dkr.ecr-fips`.
    pub fips: bool,
}

impl EcrRegistryHost {
    /// Recognises a private ECR host (case-insensitively, as DNS is). `None` for anything else,
    /// including a host with a port or a suffix that does not fit the region's partition.
    pub fn parse(host: &str) -> Option<Self> {
        let host = host.trim().to_ascii_lowercase();
        let (account_id, rest) = host.split_once('.')?;
        if !is_account_id(account_id) {
            return None;
        }
        let rest = rest.strip_prefix("dkr.")?;
        let (service, rest) = rest.split_once('.')?;
        let fips = match service {
            "ecr" => false,
            "ecr-fips" => true,
            _ => return None,
        };
        let (region, dns_suffix) = rest.split_once('.')?;
        if !is_region_name(region) || dns_suffix != partition_for_region(region).dns_suffix() {
            return None;
        }
        Some(Self {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            dns_suffix: dns_suffix.to_owned(),
            fips,
        })
    }

    /// The partition of this registry's region.
    pub fn partition(&self) -> Partition {
        partition_for_region(&self.region)
    }
}

impl fmt::Display for EcrRegistryHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = if self.fips { "ecr-fips" } else { "ecr" };
        write!(
            f,
            "{}.dkr.{service}.{}.{}",
            self.account_id, self.region, self.dns_suffix
        )
    }
}

/// True for exactly 12 ASCII digits, the shape of an AWS account ID.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// True for region-shaped names (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`): lowercase words
/// joined by `-`, ending in a number. Unknown regions pass, so new ones need no code change.
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((last, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// The private ECR host of an account and region, with the partition's DNS suffix.
pub fn ecr_registry_host(account_id: &str, region: &str) -> String {
    format!(
        "{account_id}.dkr.ecr.{region}.{}",
        partition_for_region(region).dns_suffix()
    )
}

/// A private ECR image URI. With both a tag and a digest both are kept (the digest decides the
/// pull; the tag stays readable), like the pinned form the HealthOmics docs recommend.
pub fn ecr_image_uri(
    account_id: &str,
    region: &str,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> String {
    let mut uri = format!("{}/{repository}", ecr_registry_host(account_id, region));
    if let Some(t) = tag {
        uri.push(':');
        uri.push_str(t);
    }
    if let Some(d) = digest {
        uri.push('@');
        uri.push_str(d);
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image_ref::test_support::{SHA, p};
    use proptest::prelude::*;

    #[test]
    fn ecr_hosts() {
        let rows = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com",
                "123456789012",
                "us-east-1",
                "amazonaws.com",
                false,
                Partition::Aws,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "123456789012",
                "cn-north-1",
                "amazonaws.com.cn",
                false,
                Partition::AwsCn,
            ),
            (
                "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
                "123456789012",
                "cn-northwest-1",
                "amazonaws.com.cn",
                false,
                Partition::AwsCn,
            ),
            (
                "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
                "123456789012",
                "us-gov-west-1",
                "amazonaws.com",
                false,
                Partition::AwsUsGov,
            ),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
                "123456789012",
                "us-east-1",
                "amazonaws.com",
                true,
                Partition::Aws,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                "123456789012",
                "us-gov-east-1",
                "amazonaws.com",
                true,
                Partition::AwsUsGov,
            ),
            (
                "123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM",
                "123456789012",
                "eu-west-1",
                "amazonaws.com",
                false,
                Partition::Aws,
            ),
        ];
        for (host, account, region, suffix, fips, partition) in rows {
            let h = EcrRegistryHost::parse(host).unwrap_or_else(|| panic!("{host}"));
            assert_eq!(
                (
                    h.account_id.as_str(),
                    h.region.as_str(),
                    h.dns_suffix.as_str(),
                    h.fips
                ),
                (account, region, suffix, fips),
                "{host}"
            );
            assert_eq!(h.partition(), partition);
            assert_eq!(h.to_string(), host.to_ascii_lowercase());
        }
        for host in [
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "123456789012.dkr.ecr.useast1.amazonaws.com",
            "123456789012.dkr.ecr.us-east.amazonaws.com",
            "123456789012.dkr.ecr-public.us-east-1.amazonaws.com",
            "123456789012.ecr.us-east-1.amazonaws.com",
            "public.ecr.aws",
            "quay.io",
            "",
        ] {
            assert_eq!(EcrRegistryHost::parse(host), None, "{host}");
        }
    }

    #[test]
    fn partitions_and_uris() {
        assert_eq!(partition_for_region("us-east-1"), Partition::Aws);
        assert_eq!(partition_for_region("eu-central-2"), Partition::Aws);
        assert_eq!(partition_for_region("cn-north-1"), Partition::AwsCn);
        assert_eq!(partition_for_region("us-gov-west-1"), Partition::AwsUsGov);
        assert_eq!(Partition::Aws.arn_partition(), "aws");
        assert_eq!(Partition::AwsCn.arn_partition(), "aws-cn");
        assert_eq!(Partition::AwsUsGov.arn_partition(), "aws-us-gov");
        assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
        assert_eq!(Partition::AwsUsGov.dns_suffix(), "amazonaws.com");
        assert_eq!(
            serde_json::to_string(&Partition::AwsUsGov).ok().as_deref(),
            Some("\"aws-us-gov\"")
        );

        assert_eq!(
            ecr_registry_host("123456789012", "us-east-1"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(
            ecr_registry_host("123456789012", "cn-north-1"),
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            ecr_registry_host("123456789012", "us-gov-west-1"),
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            ecr_image_uri(
                "123456789012",
                "us-west-2",
                "docker-hub/library/ubuntu",
                Some("22.04"),
                None
            ),
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/ubuntu:22.04"
        );
        assert_eq!(
            ecr_image_uri("123456789012", "cn-north-1", "quay/x", None, Some(SHA)),
            format!("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/quay/x@{SHA}")
        );
        assert_eq!(
            ecr_image_uri("123456789012", "us-east-1", "r", Some("1"), Some(SHA)),
            format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1@{SHA}")
        );
        assert_eq!(
            ecr_image_uri("123456789012", "us-east-1", "r", None, None),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/r"
        );
        let uri = ecr_image_uri("123456789012", "us-gov-west-1", "a/b", Some("t"), None);
        assert_eq!(
            p(&uri).ecr_host().map(|h| h.region),
            Some("us-gov-west-1".to_owned())
        );
        assert!(is_region_name("ap-southeast-5") && is_region_name("us-gov-east-1"));
        assert!(
            !is_region_name("us-east") && !is_region_name("US-EAST-1") && !is_region_name("us--1")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn ecr_host_round_trip(account in "[0-9]{12}", region in "(us|eu|ap|cn|us-gov|me)-(east|west|north|south|central)-[1-9]") {
            let host = ecr_registry_host(&account, &region);
            let parsed = EcrRegistryHost::parse(&host);
            prop_assert_eq!(parsed.as_ref().map(|h| h.to_string()), Some(host));
            prop_assert_eq!(parsed.map(|h| h.partition()), Some(partition_for_region(&region)));
        }

    }
}
