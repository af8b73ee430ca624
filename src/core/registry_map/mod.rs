//! HealthOmics container registry maps: the map types and applying a map to an image, building
//! one from discovered pull-through caches and user mappings, checking one against the API limits
//! and the PTC / copy / unsupported rules, and telling which images of a workflow a map covers and
//! what to do about the rest.
//!
//! The Python server only concatenated dictionaries; HealthOmics then failed at run time. Here
//! every limit the API enforces, and every rule it applies silently (exact host match, copy hosts
//! need `credentialArn`, PTC hosts ignore it), is checked before the map leaves the server.
//! Nothing here does I/O.
//!
//! - `map`: the map in the API's shape, rewrite results, discovered caches, host comparison.
//! - `apply`: [`apply_registry_map`], what HealthOmics does with one image under a map.
//! - `build`: [`build_map`] and the map's JSON text.
//! - `check`: [`check_map`] and [`check_map_json`].
//! - `checker`, `registry_mapping_rules`, `credential_arn`, `image_mapping_rules`: the rules both
//!   of them apply, with the API's limits.
//! - `findings`: [`FindingCode`], [`MapFinding`], [`MapError`].
//! - `coverage`, `image_coverage`: [`coverage`] of a workflow's images, image by image.
//! - `fixes`: the [`Fix`] for an uncovered image.

mod apply;
mod build;
mod check;
mod checker;
mod coverage;
mod credential_arn;
mod findings;
mod fixes;
mod image_coverage;
mod image_mapping_rules;
mod map;
mod registry_mapping_rules;
#[cfg(test)]
mod test_support;

pub use apply::apply_registry_map;
pub use build::{BuiltMap, MapInputs, ReplacedMapping, build_map, to_pretty_json};
pub use check::{MapContext, check_map, check_map_json};
pub use checker::{
    CREDENTIAL_ARN_MAX, CREDENTIAL_ARN_MIN, ECR_REPOSITORY_PREFIX_MAX, IMAGE_URI_MAX,
    UPSTREAM_REGISTRY_URL_MAX, UPSTREAM_REPOSITORY_PREFIX_MAX, UPSTREAM_REPOSITORY_PREFIX_MIN,
};
pub use coverage::{CoverageReport, CoverageSummary, ImageLocation, ImageUse, coverage};
pub use findings::{FindingCode, MapError, MapFinding, Severity};
pub use fixes::{
    Fix, MapEdit, PlannedFix, RegistrySecret, SECRET_ARN_PLACEHOLDER, fix_for_upstream,
    order_fixes, secret_for_host, with_known_secret,
};
pub use image_coverage::{CoverageCode, CoverageProblem, ImageCoverage};
pub use map::{
    CacheMapping, ContainerRegistryMap, ImageMapping, MappingKind, MappingNote, MappingNoteReason,
    RegistryMapping, RewriteOutcome, RewriteResult, normalise_host,
};
