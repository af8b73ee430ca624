//! Connects the registry client to a region's private ECR: the push/pull token from
//! GetAuthorizationToken, the registry host, and where to send traffic (mirrors, or the
//! `proxyEndpoint` ECR names when it differs from the host). Shared by the image tools.

use crate::aws::{AwsClients, ecr};
use crate::core::image_ref::ecr_registry_host;
use crate::error::{ErrorCode, ToolError};
use crate::oci::{Credentials, Mirrors, OciError, RegistryClient};

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
                routed.insert(&host, &base).map_err(oci_error)?;
            }
            base
        }
    };
    let client = RegistryClient::new(routed).map_err(oci_error)?;
    Ok(EcrRegistry {
        host,
        base_url,
        credentials,
        client,
    })
}

/// Registry failures as tool errors, with the fix for each kind.
pub fn oci_error(err: OciError) -> ToolError {
    // The wording lives with the error in `oci`; only the code is decided here.
    let code = match &err {
        OciError::NotFound { .. } => ErrorCode::NotFound,
        OciError::Unauthorized { .. } | OciError::Denied { .. } => ErrorCode::AccessDenied,
        OciError::RateLimited { .. } => ErrorCode::Throttled,
        OciError::PlatformNotFound { .. }
        | OciError::UnsupportedMediaType { .. }
        | OciError::InvalidInput(_) => ErrorCode::InvalidInput,
        OciError::DigestMismatch { .. } => ErrorCode::VerificationFailed,
        OciError::Network { .. } => ErrorCode::AwsUnreachable,
        OciError::Registry { .. } | OciError::Protocol { .. } => ErrorCode::AwsError,
    };
    ToolError::new(code, err.to_string(), err.remediation())
}
