//! Runs CloneContainerToECR's steps against ECR and the registries, one at a time in the order
//! [`crate::core::plan::clone`] lists them, and reads the result back. What each step is, and
//! the wording of every outcome, are the plan's; this module only does them and keeps what one
//! step gives the next (the image a pull returned, the digest a copy ended with).

use serde_json::json;

use crate::aws::{AwsClients, AwsErrorKind, ecr};
use crate::core::account::{BatchImage, ImageSelector};
use crate::core::image_ref::ImageReference;
use crate::core::plan::clone::{
    self, CloneOutput, ClonePlan, CloneRequest, PullFailure, Step, UpstreamHead,
};
use crate::core::plan::grant::GrantRequest;
use crate::core::tool_names;
use crate::error::{ErrorCode, ToolError};
use crate::oci::{Credentials, ProgressFn};
use crate::registry_access::EcrRegistry;
use crate::repository_grant::{self, GrantCall};
use crate::write_locks::WriteLocks;

/// What a registry copy needs: the account's registry, the source's credentials, and where
/// its progress goes (when the client asked for it).
pub struct Copier {
    pub registry: EcrRegistry,
    pub source_auth: Credentials,
    pub progress: Option<ProgressFn>,
}

/// The image a pull through the cache gave, kept for the tag step and the read-back.
struct Pulled {
    digest: String,
    media_type: Option<String>,
    manifest: String,
}

/// What the steps need and what they produced.
pub struct Run<'a> {
    clients: &'a AwsClients,
    request: &'a CloneRequest,
    write_locks: &'a WriteLocks,
    /// For a registry copy only.
    copier: Option<Copier>,
    pulled: Option<Pulled>,
    /// The digest a registry copy ended with.
    copied: Option<String>,
}

impl<'a> Run<'a> {
    pub fn new(
        clients: &'a AwsClients,
        request: &'a CloneRequest,
        write_locks: &'a WriteLocks,
        copier: Option<Copier>,
    ) -> Self {
        Self {
            clients,
            request,
            write_locks,
            copier,
            pulled: None,
            copied: None,
        }
    }

    /// Does one step and records in `output` what it changed.
    pub async fn step(&mut self, step: &Step, output: &mut CloneOutput) -> Result<(), ToolError> {
        let (ecr_client, source) = (&self.clients.ecr, &self.request.source);
        match step {
            Step::CreateRepository { repository } => {
                match ecr::create_repository(ecr_client, repository).await {
                    Ok(_) => output.repository_created = true,
                    // A concurrent clone (or a person) created it since we looked: use it.
                    Err(e) if e.kind == AwsErrorKind::Conflict => {
                        output.notes.push(clone::reused_repository_note(repository))
                    }
                    Err(e) => return Err(e.into_tool_error(Some(repository))),
                }
            }
            Step::PullThroughCache {
                prefix,
                repository,
                selector,
                creates_repository,
            } => {
                let image = ecr::batch_get_image(ecr_client, repository, selector)
                    .await
                    .map_err(|e| e.into_tool_error(Some(repository)))?;
                self.pulled = Some(match image {
                    BatchImage::Found {
                        digest,
                        media_type,
                        manifest,
                    } => Pulled {
                        digest,
                        media_type,
                        manifest,
                    },
                    BatchImage::Failed { code, reason } => {
                        let (prefix, image) = (prefix.clone(), source.to_string());
                        return Err(PullFailure {
                            prefix,
                            image,
                            code,
                            reason,
                        }
                        .into());
                    }
                });
                output.repository_created = *creates_repository;
            }
            Step::TagImage { repository, tag } => {
                let pulled = self
                    .pulled
                    .as_ref()
                    .ok_or_else(|| out_of_order(step, source))?;
                let media_type = pulled.media_type.as_deref();
                ecr::tag_image(ecr_client, repository, &pulled.manifest, media_type, tag)
                    .await
                    .map_err(|e| e.into_tool_error(Some(repository)))?;
            }
            Step::GrantAccess { repository } => self.grant(repository, output).await?,
            Step::CopyNative {
                repository, tag, ..
            } => {
                let copier = self
                    .copier
                    .as_ref()
                    .ok_or_else(|| out_of_order(step, source))?;
                let (platform, into) =
                    (&self.request.platform, (repository.as_str(), tag.as_str()));
                let report = copier
                    .registry
                    .copy_into(
                        source,
                        &copier.source_auth,
                        platform,
                        into,
                        copier.progress.clone(),
                    )
                    .await?;
                output.bytes_transferred = report.bytes_transferred;
                output.blobs_copied = report.blobs_copied;
                // A mounted blob was already in the registry and moved no bytes: for the
                // caller it is one the copy did not have to send.
                output.blobs_skipped = report.blobs_skipped + report.blobs_mounted;
                self.copied = Some(report.manifest_digest.to_string());
            }
        }
        Ok(())
    }

    /// Grants HealthOmics pull access the one way Grant does, saying what the clone had already
    /// changed if the client cancels before the write.
    async fn grant(&self, repository: &str, output: &mut CloneOutput) -> Result<(), ToolError> {
        let request = GrantRequest {
            partition: self.clients.arn_partition().to_owned(),
            ..GrantRequest::default()
        };
        let done = output.side_effects();
        let call = GrantCall {
            repository,
            request: &request,
            dry_run: false,
            tool: tool_names::CLONE,
            done: &done,
        };
        let granted = repository_grant::grant(self.clients, self.write_locks, call).await?;
        output.healthomics_accessible = granted.healthomics_accessible();
        output.policy_changed |= granted.wrote();
        Ok(())
    }

    /// The digest ECR holds and whether it is the source's: a copy's tag must hold the copied
    /// digest (else the call fails); a cached image is compared with `upstream`, what the
    /// upstream's tag points at now, which is awaited (and so read) only for a pulled image
    /// whose source names no digest.
    pub async fn read_back(
        &self,
        plan: &mut ClonePlan,
        upstream: impl Future<Output = UpstreamHead>,
    ) -> Result<(String, bool), ToolError> {
        let source = &self.request.source;
        if let Some(pulled) = &self.pulled {
            let upstream = match &source.digest {
                Some(pinned) => UpstreamHead::Digest(pinned.to_string()),
                None => upstream.await,
            };
            let (same, note) = clone::compare_with_upstream(&pulled.digest, &upstream);
            plan.output.notes.extend(note);
            return Ok((pulled.digest.clone(), same));
        }
        let repository = &plan.output.target_repository_name;
        let tag = plan.uri_tag.clone().unwrap_or_default();
        let expected = self
            .copied
            .clone()
            .or_else(|| plan.expected_digest.clone())
            .unwrap_or_default();
        let stored = ecr::describe_image(
            &self.clients.ecr,
            repository,
            &ImageSelector::Tag(tag.clone()),
        )
        .await
        .map_err(|e| after_side_effects(e.into_tool_error(Some(repository)), &plan.output))?;
        if stored.is_none_or(|d| d.digest != expected) {
            return Err(ToolError::new(
                ErrorCode::VerificationFailed,
                format!("The copy finished, but ECR does not show `{repository}:{tag}` with digest {expected}."),
                "Check the repository with CheckContainerAvailability; retry the clone.",
            )
            .with_details(json!({ "completed": plan.output.side_effects() })));
        }
        Ok((expected, true))
    }
}

/// A step that needs what an earlier one gives came first: a bug in the plan.
fn out_of_order(step: &Step, source: &ImageReference) -> ToolError {
    let at = step.describe(source);
    let message = format!("The clone's plan is out of order at: {at}");
    ToolError::new(ErrorCode::Internal, message, "Report this bug.")
}

/// Adds to a failure what had already changed and that a retry resumes.
pub fn after_side_effects(mut err: ToolError, output: &CloneOutput) -> ToolError {
    let Some(note) = output.retry_note() else {
        return err;
    };
    if !err.message.ends_with('.') {
        err.message.push('.');
    }
    err.message.push_str(&note);
    let completed = json!(output.side_effects());
    err.details = Some(match err.details.take() {
        Some(serde_json::Value::Object(mut map)) => {
            map.insert("completed".into(), completed);
            serde_json::Value::Object(map)
        }
        _ => json!({ "completed": completed }),
    });
    err
}
