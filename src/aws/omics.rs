//! HealthOmics: reading a workflow's container registry map.

use aws_sdk_omics::types as omics;

use super::error::AwsCallError;
use crate::core::registry_map::{ContainerRegistryMap, ImageMapping, RegistryMapping};

#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: String,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub engine: Option<String>,
    /// `None` when the workflow has no map.
    pub container_registry_map: Option<ContainerRegistryMap>,
    /// A short-lived URL of the definition bundle, when it was asked for.
    pub definition_url: Option<String>,
}

/// Largest definition bundle downloaded: real workflow bundles are far smaller.
const DEFINITION_MAX_BYTES: usize = 64 * 1024 * 1024;

/// GetWorkflow; the resolved map HealthOmics stored (also when it was given by S3 URI), and
/// with `export_definition` a URL to download the definition bundle.
pub async fn workflow(
    client: &aws_sdk_omics::Client,
    id: &str,
    export_definition: bool,
) -> Result<Workflow, AwsCallError> {
    let request = client.get_workflow().id(id);
    let request = if export_definition {
        request.export(omics::WorkflowExport::Definition)
    } else {
        request
    };
    let out = request
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("omics:GetWorkflow", e))?;
    Ok(Workflow {
        id: out.id().unwrap_or(id).to_owned(),
        arn: out.arn().map(str::to_owned),
        name: out.name().map(str::to_owned),
        engine: out.engine().map(|e| e.as_str().to_owned()),
        container_registry_map: out.container_registry_map().map(map_from),
        definition_url: out
            .definition()
            .filter(|d| d.starts_with("https://") || d.starts_with("http://"))
            .map(str::to_owned),
    })
}

fn map_from(map: &omics::ContainerRegistryMap) -> ContainerRegistryMap {
    ContainerRegistryMap {
        registry_mappings: map
            .registry_mappings()
            .iter()
            .map(|m| RegistryMapping {
                upstream_registry_url: m.upstream_registry_url().unwrap_or_default().to_owned(),
                ecr_repository_prefix: m.ecr_repository_prefix().unwrap_or_default().to_owned(),
                upstream_repository_prefix: m.upstream_repository_prefix().map(str::to_owned),
                ecr_account_id: m.ecr_account_id().map(str::to_owned),
                credential_arn: m.credential_arn().map(str::to_owned),
            })
            .collect(),
        image_mappings: map
            .image_mappings()
            .iter()
            .map(|m| ImageMapping {
                source_image: m.source_image().unwrap_or_default().to_owned(),
                destination_image: m.destination_image().unwrap_or_default().to_owned(),
            })
            .collect(),
    }
}

/// Downloads an exported definition bundle (a presigned URL; no AWS signature needed).
pub async fn download_definition(url: &str) -> Result<Vec<u8>, AwsCallError> {
    let failed = |message: String| AwsCallError {
        action: "omics:GetWorkflow",
        code: None,
        message,
        kind: super::AwsErrorKind::Unreachable,
    };
    let mut response = reqwest::get(url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| {
            failed(format!(
                "downloading the workflow definition failed: {}",
                e.without_url()
            ))
        })?;
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        failed(format!(
            "downloading the workflow definition failed: {}",
            e.without_url()
        ))
    })? {
        if bytes.len() + chunk.len() > DEFINITION_MAX_BYTES {
            return Err(failed(format!(
                "the workflow definition is larger than {DEFINITION_MAX_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
