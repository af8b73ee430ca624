//! HealthOmics: reading a workflow's container registry map.

use aws_sdk_omics::types as omics;

use super::error::AwsCallError;
use crate::core::image_ref::{ContainerRegistryMap, ImageMapping, RegistryMapping};

#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: String,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub engine: Option<String>,
    /// `None` when the workflow has no map.
    pub container_registry_map: Option<ContainerRegistryMap>,
}

/// GetWorkflow; the resolved map HealthOmics stored (also when it was given by S3 URI).
pub async fn workflow(client: &aws_sdk_omics::Client, id: &str) -> Result<Workflow, AwsCallError> {
    let out = client
        .get_workflow()
        .id(id)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("omics:GetWorkflow", e))?;
    Ok(Workflow {
        id: out.id().unwrap_or(id).to_owned(),
        arn: out.arn().map(str::to_owned),
        name: out.name().map(str::to_owned),
        engine: out.engine().map(|e| e.as_str().to_owned()),
        container_registry_map: out.container_registry_map().map(map_from),
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
