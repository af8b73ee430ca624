//! Registry-to-registry copy of one image (one platform), blob by blob, manifest last.
//!
//! The target side speaks HTTP through reqwest directly; see the `oci` module doc for why.
//! Order matters for safety: everything that can refuse (reference, platform, credentials)
//! is checked before the first write, and the manifest, the only thing that makes a tag
//! visible, is pushed after every blob is in place. An interrupted copy therefore leaves at most
//! untagged blobs, which the next attempt skips.
//!
//! Each blob goes up in one `PATCH` with its whole body, then an empty `PUT ?digest=`. That is
//! the one pattern ECR handles: it answers a `PATCH` with 201, keeps only the first `PATCH` of an
//! upload session (later bodies are dropped without an error, aws/containers-roadmap#2831) and
//! refuses parts under 5 MiB that are not the last. Every byte is hashed on its way out and the
//! registry checks the digest at the `PUT`, so a blob is never stored corrupted under its digest.
//!
//! Retries: requests without a body, and the manifest `PUT`, are retried on 429, 5xx and
//! connection errors ([`retry::REGISTRY`]). The `PATCH` body is a stream from the source and the
//! `PUT` that commits it closes the session, so after one of those fails the whole blob is sent
//! again in a new session, once (`BLOB_ATTEMPTS`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use oci_client::{Reference, RegistryOperation};
use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::core::image_ref::{Digest, ImageReference};
use crate::core::image_rules::Platform;
use crate::oci::auth::{Challenge, Credentials, Secret};
use crate::oci::blob_places::BlobPlaces;
use crate::oci::endpoint::Endpoint;
use crate::oci::error::OciError;
use crate::oci::media::Descriptor;
use crate::oci::registry::{
    DEFAULT_CONCURRENCY, FetchedManifest, RegistryClient, Resolved, Source, hex_digest,
    sha256_digest,
};
use crate::oci::retry::{self, Backoff};

/// Progress reports are sent at most this often (in bytes), plus once per finished blob, so a
/// large copy yields a few hundred notifications, not one per network read.
const PROGRESS_STEP: u64 = 4 * 1024 * 1024;

/// Transfers of one blob, each in its own upload session and reading the source again; low,
/// because each one re-downloads the blob and its requests were retried already.
const BLOB_ATTEMPTS: u32 = 2;

/// Where a copy goes: a registry base URL (ECR's `proxyEndpoint`), a repository and a tag.
#[derive(Debug, Clone)]
pub struct CopyTarget {
    /// `https://<account>.dkr.ecr.<region>.amazonaws.com`, or `http://127.0.0.1:PORT` in tests.
    pub base_url: String,
    pub repository: String,
    pub tag: String,
    pub auth: Credentials,
}

/// One image to copy.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub source: ImageReference,
    pub source_auth: Credentials,
    pub target: CopyTarget,
    /// Platform taken from a multi-arch source, and required of a single-arch one.
    pub platform: Platform,
    /// Blobs in flight at once; 0 means [`DEFAULT_CONCURRENCY`].
    pub concurrency: usize,
}

impl CopyRequest {
    pub fn new(source: ImageReference, target: CopyTarget) -> Self {
        Self {
            source,
            source_auth: Credentials::Anonymous,
            target,
            platform: Platform::linux_amd64(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// A progress update: bytes of blobs done (skipped blobs count as done) out of all blob bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub blobs_done: usize,
    pub blobs_total: usize,
}

/// Receives progress updates (e.g. to send MCP progress notifications). Called from several
/// tasks; must not block.
pub type ProgressFn = Arc<dyn Fn(CopyProgress) + Send + Sync>;

/// What a finished copy did, read back from the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CopyReport {
    /// Digest of the manifest now tagged on the target; equal to the source's platform manifest.
    pub manifest_digest: Digest,
    pub media_type: String,
    /// Digest of the source index when the source was multi-arch.
    pub source_index_digest: Option<Digest>,
    /// The platform copied, when known.
    pub platform: Option<Platform>,
    /// `repository:tag@digest` on the target registry host.
    pub target_reference: String,
    /// Blob bytes actually sent to the target (0 when it had everything).
    pub bytes_transferred: u64,
    /// Sum of all blob sizes of the image.
    pub bytes_total: u64,
    pub blobs_copied: usize,
    /// Blobs the target repository already had.
    pub blobs_skipped: usize,
    /// Blobs linked from another repository of the same registry without a transfer.
    pub blobs_mounted: usize,
    /// True when the tag was read back from the target and its manifest hashed to the digest.
    pub verified: bool,
}

/// Credentials as sent on target requests.
#[derive(Clone)]
enum PushAuth {
    None,
    Basic(String, Secret),
    Bearer(Secret),
}

/// The target repository, with the auth state for pushes.
struct Target {
    http: reqwest::Client,
    endpoint: Endpoint,
    repository: String,
    credentials: Credentials,
    oci: oci_client::Client,
    auth: Mutex<PushAuth>,
}

/// How a blob got to the target.
enum BlobOutcome {
    Skipped,
    Mounted,
    Copied(u64),
}

/// Shared progress counters.
struct Tracker {
    bytes_total: u64,
    blobs_total: usize,
    bytes_done: AtomicU64,
    blobs_done: AtomicUsize,
    last_sent: AtomicU64,
    callback: Option<ProgressFn>,
}

impl Tracker {
    fn add(&self, n: u64) {
        let done = self.bytes_done.fetch_add(n, Ordering::Relaxed) + n;
        let last = self.last_sent.load(Ordering::Relaxed);
        if done >= last + PROGRESS_STEP
            && self
                .last_sent
                .compare_exchange(last, done, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.emit();
        }
    }

    /// Takes back the bytes of a failed attempt so the retry does not count twice.
    fn sub(&self, n: u64) {
        let _ = self
            .bytes_done
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(n))
            });
    }

    fn blob_done(&self) {
        self.blobs_done.fetch_add(1, Ordering::Relaxed);
        self.emit();
    }

    fn emit(&self) {
        if let Some(cb) = &self.callback {
            cb(CopyProgress {
                bytes_done: self
                    .bytes_done
                    .load(Ordering::Relaxed)
                    .min(self.bytes_total),
                bytes_total: self.bytes_total,
                blobs_done: self.blobs_done.load(Ordering::Relaxed),
                blobs_total: self.blobs_total,
            });
        }
    }
}

impl RegistryClient {
    /// Copies one image to the target repository and tags it. For an index source the entry for
    /// `request.platform` is copied (its manifest bytes unchanged, so its digest is kept); a
    /// source without that platform is refused before anything is written.
    pub async fn copy_image(
        &self,
        request: &CopyRequest,
        progress: Option<ProgressFn>,
    ) -> Result<CopyReport, OciError> {
        let target_endpoint = Endpoint::parse_base_url(&request.target.base_url)?;
        // Validates repository and tag with the reference grammar.
        let target_ref = ImageReference::parse(&format!(
            "{}/{}:{}",
            target_endpoint.authority, request.target.repository, request.target.tag
        ))
        .map_err(|e| OciError::InvalidInput(format!("target image: {e}")))?;

        // 1. Source: resolve, select the platform, read the config. Nothing written yet.
        let source = self.source(&request.source, &request.source_auth);
        source.authenticate(RegistryOperation::Pull).await?;
        let resolved = source
            .resolve(&request.source, &request.platform, true)
            .await?;
        let index_digest = (!resolved.entries.is_empty()).then(|| resolved.top.digest.clone());
        let Resolved {
            image:
                FetchedManifest {
                    bytes: manifest_bytes,
                    digest: manifest_digest,
                    ..
                },
            media_type,
            config,
            layers,
            config_bytes,
            platform,
            ..
        } = resolved;

        // 2. Target: log in for push before the first write.
        let target = Target::new(
            self,
            target_endpoint,
            request.target.repository.clone(),
            request.target.auth.clone(),
        );
        target.authenticate().await?;

        // 3. Blobs, config first; duplicates (the same layer twice) once.
        let mut blobs: Vec<Descriptor> = Vec::with_capacity(layers.len() + 1);
        for d in std::iter::once(config.clone()).chain(layers.iter().cloned()) {
            if !blobs.iter().any(|b| b.digest == d.digest) {
                blobs.push(d);
            }
        }
        let tracker = Arc::new(Tracker {
            bytes_total: blobs.iter().map(|b| b.size).sum(),
            blobs_total: blobs.len(),
            bytes_done: AtomicU64::new(0),
            blobs_done: AtomicUsize::new(0),
            last_sent: AtomicU64::new(0),
            callback: progress,
        });
        tracker.emit();
        let same_registry =
            source.endpoint == target.endpoint && source.repository != target.repository;
        let concurrency = if request.concurrency == 0 {
            DEFAULT_CONCURRENCY
        } else {
            request.concurrency
        };
        let outcomes: Vec<BlobOutcome> = stream::iter(blobs.iter())
            .map(|blob| {
                let config_data = (blob.digest == config.digest).then(|| config_bytes.clone());
                let places = BlobPlaces::process();
                copy_blob(
                    &source,
                    &target,
                    blob,
                    config_data,
                    same_registry,
                    places,
                    &tracker,
                )
            })
            // Boxed so the future is Send for every borrow lifetime: callers run inside
            // Send-bound MCP tool futures (see rmcp's note on buffered streams).
            .boxed()
            .buffer_unordered(concurrency)
            .try_collect()
            .await?;

        // 4. The manifest, byte for byte, under the tag: the copy becomes visible only now.
        let pushed = target
            .put_manifest(&request.target.tag, &manifest_bytes, &media_type)
            .await?;
        if let Some(pushed) = pushed
            && pushed != manifest_digest
        {
            return Err(OciError::DigestMismatch {
                what: format!("manifest pushed to {}", target_ref.name()),
                expected: manifest_digest.to_string(),
                actual: pushed.to_string(),
            });
        }
        // 5. Read back by tag and hash what the registry serves.
        let served = target
            .get_manifest_digest(&request.target.tag, &media_type)
            .await?;
        if served != manifest_digest {
            return Err(OciError::DigestMismatch {
                what: format!(
                    "manifest served by {}:{}",
                    target_ref.name(),
                    request.target.tag
                ),
                expected: manifest_digest.to_string(),
                actual: served.to_string(),
            });
        }

        let mut report = CopyReport {
            target_reference: format!("{}@{}", target_ref, manifest_digest),
            manifest_digest,
            media_type,
            source_index_digest: index_digest,
            platform,
            bytes_transferred: 0,
            bytes_total: tracker.bytes_total,
            blobs_copied: 0,
            blobs_skipped: 0,
            blobs_mounted: 0,
            verified: true,
        };
        for outcome in outcomes {
            match outcome {
                BlobOutcome::Skipped => report.blobs_skipped += 1,
                BlobOutcome::Mounted => report.blobs_mounted += 1,
                BlobOutcome::Copied(n) => {
                    report.blobs_copied += 1;
                    report.bytes_transferred += n;
                }
            }
        }
        tracing::info!(
            target = %report.target_reference,
            copied = report.blobs_copied,
            skipped = report.blobs_skipped,
            mounted = report.blobs_mounted,
            bytes = report.bytes_transferred,
            "image copied"
        );
        Ok(report)
    }
}

/// Gets one blob to the target: skip if present, mount if possible (from the source repository
/// when it is in the target registry, else from where this process last saw the blob there),
/// else stream it, retrying once from the start. Where the blob ends up is remembered.
async fn copy_blob(
    source: &Source,
    target: &Target,
    blob: &Descriptor,
    config_data: Option<Bytes>,
    same_registry: bool,
    places: &BlobPlaces,
    tracker: &Arc<Tracker>,
) -> Result<BlobOutcome, OciError> {
    let here = |places: &BlobPlaces| {
        places.remember(target.registry(), &blob.digest, &target.repository);
    };
    if target.blob_exists(&blob.digest).await? {
        tracing::debug!(digest = %blob.digest, "blob already on target");
        here(places);
        tracker.add(blob.size);
        tracker.blob_done();
        return Ok(BlobOutcome::Skipped);
    }
    let mut session = None;
    let from = match same_registry {
        true => Some(source.repository.clone()),
        false => places.holder(target.registry(), &blob.digest, &target.repository),
    };
    if let Some(from) = from {
        match target.mount(&blob.digest, &from).await? {
            Mount::Mounted => {
                tracing::debug!(digest = %blob.digest, %from, "blob mounted");
                here(places);
                tracker.add(blob.size);
                tracker.blob_done();
                return Ok(BlobOutcome::Mounted);
            }
            // Not mountable from there (ECR mounts only what an image there references): the
            // registry opened an upload session instead, which the upload below uses.
            Mount::Session(url) => {
                places.forget(target.registry(), &blob.digest, &from);
                session = Some(url);
            }
            Mount::Refused => places.forget(target.registry(), &blob.digest, &from),
        }
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let counted = Arc::new(AtomicU64::new(0));
        let result = upload_once(
            source,
            target,
            blob,
            config_data.clone(),
            session.take(),
            tracker,
            &counted,
        )
        .await;
        match result {
            Ok(()) => {
                here(places);
                tracker.blob_done();
                return Ok(BlobOutcome::Copied(blob.size));
            }
            Err(e) => {
                tracker.sub(counted.load(Ordering::Relaxed));
                let retryable = !matches!(
                    e,
                    OciError::NotFound { .. }
                        | OciError::Denied { .. }
                        | OciError::UnsupportedMediaType { .. }
                        | OciError::InvalidInput(_)
                );
                if attempt >= BLOB_ATTEMPTS || !retryable {
                    return Err(e);
                }
                let wait = retry::REGISTRY.delay(attempt, None);
                tracing::warn!(digest = %blob.digest, error = %e, wait_ms = wait.as_millis() as u64, "blob upload failed; sending it again in a new session");
                tokio::time::sleep(wait).await;
                if matches!(e, OciError::Unauthorized { .. }) {
                    target.authenticate().await?;
                }
            }
        }
    }
}

async fn upload_once(
    source: &Source,
    target: &Target,
    blob: &Descriptor,
    config_data: Option<Bytes>,
    session: Option<Url>,
    tracker: &Arc<Tracker>,
    counted: &Arc<AtomicU64>,
) -> Result<(), OciError> {
    let body: BoxStream<'static, Result<Bytes, OciError>> = match config_data {
        Some(data) => stream::once(async move { Ok(data) }).boxed(),
        None => source.blob_stream(blob).await?,
    };
    let failure: Arc<Mutex<Option<OciError>>> = Arc::new(Mutex::new(None));
    let verified = verifying_stream(
        body,
        blob.clone(),
        Arc::clone(&failure),
        Arc::clone(counted),
        Some(Arc::clone(tracker)),
    );
    let location = match session {
        Some(url) => url,
        None => target.start_upload().await?,
    };
    let result = target.upload(location, verified, blob).await;
    // A failure inside the body (digest mismatch, source cut) outranks the target's view of it.
    let inner = failure.lock().ok().and_then(|mut f| f.take());
    match (result, inner) {
        (_, Some(e)) => Err(e),
        (r, None) => r,
    }
}

/// Wraps a blob stream: counts and hashes the bytes, and fails when the size or sha256 differ
/// from the descriptor. The check runs when the last expected byte arrives, before that chunk
/// is passed on: the HTTP client stops reading at Content-Length, so an end-of-stream check
/// might never run, and a short body makes the target drop the upload.
fn verifying_stream(
    inner: BoxStream<'static, Result<Bytes, OciError>>,
    blob: Descriptor,
    failure: Arc<Mutex<Option<OciError>>>,
    counted: Arc<AtomicU64>,
    tracker: Option<Arc<Tracker>>,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    struct State {
        inner: BoxStream<'static, Result<Bytes, OciError>>,
        hasher: Sha256,
        seen: u64,
        checked: bool,
        done: bool,
    }
    let state = State {
        inner,
        hasher: Sha256::new(),
        seen: 0,
        checked: false,
        done: false,
    };
    let mismatch = |blob: &Descriptor, actual: String| OciError::DigestMismatch {
        what: format!("blob {}", blob.digest),
        expected: format!("{} ({} bytes)", blob.digest, blob.size),
        actual,
    };
    let fail = |failure: &Arc<Mutex<Option<OciError>>>, e: OciError| {
        let message = e.to_string();
        if let Ok(mut slot) = failure.lock() {
            slot.get_or_insert(e);
        }
        std::io::Error::other(message)
    };
    // Compares the hash so far with the descriptor.
    let verdict = move |st: &mut State, blob: &Descriptor| -> Option<OciError> {
        st.checked = true;
        let actual = hex_digest(std::mem::take(&mut st.hasher).finalize().as_slice());
        (actual != blob.digest).then(|| mismatch(blob, format!("{actual} ({} bytes)", st.seen)))
    };
    stream::unfold(state, move |mut st| {
        let blob = blob.clone();
        let failure = Arc::clone(&failure);
        let counted = Arc::clone(&counted);
        let tracker = tracker.clone();
        async move {
            if st.done {
                return None;
            }
            let item = st.inner.next().await;
            let error = match item {
                Some(Ok(chunk)) => {
                    st.seen += chunk.len() as u64;
                    if st.seen > blob.size {
                        Some(mismatch(&blob, format!("more than {} bytes", blob.size)))
                    } else {
                        st.hasher.update(&chunk);
                        let bad = if st.seen == blob.size {
                            verdict(&mut st, &blob)
                        } else {
                            None
                        };
                        match bad {
                            Some(e) => Some(e),
                            None => {
                                counted.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                                if let Some(t) = &tracker {
                                    t.add(chunk.len() as u64);
                                }
                                return Some((Ok(chunk), st));
                            }
                        }
                    }
                }
                Some(Err(e)) => Some(e),
                None if st.seen < blob.size => {
                    Some(mismatch(&blob, format!("only {} bytes", st.seen)))
                }
                None if !st.checked => verdict(&mut st, &blob),
                None => None,
            };
            st.done = true;
            error.map(|e| (Err(fail(&failure, e)), st))
        }
    })
    .boxed()
}

/// How many bytes an upload session holds, from its `Range: 0-<last>` header (`None` when the
/// header is absent or unreadable: not every registry sends it).
fn received_end(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get("range")?.to_str().ok()?;
    let (start, last) = value.trim().trim_start_matches("bytes=").split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    last.trim().parse::<u64>().ok().map(|l| l + 1)
}

/// Result of a cross-repository mount attempt.
enum Mount {
    Mounted,
    /// The registry opened an upload session instead (mount not possible); use it.
    Session(Url),
    Refused,
}

impl Target {
    fn new(
        client: &RegistryClient,
        endpoint: Endpoint,
        repository: String,
        credentials: Credentials,
    ) -> Self {
        Self {
            http: client.http.clone(),
            oci: client.oci_client(&endpoint),
            endpoint,
            repository,
            credentials,
            auth: Mutex::new(PushAuth::None),
        }
    }

    fn registry(&self) -> &str {
        &self.endpoint.authority
    }

    fn url(&self, path: &str) -> Result<Url, OciError> {
        Url::parse(&format!(
            "{}/v2/{}/{path}",
            self.endpoint.base_url(),
            self.repository
        ))
        .map_err(|e| OciError::InvalidInput(format!("target URL: {e}")))
    }

    /// Runs the registry's challenge flow for a pull+push token (oci-client), or settles on
    /// Basic credentials when the registry asks for those.
    async fn authenticate(&self) -> Result<(), OciError> {
        let reference = Reference::with_tag(
            self.endpoint.authority.clone(),
            self.repository.clone(),
            "latest".into(),
        );
        let registry_auth = self.credentials.to_registry_auth();
        let token = retry::REGISTRY
            .run("registry login", || async {
                self.oci
                    .auth(&reference, &registry_auth, RegistryOperation::Push)
                    .await
                    .map_err(|e| OciError::from_oci(self.registry(), "the registry login", e))
            })
            .await?;
        let auth = match (token, &self.credentials) {
            (Some(token), _) => PushAuth::Bearer(Secret::new(token)),
            (None, Credentials::Basic { username, secret }) => {
                PushAuth::Basic(username.clone(), secret.clone())
            }
            (None, Credentials::Anonymous) => PushAuth::None,
        };
        if let Ok(mut slot) = self.auth.lock() {
            *slot = auth;
        }
        Ok(())
    }

    /// Adds credentials, but only for the target host itself: an upload `Location` may point
    /// elsewhere (a storage service), which must not see them.
    fn authed(&self, request: reqwest::RequestBuilder, url: &Url) -> reqwest::RequestBuilder {
        let same_host = url.scheme() == self.endpoint.scheme.as_str()
            && Url::parse(&self.endpoint.base_url()).is_ok_and(|base| {
                base.host_str() == url.host_str()
                    && base.port_or_known_default() == url.port_or_known_default()
            });
        if !same_host {
            return request;
        }
        let auth = self
            .auth
            .lock()
            .map(|a| a.clone())
            .unwrap_or(PushAuth::None);
        match auth {
            PushAuth::None => request,
            PushAuth::Basic(user, secret) => request.basic_auth(user, Some(secret.expose())),
            PushAuth::Bearer(token) => request.bearer_auth(token.expose()),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, OciError> {
        request
            .send()
            .await
            .map_err(|e| OciError::from_reqwest(self.registry(), &e))
    }

    /// Sends a request with a replayable body, retried per [`retry::REGISTRY`].
    async fn call(
        &self,
        method: Method,
        url: &Url,
        extra: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OciError> {
        self.call_with(&retry::REGISTRY, method, url, extra).await
    }

    /// Sends a request with a replayable body. On a 401 it logs in again (tokens expire during
    /// long copies) and sends it once more; on 429, 5xx or a connection error it waits (the
    /// registry's short `Retry-After`, else backoff with jitter) and sends it again, up to
    /// `backoff.attempts` times. The last answer is returned whatever its status.
    async fn call_with(
        &self,
        backoff: &Backoff,
        method: Method,
        url: &Url,
        extra: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OciError> {
        let build = || extra(self.authed(self.http.request(method.clone(), url.clone()), url));
        let mut relogged = false;
        let mut tried = 1;
        loop {
            let (wait, why) = match self.send(build()).await {
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED && !relogged => {
                    relogged = true;
                    self.authenticate().await?;
                    continue;
                }
                Ok(r) if retry::retryable_status(r.status()) && tried < backoff.attempts => (
                    backoff.delay(tried, retry::retry_after(r.headers())),
                    format!("HTTP {}", r.status().as_u16()),
                ),
                Err(e) if e.is_transient() && tried < backoff.attempts => {
                    (backoff.delay(tried, None), e.to_string())
                }
                other => return other,
            };
            tracing::warn!(%method, url = %crate::oci::error::without_query(url.as_str()), attempt = tried, wait_ms = wait.as_millis() as u64, error = %why, "registry request failed; retrying");
            tokio::time::sleep(wait).await;
            tried += 1;
        }
    }

    /// Turns a non-success response into an error, with the challenge explained on a 401.
    async fn fail(&self, what: &str, response: reqwest::Response) -> OciError {
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .and_then(Challenge::parse);
        let body = response.bytes().await.unwrap_or_default();
        let error = OciError::from_status(self.registry(), what, status, &body);
        match (error, challenge) {
            (OciError::Unauthorized { registry, message }, Some(c)) => OciError::Unauthorized {
                registry,
                message: format!("{message}; {}", c.describe()),
            },
            (e, _) => e,
        }
    }

    async fn blob_exists(&self, digest: &Digest) -> Result<bool, OciError> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let response = self.call(Method::HEAD, &url, |r| r).await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.fail(&format!("blob {digest}"), response).await),
        }
    }

    async fn mount(&self, digest: &Digest, from: &str) -> Result<Mount, OciError> {
        let mut url = self.url("blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from);
        let response = self
            .call(Method::POST, &url, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        match response.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => Ok(self
                .location(&url, response.headers())
                .map_or(Mount::Refused, Mount::Session)),
            _ => Ok(Mount::Refused),
        }
    }

    fn location(&self, base: &Url, headers: &HeaderMap) -> Option<Url> {
        let value = headers.get(LOCATION)?.to_str().ok()?;
        base.join(value).ok()
    }

    async fn start_upload(&self) -> Result<Url, OciError> {
        let url = self.url("blobs/uploads/")?;
        let response = self
            .call(Method::POST, &url, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self
                .fail(&format!("blob uploads to {}", self.repository), response)
                .await);
        }
        self.location(&url, response.headers()).ok_or_else(|| {
            OciError::protocol(self.registry(), "the upload session has no Location header")
        })
    }

    /// Streams the whole blob in one PATCH (as `docker push` does, and the only chunking ECR
    /// keeps), then commits it with `PUT ?digest=`; the registry checks the digest too. Neither
    /// request is retried here: see the module doc.
    async fn upload(
        &self,
        location: Url,
        body: BoxStream<'static, Result<Bytes, std::io::Error>>,
        blob: &Descriptor,
    ) -> Result<(), OciError> {
        let what = format!("the upload of blob {}", blob.digest);
        let response = self
            .send(
                self.authed(self.http.patch(location.clone()), &location)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, blob.size)
                    .body(reqwest::Body::wrap_stream(body)),
            )
            .await?;
        // 202 per the spec, 201 from ECR, 204 from some others: all mean "taken, session open".
        if !matches!(
            response.status(),
            StatusCode::ACCEPTED | StatusCode::CREATED | StatusCode::NO_CONTENT
        ) {
            return Err(self.fail(&what, response).await);
        }
        // A session holding fewer bytes than were sent lost some (ECR drops any PATCH after the
        // first); say so now rather than as a digest error at the commit.
        if let Some(end) = received_end(response.headers())
            && blob.size > 0
            && end < blob.size
        {
            return Err(OciError::protocol(
                self.registry(),
                format!(
                    "{what}: the registry says it has {end} bytes, the blob has {}",
                    blob.size
                ),
            ));
        }
        let mut commit = self
            .location(&location, response.headers())
            .unwrap_or(location);
        commit
            .query_pairs_mut()
            .append_pair("digest", blob.digest.as_str());
        let once = Backoff {
            attempts: 1,
            ..retry::REGISTRY
        };
        let response = self
            .call_with(&once, Method::PUT, &commit, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.fail(&what, response).await);
        }
        Ok(())
    }

    /// Pushes the manifest bytes unchanged; returns the digest the registry states, if any.
    async fn put_manifest(
        &self,
        tag: &str,
        bytes: &Bytes,
        media_type: &str,
    ) -> Result<Option<Digest>, OciError> {
        let url = self.url(&format!("manifests/{tag}"))?;
        let response = self
            .call(Method::PUT, &url, |r| {
                r.header(CONTENT_TYPE, media_type).body(bytes.clone())
            })
            .await?;
        if response.status() != StatusCode::CREATED && response.status() != StatusCode::OK {
            return Err(self
                .fail(&format!("manifest {}:{tag}", self.repository), response)
                .await);
        }
        Ok(response
            .headers()
            .get("docker-content-digest")
            .and_then(|h| h.to_str().ok())
            .and_then(|d| Digest::parse(d.trim()).ok()))
    }

    /// Fetches the manifest under `tag` and hashes it: what a workflow would pull.
    async fn get_manifest_digest(&self, tag: &str, media_type: &str) -> Result<Digest, OciError> {
        let url = self.url(&format!("manifests/{tag}"))?;
        let response = self
            .call(Method::GET, &url, |r| r.header(ACCEPT, media_type))
            .await?;
        if !response.status().is_success() {
            return Err(self
                .fail(&format!("manifest {}:{tag}", self.repository), response)
                .await);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| OciError::from_reqwest(self.registry(), &e))?;
        Ok(sha256_digest(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(data: &[u8]) -> Descriptor {
        Descriptor {
            media_type: crate::oci::media::OCI_LAYER_GZIP.into(),
            digest: sha256_digest(data),
            size: data.len() as u64,
        }
    }

    /// Runs `chunks` through the verifier for `blob`; returns (bytes passed on, error slot).
    async fn run(chunks: Vec<&'static [u8]>, blob: Descriptor) -> (Vec<u8>, Option<OciError>) {
        let inner = stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))).boxed();
        let failure = Arc::new(Mutex::new(None));
        let counted = Arc::new(AtomicU64::new(0));
        let mut out = Vec::new();
        let mut s = verifying_stream(inner, blob, Arc::clone(&failure), counted, None);
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => break,
            }
        }
        let err = failure.lock().ok().and_then(|mut f| f.take());
        (out, err)
    }

    #[tokio::test]
    async fn verifier_table() {
        let good = descriptor(b"hello world");
        let (out, err) = run(vec![b"hello ", b"world"], good.clone()).await;
        assert_eq!((out.as_slice(), err), (&b"hello world"[..], None));

        // Wrong content of the right length: the last chunk is held back.
        let (out, err) = run(vec![b"hello ", b"WORLD"], good.clone()).await;
        assert_eq!(out, b"hello ");
        assert!(
            matches!(err, Some(OciError::DigestMismatch { .. })),
            "{err:?}"
        );

        // Too short and too long.
        let (_, err) = run(vec![b"hello"], good.clone()).await;
        assert!(err.is_some_and(|e| e.to_string().contains("only 5 bytes")));
        let (_, err) = run(vec![b"hello world!"], good).await;
        assert!(err.is_some_and(|e| e.to_string().contains("more than 11 bytes")));

        // An empty blob is checked at the end of the stream.
        let (out, err) = run(vec![], descriptor(b"")).await;
        assert_eq!((out.len(), err), (0, None));
        let mut wrong_empty = descriptor(b"x");
        wrong_empty.size = 0;
        let (_, err) = run(vec![], wrong_empty).await;
        assert!(matches!(err, Some(OciError::DigestMismatch { .. })));
    }

    #[test]
    fn tracker_throttles_and_takes_back() {
        let seen: Arc<Mutex<Vec<CopyProgress>>> = Arc::default();
        let sink = Arc::clone(&seen);
        let t = Tracker {
            bytes_total: 3 * PROGRESS_STEP,
            blobs_total: 1,
            bytes_done: AtomicU64::new(0),
            blobs_done: AtomicUsize::new(0),
            last_sent: AtomicU64::new(0),
            callback: Some(Arc::new(move |p| {
                if let Ok(mut v) = sink.lock() {
                    v.push(p);
                }
            })),
        };
        for _ in 0..1024 {
            t.add(PROGRESS_STEP / 512);
        }
        let calls = seen.lock().map(|v| v.len()).unwrap_or(0);
        assert!((1..=2).contains(&calls), "{calls}");
        t.sub(2 * PROGRESS_STEP);
        t.blob_done();
        let last = seen.lock().ok().and_then(|v| v.last().copied());
        assert_eq!(last.map(|p| (p.bytes_done, p.blobs_done)), Some((0, 1)));
    }
}
