//! Coverage of a workflow's images by a registry map: the images and where they are used, the
//! report over the distinct images, and its summary.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::image_ref::ImageReference;
use crate::core::registries::AccessPath;

use super::fixes::PrefixPlanner;
use super::image_coverage::cover_one;
use super::{CacheMapping, ContainerRegistryMap, ImageCoverage, PlannedFix, Severity};

/// An image reference and where a workflow uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageUse {
    /// The image as written, e.g. `quay.io/biocontainers/samtools:1.17--h00cdaf9_0`.
    pub reference: String,
    /// File it was found in, relative to the scanned folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Where in the file, e.g. `runtime.docker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl From<&str> for ImageUse {
    fn from(reference: &str) -> Self {
        Self {
            reference: reference.to_owned(),
            file: None,
            line: None,
            context: None,
        }
    }
}

impl From<String> for ImageUse {
    fn from(reference: String) -> Self {
        Self {
            reference,
            file: None,
            line: None,
            context: None,
        }
    }
}

/// One place an image is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ImageLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// Counts over the distinct images.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CoverageSummary {
    pub total: usize,
    pub covered: usize,
    pub not_covered: usize,
    pub private_ecr: usize,
    pub pull_through_cache: usize,
    pub healthomics_copy: usize,
    pub unsupported: usize,
    /// References that do not parse.
    pub invalid: usize,
    /// Images with at least one warning.
    pub with_warnings: usize,
}

/// Coverage of a workflow's images by a registry map.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CoverageReport {
    pub images: Vec<ImageCoverage>,
    pub summary: CoverageSummary,
    /// Distinct fixes, each with the images it covers, in first-needed order.
    pub fixes: Vec<PlannedFix>,
    pub all_covered: bool,
}

impl CoverageReport {
    /// The report an assistant reads for a whole pipeline: per image the verdict, where it is
    /// used, the URI it becomes and its problem codes; `fixes` (each with its images) says
    /// what to do. With `detail` every row keeps its host, catalog name, the mapping that
    /// matched, its own fix and the problems' wording.
    pub fn sized(mut self, detail: bool) -> Self {
        if detail {
            return self;
        }
        for image in &mut self.images {
            if image.canonical.as_deref() == Some(image.image.as_str()) {
                image.canonical = None;
            }
            image.host = None;
            image.registry = None;
            image.matched = None;
            if image.covered {
                // Covered through a cache means the cache is usable.
                image.cache_usable = None;
            }
            if image
                .fix
                .as_ref()
                .is_some_and(|fix| self.fixes.iter().any(|planned| &planned.fix == fix))
            {
                image.fix = None;
            }
            for problem in &mut image.problems {
                problem.message.clear();
            }
            for place in &mut image.found_in {
                place.context = None;
            }
        }
        self
    }
}

/// Tells, for every distinct image, whether HealthOmics could run it under `map` in `region`
/// (using `account_id` for mappings without `ecrAccountId`), and what to do when not.
/// `usable_caches` (when discovery ran) decides whether a PTC mapping's prefix really has a cache.
pub fn coverage(
    images: &[ImageUse],
    map: &ContainerRegistryMap,
    account_id: &str,
    region: &str,
    usable_caches: Option<&[CacheMapping]>,
) -> CoverageReport {
    // Distinct images, keeping first-seen order and every location.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, (String, Vec<ImageLocation>)> = HashMap::new();
    for image in images {
        let key = ImageReference::parse(&image.reference)
            .map(|r| r.to_string())
            .unwrap_or_else(|_| image.reference.trim().to_owned());
        let location = ImageLocation {
            file: image.file.clone(),
            line: image.line,
            context: image.context.clone(),
        };
        // A reference given without a place (container_images, a workflow's images) has no
        // location to list: an empty `{}` row would only cost the reader.
        let known =
            location.file.is_some() || location.line.is_some() || location.context.is_some();
        match groups.get_mut(&key) {
            Some((_, locations)) => {
                if known && !locations.contains(&location) {
                    locations.push(location);
                }
            }
            None => {
                order.push(key.clone());
                let locations = if known { vec![location] } else { Vec::new() };
                groups.insert(key, (image.reference.trim().to_owned(), locations));
            }
        }
    }

    let mut planner = PrefixPlanner::new(map, usable_caches);
    let mut report = CoverageReport {
        images: Vec::with_capacity(order.len()),
        summary: CoverageSummary::default(),
        fixes: Vec::new(),
        all_covered: true,
    };
    for key in order {
        let Some((written, found_in)) = groups.remove(&key) else {
            continue;
        };
        let item = cover_one(
            written,
            found_in,
            map,
            account_id,
            region,
            usable_caches,
            &mut planner,
        );
        let s = &mut report.summary;
        s.total += 1;
        if item.covered {
            s.covered += 1;
        } else {
            s.not_covered += 1;
        }
        match item.class {
            Some(AccessPath::PrivateEcr) => s.private_ecr += 1,
            Some(AccessPath::PullThroughCache) => s.pull_through_cache += 1,
            Some(AccessPath::HealthOmicsCopy) => s.healthomics_copy += 1,
            Some(AccessPath::Unsupported) => s.unsupported += 1,
            None => s.invalid += 1,
        }
        if item
            .problems
            .iter()
            .any(|p| p.severity == Severity::Warning)
        {
            s.with_warnings += 1;
        }
        if let Some(fix) = &item.fix {
            let name = item.canonical.clone().unwrap_or_else(|| item.image.clone());
            match report.fixes.iter_mut().find(|p| p.fix == *fix) {
                Some(planned) => planned.images.push(name),
                None => report.fixes.push(PlannedFix {
                    fix: fix.clone(),
                    images: vec![name],
                }),
            }
        }
        report.images.push(item);
    }
    report.all_covered = report.summary.not_covered == 0;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::registry_map::test_support::*;
    use crate::core::registry_map::{BuiltMap, MapInputs};
    use proptest::prelude::*;

    #[test]
    fn coverage_dedupes_and_keeps_locations() {
        let at = |r: &str, file: &str, line: usize| ImageUse {
            reference: r.into(),
            file: Some(file.into()),
            line: Some(line),
            context: Some("runtime.docker".into()),
        };
        let images = vec![
            at("ubuntu", "a.wdl", 3),
            at("docker.io/library/ubuntu", "b.wdl", 9),
            at("ubuntu", "a.wdl", 3),
            at("ubuntu:latest", "c.wdl", 1),
            at("not an image", "c.wdl", 2),
            at("not an image", "d.wdl", 2),
        ];
        let map = ContainerRegistryMap {
            registry_mappings: vec![rm("registry-1.docker.io", "docker-hub")],
            image_mappings: vec![],
        };
        let r = coverage(&images, &map, ACCT, REGION, None);
        assert_eq!(r.images.len(), 3);
        assert_eq!(r.images[0].image, "ubuntu");
        let files: Vec<_> = r.images[0]
            .found_in
            .iter()
            .map(|l| (l.file.clone(), l.line))
            .collect();
        assert_eq!(
            files,
            vec![
                (Some("a.wdl".into()), Some(3)),
                (Some("b.wdl".into()), Some(9))
            ]
        );
        assert_eq!(
            r.images[1].canonical.as_deref(),
            Some("registry-1.docker.io/library/ubuntu:latest")
        );
        assert_eq!(r.images[2].found_in.len(), 2);
        assert_eq!(r.summary.invalid, 1);
        let empty = coverage(&[], &map, ACCT, REGION, None);
        assert!(empty.all_covered && empty.summary.total == 0);
        // An image given without a place lists no place (not `found_in: [{}]`).
        let bare = coverage(&[ImageUse::from("ubuntu:22.04")], &map, ACCT, REGION, None);
        assert!(bare.images[0].found_in.is_empty());
    }

    #[test]
    fn report_serialises_with_schema() {
        let r = coverage(
            &[ImageUse::from("ghcr.io/a/b:1")],
            &ContainerRegistryMap::default(),
            ACCT,
            REGION,
            None,
        );
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(v["images"][0]["class"], "pull_through_cache");
        assert_eq!(v["images"][0]["matched"]["matched"], "unmapped");
        assert_eq!(v["summary"]["not_covered"], 1);
        assert_eq!(v["all_covered"], false);
        for schema in [
            serde_json::to_string(&schemars::schema_for!(CoverageReport)),
            serde_json::to_string(&schemars::schema_for!(BuiltMap)),
            serde_json::to_string(&schemars::schema_for!(MapInputs)),
        ] {
            assert!(schema.is_ok_and(|s| s.len() > 100));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn coverage_never_panics_and_counts_add_up(images in prop::collection::vec("[a-zA-Z0-9./:@_-]{0,40}", 0..8), m in prop::collection::vec(mapping(), 0..4)) {
            let uses: Vec<ImageUse> = images.into_iter().map(ImageUse::from).collect();
            let map = ContainerRegistryMap { registry_mappings: m, image_mappings: vec![] };
            let r = coverage(&uses, &map, ACCT, REGION, None);
            let s = &r.summary;
            prop_assert_eq!(s.covered + s.not_covered, s.total);
            prop_assert_eq!(s.private_ecr + s.pull_through_cache + s.healthomics_copy + s.unsupported + s.invalid, s.total);
            prop_assert_eq!(r.all_covered, s.not_covered == 0);
        }
    }
}
