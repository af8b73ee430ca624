//! Where the two I/O layers meet: the ECR token that `aws` reads becomes the registry
//! [`Credentials`] of `oci`, with the region's registry host and where to send its traffic
//! (mirrors, or the `proxyEndpoint` ECR names when it differs from the host); and a source
//! registry's credentials. Neither `aws` nor `oci` imports the other; this module imports both.
//! Shared by the image tools.

use crate::aws::{AwsClients, AwsContext, AwsErrorKind, ecr, secrets};
use crate::core::image_ref::{ImageReference, ecr_registry_host};
use crate::core::image_rules::Platform;
use crate::error::{ErrorCode, ToolError};
use crate::oci::{
    CopyReport, CopyRequest, CopyTarget, Credentials, Mirrors, ProgressFn, RegistryClient,
};

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

impl EcrRegistry {
    /// Copies `source`'s `platform` image into `repository:tag` of this registry.
    pub async fn copy_into(
        &self,
        source: &ImageReference,
        source_auth: &Credentials,
        platform: &Platform,
        (repository, tag): (&str, &str),
        progress: Option<ProgressFn>,
    ) -> Result<CopyReport, ToolError> {
        let target = CopyTarget {
            base_url: self.base_url.clone(),
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            auth: self.credentials.clone(),
        };
        let request = CopyRequest {
            platform: platform.clone(),
            source_auth: source_auth.clone(),
            ..CopyRequest::new(source.clone(), target)
        };
        self.client
            .copy_image(&request, progress)
            .await
            .map_err(ToolError::from)
    }
}

/// Credentials for a source registry: the Secrets Manager secret `secret_arn` names, the
/// caller's ECR token for an ECR source (from that registry's region), or none. Secret values go
/// straight into the credential type, which never prints them.
pub async fn source_credentials(
    aws: &AwsContext,
    clients: &AwsClients,
    profile: Option<&str>,
    secret_arn: Option<&str>,
    source: &ImageReference,
) -> Result<Credentials, ToolError> {
    if let Some(arn) = secret_arn.map(str::trim).filter(|a| !a.is_empty()) {
        let value = secrets::secret_string(&clients.secrets, arn)
            .await
            .map_err(|e| match e.kind {
                AwsErrorKind::NotFound => ToolError::new(
                    ErrorCode::NotFound,
                    format!("The secret `{arn}` does not exist."),
                    "Check source_credential_arn.",
                ),
                _ => e.into_tool_error(Some(arn)),
            })?;
        return Credentials::from_secret_json(&value).map_err(|e| {
            ToolError::invalid_input(
                format!("The secret `{arn}` is not usable as registry credentials: {e}"),
                "Store JSON like {\"username\": \"…\", \"accessToken\": \"…\"}.",
            )
        });
    }
    let Some(host) = source.ecr_host() else {
        return Ok(Credentials::Anonymous);
    };
    let source_clients = aws.clients(profile, Some(&host.region)).await?;
    let (_, token) = ecr::authorization_token(&source_clients.ecr)
        .await
        .map_err(|e| e.into_tool_error(Some(&source.registry)))?;
    Credentials::from_ecr_authorization_token(&token).map_err(|e| {
        ToolError::new(
            ErrorCode::AwsError,
            format!("ECR returned an unusable token: {e}"),
            "Retry.",
        )
    })
}
