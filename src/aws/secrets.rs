//! Secrets Manager: only metadata is ever read (DescribeSecret), never a secret value.

use super::ecr::timestamp;
use super::error::AwsCallError;

#[derive(Debug, Clone)]
pub struct SecretInfo {
    pub arn: String,
    pub name: String,
    pub deleted_date: Option<String>,
    pub kms_key_id: Option<String>,
}

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
