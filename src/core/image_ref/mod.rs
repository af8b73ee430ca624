//! Container image references: the distribution `reference` grammar, Docker Hub normalisation,
//! private ECR hosts and URIs, and pull-through-cache repository naming. Applying a HealthOmics
//! registry map to a reference is `core::registry_map`'s job.
//!
//! Every tool parses references through this one module so that a name means the same thing
//! everywhere, and so that the rules are testable without AWS. Nothing here does I/O.
//!
//! - `reference`: [`ImageReference`], its parsing and Docker Hub normalisation.
//! - `grammar`: registry hosts, path components and tags, as references and ECR names spell them.
//! - `digest`: [`Digest`].
//! - `ecr`: AWS partitions, private ECR hosts ([`EcrRegistryHost`]), account and region shapes,
//!   image URIs.
//! - `ptc_naming`: ECR repository names, pull-through cache prefixes and the repository a cache
//!   rule gives an upstream image.
//! - `error`: [`ImageRefError`], shared by all of them.

mod digest;
mod ecr;
mod error;
mod grammar;
mod ptc_naming;
mod reference;
#[cfg(test)]
mod test_support;

pub use digest::Digest;
pub use ecr::{
    EcrRegistryHost, Partition, ecr_image_uri, ecr_registry_host, is_account_id, is_region_name,
    partition_for_region,
};
pub use error::ImageRefError;
pub use grammar::validate_tag;
pub use ptc_naming::{
    ROOT_PREFIX, ptc_repository_name, upstream_from_ptc_repository, validate_ecr_repository_name,
    validate_ptc_prefix,
};
pub use reference::{
    DEFAULT_TAG, DOCKER_HUB_ALIASES, DOCKER_HUB_REGISTRY, DOCKER_OFFICIAL_NAMESPACE,
    ImageReference, NAME_TOTAL_LENGTH_MAX,
};
