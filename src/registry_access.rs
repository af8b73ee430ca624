//! Where the two I/O layers meet: the ECR token that `aws` reads becomes the registry
//! [`Credentials`] of `oci`, with the region's registry host and where to send its traffic
//! (mirrors, or the `proxyEndpoint` ECR names when it differs from the host). Neither `aws` nor
//! `oci` imports the other; this module imports both. Shared by the image tools.

use crate::aws::{AwsClients, ecr};
use crate::core::image_ref::ecr_registry_host;
use crate::error::{ErrorCode, ToolError};
use crate::oci::{Credentials, Mirrors, RegistryClient};

/// A region's private registry, ready for registry calls.
pub struct EcrRegistry {
    /// `<account>.dkr.ecr.<region>.<dns suffix>`: the host image URIs name.
    pub host: String,
    /// Where requests go (the proxy endpoint, or a mirror).
    pub base_url: String,
    pub credentials: Credentials,
    /// A client whose mirrors also route `host` to `base_url`.
    pub client: RegistryClient,
}

/// The region's registry for `account`: the ECR token as credentials, the host, and a client
/// routed to where the registry answers.
pub async fn ecr_registry(
    clients: &AwsClients,
    account: &str,
    mirrors: &Mirrors,
) -> Result<EcrRegistry, ToolError> {
    let (endpoint, token) = ecr::authorization_token(&clients.ecr)
        .await
        .map_err(|e| e.into_tool_error(Some("the ECR registry")))?;
    let credentials = Credentials::from_ecr_authorization_token(&token).map_err(|e| {
        ToolError::new(
            ErrorCode::AwsError,
            format!("ECR returned an unusable authorization token: {e}"),
            "Retry; if it persists, report it.",
        )
    })?;
    let host = ecr_registry_host(account, &clients.region);
    let mut routed = mirrors.clone();
    let base_url = match mirrors.entries().find(|(h, _)| *h == host) {
        Some((_, endpoint)) => endpoint.base_url(),
        None => {
            let base = endpoint.trim_end_matches('/').to_owned();
            if base != format!("https://{host}") {
                routed.insert(&host, &base).map_err(ToolError::from)?;
            }
            base
        }
    };
    let client = RegistryClient::new(routed).map_err(ToolError::from)?;
    Ok(EcrRegistry {
        host,
        base_url,
        credentials,
        client,
    })
}
