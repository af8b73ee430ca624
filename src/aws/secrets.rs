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
