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
    let (code, remediation) = match &err {
        OciError::NotFound { .. } => (
            ErrorCode::NotFound,
            "Check the image name, tag or digest on the registry.",
        ),
        OciError::Unauthorized { .. } => (
            ErrorCode::AccessDenied,
            "Give credentials the registry accepts (source_credential_arn: a Secrets Manager secret with username and accessToken).",
        ),
        OciError::Denied { .. } => (
            ErrorCode::AccessDenied,
            "The credentials lack permission for this repository; use ones that have it.",
        ),
        OciError::RateLimited { .. } => (
            ErrorCode::Throttled,
            "The registry rate-limits anonymous pulls; wait, or pass source_credential_arn.",
        ),
        OciError::PlatformNotFound { .. } => (
            ErrorCode::InvalidInput,
            "HealthOmics runs linux/amd64 images only: use an image built for amd64 (or a multi-arch one with an amd64 entry).",
        ),
        OciError::UnsupportedMediaType { .. } => (
            ErrorCode::InvalidInput,
            "Use an image in Docker v2 or OCI format.",
        ),
        OciError::DigestMismatch { .. } => (
            ErrorCode::VerificationFailed,
            "Retry; the content changed or was corrupted in transit.",
        ),
        OciError::Network { .. } | OciError::Registry { .. } | OciError::Protocol { .. } => (
            ErrorCode::AwsUnreachable,
            "Check network access to the registry (and --registry-mirror if you use one), then retry.",
        ),
        OciError::InvalidInput(_) => (
            ErrorCode::InvalidInput,
            "Correct the value named in the message.",
        ),
    };
    ToolError::new(code, err.to_string(), remediation)
}
