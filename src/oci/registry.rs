//! Reading images from a registry: manifests, configs, blob streams, and the inspection the
//! availability check reports.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::core::image_ref::{Digest, ImageReference};
use crate::core::image_rules::{
    ImageConfigSummary, ManifestSummary, Platform, normalize_architecture,
};
use crate::oci::auth::Credentials;
use crate::oci::endpoint::{Endpoint, Mirrors, Scheme};
use crate::oci::error::OciError;
use crate::oci::media::{
    ACCEPTED_MANIFESTS, Descriptor, IndexEntry, Manifest, ManifestError, ManifestKind,
    parse_config, platform_names, select_platform,
};
use crate::oci::retry;

/// Largest manifest or config we read into memory; real ones are a few KiB.
pub const DOCUMENT_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Blobs copied at once when the caller does not say.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Network settings for every registry request.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// Longest pause between bytes; a stalled registry fails instead of hanging a tool call.
    pub read_timeout: Duration,
    pub user_agent: &'static str,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            user_agent: concat!("healthomics-ecr-mcp/", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Talks the OCI distribution API to any registry, honouring mirrors.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    pub(crate) mirrors: Mirrors,
    pub(crate) options: ClientOptions,
    /// For target writes (see the module doc of `oci`); holds no credentials.
    pub(crate) http: reqwest::Client,
}

/// A manifest's identity, as `HEAD`/`GET` on a tag gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ManifestHead {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// The image that would run: for an index, the entry for the requested platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SelectedImage {
    pub digest: Digest,
    pub media_type: String,
    /// Manifest size in bytes.
    pub size: u64,
    /// From the index entry, else from the config.
    pub platform: Option<Platform>,
    pub config_digest: Digest,
    pub config: ImageConfigSummary,
    pub layers: Vec<Descriptor>,
    /// Config plus layers, as stored (compressed).
    pub compressed_size: u64,
}

/// What a registry says about one image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ImageInspection {
    /// The reference as resolved (tag or digest kept).
    pub reference: String,
    /// Where the requests went (shows a mirror when one applied).
    pub endpoint: String,
    /// Digest of the top-level manifest or index: what `@sha256:` pins.
    pub digest: Digest,
    pub media_type: String,
    pub kind: ManifestKind,
    /// Size of the top-level manifest document.
    pub size: u64,
    /// Index entries (empty for a single image).
    pub platforms: Vec<IndexEntry>,
    pub requested_platform: Platform,
    /// False when an index has no entry for the requested platform (then `image` is the first
    /// usable entry, so its config can still be checked) or a single image is built for another.
    pub platform_found: bool,
    pub image: SelectedImage,
}

impl ImageInspection {
    /// The facts `core::image_rules::check_image` needs; `uncompressed_size` when layers were read.
    pub fn manifest_summary(&self, uncompressed_size: Option<u64>) -> ManifestSummary {
        ManifestSummary {
            index_platforms: (self.kind == ManifestKind::Index).then(|| {
                self.platforms
                    .iter()
                    .filter_map(|e| e.platform.clone())
                    .collect()
            }),
            compressed_size: self.image.compressed_size,
            uncompressed_size,
        }
    }
}

/// A manifest as fetched: exact bytes, their digest, and the parse.
#[derive(Debug, Clone)]
pub(crate) struct FetchedManifest {
    pub bytes: Bytes,
    pub digest: Digest,
    pub manifest: Manifest,
}

/// One repository on a source registry, with an oci-client of its own (its token cache and
/// auth store are per credentials, so clients are not shared between calls).
pub(crate) struct Source {
    pub oci: oci_client::Client,
    pub endpoint: Endpoint,
    pub repository: String,
    pub auth: RegistryAuth,
}

impl RegistryClient {
    /// A client that sends each registry host's traffic to its mirror, if any.
    pub fn new(mirrors: Mirrors) -> Result<Self, OciError> {
        Self::with_options(mirrors, ClientOptions::default())
    }

    pub fn with_options(mirrors: Mirrors, options: ClientOptions) -> Result<Self, OciError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(options.user_agent)
            .build()
            .map_err(|e| OciError::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            mirrors,
            options,
            http,
        })
    }

    /// Where requests for a registry host go.
    pub fn endpoint_for(&self, registry_host: &str) -> Endpoint {
        self.mirrors.resolve(registry_host)
    }

    pub(crate) fn oci_client(&self, endpoint: &Endpoint) -> oci_client::Client {
        let protocol = match endpoint.scheme {
            Scheme::Https => ClientProtocol::Https,
            Scheme::Http => ClientProtocol::HttpsExcept(vec![endpoint.authority.clone()]),
        };
        oci_client::Client::new(ClientConfig {
            protocol,
            platform_resolver: None,
            connect_timeout: Some(self.options.connect_timeout),
            read_timeout: Some(self.options.read_timeout),
            user_agent: self.options.user_agent,
            ..ClientConfig::default()
        })
    }

    pub(crate) fn source(&self, reference: &ImageReference, auth: &Credentials) -> Source {
        let endpoint = self.endpoint_for(&reference.registry);
        Source {
            oci: self.oci_client(&endpoint),
            endpoint,
            repository: reference.repository.clone(),
            auth: auth.to_registry_auth(),
        }
    }

    /// Resolves a tag or digest and describes the image, selecting linux/amd64 in an index.
    pub async fn inspect(
        &self,
        reference: &ImageReference,
        auth: &Credentials,
    ) -> Result<ImageInspection, OciError> {
        self.inspect_platform(reference, auth, &Platform::linux_amd64())
            .await
    }

    /// As [`Self::inspect`], selecting `platform` in an index.
    pub async fn inspect_platform(
        &self,
        reference: &ImageReference,
        auth: &Credentials,
        platform: &Platform,
    ) -> Result<ImageInspection, OciError> {
        let source = self.source(reference, auth);
        source.authenticate(RegistryOperation::Pull).await?;
        let r = source.resolve(reference, platform, false).await?;
        Ok(ImageInspection {
            reference: reference.to_string(),
            endpoint: source.endpoint.base_url(),
            digest: r.top.digest.clone(),
            media_type: r.top.manifest.media_type().to_owned(),
            kind: if r.entries.is_empty() {
                ManifestKind::Image
            } else {
                ManifestKind::Index
            },
            size: r.top.bytes.len() as u64,
            requested_platform: platform.clone(),
            platform_found: r.platform_found,
            image: SelectedImage {
                digest: r.image.digest.clone(),
                media_type: r.media_type.clone(),
                size: r.image.bytes.len() as u64,
                platform: r.platform.clone(),
                config_digest: r.config.digest.clone(),
                compressed_size: r.config.size + r.layers.iter().map(|l| l.size).sum::<u64>(),
                config: r.config_summary,
                layers: r.layers,
            },
            platforms: r.entries,
        })
    }

    /// The digest, media type and size of what a tag or digest points at; `None` when the
    /// registry has no such manifest (or repository).
    pub async fn manifest_head(
        &self,
        reference: &ImageReference,
        auth: &Credentials,
    ) -> Result<Option<ManifestHead>, OciError> {
        let source = self.source(reference, auth);
        source.authenticate(RegistryOperation::Pull).await?;
        match source
            .manifest(reference.reference_for_pull(), &reference.to_string())
            .await
        {
            Ok(m) => Ok(Some(ManifestHead {
                media_type: m.manifest.media_type().to_owned(),
                size: m.bytes.len() as u64,
                digest: m.digest,
            })),
            Err(OciError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// True when the tag (or digest) resolves to a manifest.
    pub async fn tag_exists(
        &self,
        reference: &ImageReference,
        auth: &Credentials,
    ) -> Result<bool, OciError> {
        Ok(self.manifest_head(reference, auth).await?.is_some())
    }
}

/// An image resolved down to one platform: what `inspect` reports and `copy_image` transfers.
pub(crate) struct Resolved {
    /// The manifest or index the reference names.
    pub top: FetchedManifest,
    /// Index entries; empty for a single image.
    pub entries: Vec<IndexEntry>,
    /// The selected image manifest (equal to `top` for a single image).
    pub image: FetchedManifest,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    pub config_bytes: Bytes,
    pub config_summary: ImageConfigSummary,
    /// From the index entry, else from the config.
    pub platform: Option<Platform>,
    /// False when the image is not for the wanted platform (an index without it: then the
    /// first real entry was taken; a single image built for another).
    pub platform_found: bool,
}

impl Source {
    /// Fetches the manifest a reference names, picks `wanted` in an index, and reads the
    /// config. With `require_platform`, an image without `wanted` is an error, raised before
    /// anything but manifests and the config was read.
    pub async fn resolve(
        &self,
        reference: &ImageReference,
        wanted: &Platform,
        require_platform: bool,
    ) -> Result<Resolved, OciError> {
        let top = self
            .manifest(reference.reference_for_pull(), &reference.to_string())
            .await?;
        let (image, entries, entry_platform, found) = match &top.manifest {
            Manifest::Image { .. } => (top.clone(), Vec::new(), None, true),
            Manifest::Index { entries, .. } => {
                let (entry, found) = match select_platform(entries, wanted) {
                    Some(e) => (e, true),
                    None if require_platform => {
                        return Err(not_found_platform(&reference.to_string(), wanted, entries));
                    }
                    None => {
                        let real = entries.iter().find(|e| {
                            e.platform
                                .as_ref()
                                .is_some_and(|p| !p.is_attestation_placeholder())
                        });
                        match real.or_else(|| entries.first()) {
                            Some(e) => (e, false),
                            None => {
                                return Err(OciError::UnsupportedMediaType {
                                    media_type: top.manifest.media_type().to_owned(),
                                    message: format!("the index {} lists no images", top.digest),
                                });
                            }
                        }
                    }
                };
                let what = format!("{}@{}", reference.name(), entry.digest);
                let child = self.manifest(entry.digest.as_str(), &what).await?;
                (child, entries.clone(), entry.platform.clone(), found)
            }
        };
        let Manifest::Image {
            media_type,
            config,
            layers,
        } = image.manifest.clone()
        else {
            return Err(OciError::UnsupportedMediaType {
                media_type: image.manifest.media_type().to_owned(),
                message: format!(
                    "{}@{} is a nested index; only one level is supported",
                    reference.name(),
                    image.digest
                ),
            });
        };
        let config_bytes = self.blob_bytes(&config).await?;
        let config_summary =
            parse_config(&config_bytes).map_err(|m| OciError::protocol(self.registry(), m))?;
        let config_platform = config_summary.architecture.as_ref().map(|arch| Platform {
            os: config_summary.os.clone().unwrap_or_else(|| "linux".into()),
            architecture: normalize_architecture(&arch.to_ascii_lowercase()).to_owned(),
            variant: config_summary.variant.clone(),
        });
        // A single image is taken for what its config says; one that says nothing passes.
        let found = found
            && (!entries.is_empty()
                || config_platform.as_ref().is_none_or(|p| {
                    p.os == wanted.os
                        && p.architecture == normalize_architecture(&wanted.architecture)
                }));
        if require_platform && !found {
            return Err(OciError::PlatformNotFound {
                reference: reference.to_string(),
                wanted: wanted.to_string(),
                available: config_platform
                    .as_ref()
                    .map_or_else(|| "unknown".into(), Platform::to_string),
            });
        }
        Ok(Resolved {
            top,
            entries,
            image,
            media_type,
            config,
            layers,
            config_bytes,
            config_summary,
            platform: entry_platform.or(config_platform),
            platform_found: found,
        })
    }

    pub fn registry(&self) -> &str {
        &self.endpoint.authority
    }

    fn reference(&self, tag_or_digest: &str) -> Reference {
        if tag_or_digest.contains(':') {
            Reference::with_digest(
                self.endpoint.authority.clone(),
                self.repository.clone(),
                tag_or_digest.to_owned(),
            )
        } else {
            Reference::with_tag(
                self.endpoint.authority.clone(),
                self.repository.clone(),
                tag_or_digest.to_owned(),
            )
        }
    }

    fn blob_reference(&self) -> Reference {
        self.reference("latest")
    }

    /// Runs the registry's auth flow up front, so a refused token is reported as such (oci-client
    /// otherwise drops token errors and sends the request unauthenticated).
    pub async fn authenticate(&self, op: RegistryOperation) -> Result<(), OciError> {
        let reference = self.blob_reference();
        retry::REGISTRY
            .run("registry login", || async {
                self.oci
                    .auth(&reference, &self.auth, op)
                    .await
                    .map(|_| ())
                    .map_err(|e| OciError::from_oci(self.registry(), "the registry login", e))
            })
            .await
    }

    /// Fetches a manifest by tag or digest; oci-client checks the bytes against the digest the
    /// registry states and the one asked for.
    pub async fn manifest(
        &self,
        tag_or_digest: &str,
        what: &str,
    ) -> Result<FetchedManifest, OciError> {
        let what = format!("manifest {what}");
        let reference = self.reference(tag_or_digest);
        let (bytes, digest) = retry::REGISTRY
            .run(&what, || async {
                self.oci
                    .pull_manifest_raw(&reference, &self.auth, &ACCEPTED_MANIFESTS)
                    .await
                    .map_err(|e| OciError::from_oci(self.registry(), &what, e))
            })
            .await?;
        if bytes.len() as u64 > DOCUMENT_MAX_BYTES {
            return Err(OciError::protocol(
                self.registry(),
                format!("{what} is larger than {DOCUMENT_MAX_BYTES} bytes"),
            ));
        }
        // Recompute: the digest must be sha256 of these bytes whatever the headers said.
        let actual = sha256_digest(&bytes);
        let digest = Digest::parse(&digest)
            .map_err(|e| OciError::protocol(self.registry(), format!("{what}: {e}")))?;
        if digest.algorithm() == "sha256" && digest != actual {
            return Err(OciError::DigestMismatch {
                what,
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        let manifest = Manifest::parse(&bytes, None).map_err(|e| match e {
            ManifestError::Unsupported { media_type, why } => OciError::UnsupportedMediaType {
                media_type,
                message: why,
            },
            ManifestError::Invalid(m) => {
                OciError::protocol(self.registry(), format!("{what}: {m}"))
            }
        })?;
        Ok(FetchedManifest {
            bytes,
            digest,
            manifest,
        })
    }

    /// A small blob (a config) in memory, size-capped and digest-checked; read again from the
    /// start when the transfer fails in a way a retry may fix.
    pub async fn blob_bytes(&self, descriptor: &Descriptor) -> Result<Bytes, OciError> {
        if descriptor.size > DOCUMENT_MAX_BYTES {
            return Err(OciError::protocol(
                self.registry(),
                format!(
                    "blob {} is {} bytes, more than a config should be",
                    descriptor.digest, descriptor.size
                ),
            ));
        }
        let what = format!("blob {}", descriptor.digest);
        retry::REGISTRY
            .run(&what, || self.read_small_blob(descriptor))
            .await
    }

    async fn read_small_blob(&self, descriptor: &Descriptor) -> Result<Bytes, OciError> {
        let mut stream = self.blob_stream_once(descriptor).await?;
        let mut out = Vec::with_capacity(usize::try_from(descriptor.size).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if (out.len() + chunk.len()) as u64 > descriptor.size {
                return Err(OciError::protocol(
                    self.registry(),
                    format!(
                        "blob {} is longer than its descriptor's {} bytes",
                        descriptor.digest, descriptor.size
                    ),
                ));
            }
            out.extend_from_slice(&chunk);
        }
        let actual = sha256_digest(&out);
        if actual != descriptor.digest {
            return Err(OciError::DigestMismatch {
                what: format!("blob {}", descriptor.digest),
                expected: descriptor.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(Bytes::from(out))
    }

    /// A blob as a stream of chunks; oci-client fails the stream's end on a digest mismatch.
    /// Only the request is retried here: a body cut short fails the stream, and the caller
    /// starts the blob over.
    pub async fn blob_stream(
        &self,
        descriptor: &Descriptor,
    ) -> Result<BoxStream<'static, Result<Bytes, OciError>>, OciError> {
        let what = format!("blob {}", descriptor.digest);
        retry::REGISTRY
            .run(&what, || self.blob_stream_once(descriptor))
            .await
    }

    async fn blob_stream_once(
        &self,
        descriptor: &Descriptor,
    ) -> Result<BoxStream<'static, Result<Bytes, OciError>>, OciError> {
        let what = format!("blob {}", descriptor.digest);
        let sized = self
            .oci
            .pull_blob_stream(&self.blob_reference(), descriptor.digest.as_str())
            .await
            .map_err(|e| OciError::from_oci(self.registry(), &what, e))?;
        let registry = self.registry().to_owned();
        Ok(sized
            .stream
            .map_err(move |e| OciError::from_io(&registry, &what, &e))
            .boxed())
    }
}

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> Digest {
    hex_digest(Sha256::digest(bytes).as_slice())
}

pub(crate) fn hex_digest(hash: &[u8]) -> Digest {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    // 64 lowercase hex digits always parse; fall back to a distinct value rather than panic.
    Digest::parse(&format!("sha256:{hex}")).unwrap_or_else(|_| unreachable_digest())
}

fn unreachable_digest() -> Digest {
    match Digest::parse("sha256:0000000000000000000000000000000000000000000000000000000000000000") {
        Ok(d) => d,
        Err(_) => unreachable!("a constant digest parses"),
    }
}

pub(crate) fn not_found_platform(
    reference: &str,
    wanted: &Platform,
    entries: &[IndexEntry],
) -> OciError {
    let names = platform_names(entries);
    OciError::PlatformNotFound {
        reference: reference.to_owned(),
        wanted: wanted.to_string(),
        available: if names.is_empty() {
            "no platforms".into()
        } else {
            names.join(", ")
        },
    }
}
