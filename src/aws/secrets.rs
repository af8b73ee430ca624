//! Secrets Manager: only metadata is ever read (DescribeSecret), never a secret value.

use super::ecr::timestamp;
use super::error::AwsCallError;
use crate::core::account::SecretInfo;

pub async fn describe_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<SecretInfo, AwsCallError> {
    let out = secrets
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("secretsmanager:DescribeSecret", e))?;
    Ok(SecretInfo {
        arn: out.arn().unwrap_or(secret_id).to_owned(),
        name: out.name().unwrap_or_default().to_owned(),
        deleted_date: timestamp(out.deleted_date()),
        kms_key_id: out.kms_key_id().map(str::to_owned),
    })
}

/// Stores registry credentials in the JSON shape ECR pull-through cache reads. The token is
/// moved in and dropped here; it is never logged or returned.
pub async fn create_registry_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    name: &str,
    description: &str,
    username: &str,
    access_token: &str,
) -> Result<String, AwsCallError> {
    let value =
        serde_json::json!({ "username": username, "accessToken": access_token }).to_string();
    let out = secrets
        .create_secret()
        .name(name)
        .description(description)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("secretsmanager:CreateSecret", e))?;
    Ok(out.arn().unwrap_or(name).to_owned())
}

/// The secret's value, for registry credentials the server itself must use (a clone's source).
/// It is handed straight to the registry client's credential type and never logged or returned.
pub async fn secret_string(
    secrets: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<String, AwsCallError> {
    let out = secrets
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("secretsmanager:GetSecretValue", e))?;
    out.secret_string()
        .map(str::to_owned)
        .ok_or_else(|| AwsCallError {
            action: "secretsmanager:GetSecretValue",
            code: None,
            message: "the secret has no string value (binary secrets are not supported)".into(),
            kind: super::AwsErrorKind::InvalidParameter,
        })
}

/// Every secret whose name starts with `name_prefix` (metadata only, all pages): the secrets a
/// pull-through cache may use all live under `ecr-pullthroughcache/`.
pub async fn list_secrets_named(
    secrets: &aws_sdk_secretsmanager::Client,
    name_prefix: &str,
) -> Result<Vec<SecretInfo>, AwsCallError> {
    use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
    let filter = Filter::builder()
        .key(FilterNameStringType::Name)
        .values(name_prefix)
        .build();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = secrets
            .list_secrets()
            .filters(filter.clone())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("secretsmanager:ListSecrets", e))?;
        for s in out.secret_list() {
            let name = s.name().unwrap_or_default();
            // The name filter also matches words inside a name: keep true prefixes only.
            if !name.starts_with(name_prefix) {
                continue;
            }
            found.push(SecretInfo {
                arn: s.arn().unwrap_or_default().to_owned(),
                name: name.to_owned(),
                deleted_date: timestamp(s.deleted_date()),
                kms_key_id: s.kms_key_id().map(str::to_owned),
            });
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(found)
}
