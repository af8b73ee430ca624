//! Reads an image from a registry and turns it into the plain data the plans judge: Clone's
//! source image ([`SourceImage`]) and what its tag points at now ([`UpstreamHead`]), and Check's
//! image in ECR with HealthOmics' container rules checked ([`ImageReading`]). The registry calls
//! are [`crate::oci`]'s; the plans in [`crate::core::plan`] never see an `oci` type.

use crate::aws::AwsClients;
use crate::core::image_ref::ImageReference;
use crate::core::image_rules::{self, Platform};
use crate::core::plan::check::{ImageReading, PlatformInfo, target};
use crate::core::plan::clone::{SourceImage, UpstreamHead};
use crate::error::ToolError;
use crate::oci::{Credentials, ImageInspection, Mirrors, RegistryClient};
use crate::registry_access::{self, EcrRegistry};

/// Layers whose paths are read with inspect_layers, and entries per layer: enough for any real
/// image's /tmp check without letting a pathological layer run forever.
const LAYER_PATH_LIMIT: usize = 200_000;

/// The source's image for `platform`, as the copy plan decides on it.
pub async fn source_image(
    client: &RegistryClient,
    source: &ImageReference,
    auth: &Credentials,
    platform: &Platform,
) -> Result<SourceImage, ToolError> {
    let inspection = client
        .inspect_platform(source, auth, platform)
        .await
        .map_err(ToolError::from)?;
    let image = &inspection.image;
    Ok(SourceImage {
        digest: inspection.digest.to_string(),
        image_digest: image.digest.to_string(),
        platform_found: inspection.platform_found,
        index_platforms: inspection
            .platforms
            .iter()
            .filter_map(|e| e.platform.clone())
            .collect(),
        platform: image.platform.clone(),
        layers: image.layers.len(),
        compressed_size: image.compressed_size,
        config: image.config.clone(),
        summary: inspection.manifest_summary(None),
    })
}

/// What the source's tag points at now (HEAD on the source), to compare a cached image with;
/// a registry that cannot be asked gives [`UpstreamHead::Unknown`] and why, never an error.
pub async fn upstream_head(
    mirrors: &Mirrors,
    source: &ImageReference,
    credentials: &Credentials,
) -> UpstreamHead {
    let client = match RegistryClient::new(mirrors.clone()) {
        Ok(client) => client,
        Err(err) => return UpstreamHead::Unknown(err.to_string()),
    };
    match client.manifest_head(source, credentials).await {
        Ok(Some(head)) => UpstreamHead::Digest(head.digest.to_string()),
        Ok(None) => UpstreamHead::Gone,
        Err(err) => UpstreamHead::Unknown(err.to_string()),
    }
}

/// Reads `repository@digest` from the account's ECR registry endpoint: its manifest and config
/// (and with `layers` every layer's file list), with HealthOmics' container rules checked.
/// `Err` says why the image could not be read, in the words the check reports.
pub async fn ecr_image(
    clients: &AwsClients,
    mirrors: &Mirrors,
    account: &str,
    (repository, digest): (&str, &str),
    layers: bool,
) -> Result<ImageReading, String> {
    let read = async {
        let registry = registry_access::ecr_registry(clients, account, mirrors).await?;
        let image = format!("{}/{repository}@{digest}", registry.host);
        let reference = target::parse_reference(&image).map_err(ToolError::from)?;
        let inspection = registry
            .client
            .inspect(&reference, &registry.credentials)
            .await
            .map_err(ToolError::from)?;
        let (mut paths, mut uncompressed) = (None, None);
        if layers && inspection.platform_found {
            let (all, total) = layer_paths(&registry, &reference, &inspection).await?;
            (paths, uncompressed) = (Some(all), Some(total));
        }
        let summary = inspection.manifest_summary(uncompressed);
        let config = &inspection.image.config;
        Ok::<_, ToolError>(ImageReading {
            platforms: inspection
                .platforms
                .iter()
                .filter_map(|e| {
                    let platform = e.platform.as_ref()?.to_string();
                    let digest = e.digest.to_string();
                    Some(PlatformInfo { platform, digest })
                })
                .collect(),
            findings: image_rules::check_image(config, &summary, paths.as_deref()),
        })
    };
    read.await
        .map_err(|err| format!("{}: {}", err.message, err.remediation))
}

/// Every path in the image's layers and their total uncompressed size: what the /tmp rule and
/// the size rule need beyond the manifest.
async fn layer_paths(
    registry: &EcrRegistry,
    reference: &ImageReference,
    inspection: &ImageInspection,
) -> Result<(Vec<String>, u64), ToolError> {
    let (mut all, mut total) = (Vec::new(), 0u64);
    for layer in &inspection.image.layers {
        let listing = registry
            .client
            .layer_paths(reference, layer, &registry.credentials, LAYER_PATH_LIMIT)
            .await
            .map_err(ToolError::from)?;
        total += listing.uncompressed_size.unwrap_or(0);
        all.extend(listing.paths);
    }
    Ok((all, total))
}
