//! File paths of a layer, read from its tar headers while the layer streams past.
//!
//! The `/tmp` rule needs the paths only; layers can be gigabytes, so the blob is decompressed
//! and walked as a stream on a blocking thread (flate2 and tar are synchronous) and never held.

use std::io::Read;

use futures::TryStreamExt;
use oci_client::RegistryOperation;
use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::core::image_ref::ImageReference;
use crate::oci::auth::Credentials;
use crate::oci::error::OciError;
use crate::oci::media::{Descriptor, LayerCompression, layer_compression};
use crate::oci::registry::RegistryClient;

/// The paths found in one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LayerListing {
    /// Entry paths as stored (relative, e.g. `usr/bin/samtools`, `tmp/x`), directories included.
    pub paths: Vec<String>,
    /// True when `limit` stopped the walk before the end of the layer.
    pub truncated: bool,
    /// Bytes of the uncompressed tar stream, when the whole layer was read.
    pub uncompressed_size: Option<u64>,
}

impl RegistryClient {
    /// Lists up to `limit` paths of `layer` (one of the image's layer descriptors). Gzip and
    /// uncompressed layers are read; zstd layers are refused as unsupported.
    pub async fn layer_paths(
        &self,
        reference: &ImageReference,
        layer: &Descriptor,
        auth: &Credentials,
        limit: usize,
    ) -> Result<LayerListing, OciError> {
        let compression = match layer_compression(&layer.media_type) {
            Some(LayerCompression::Zstd) => {
                return Err(OciError::UnsupportedMediaType {
                    media_type: layer.media_type.clone(),
                    message:
                        "zstd-compressed layers cannot be listed yet; the other checks still apply"
                            .into(),
                });
            }
            Some(c) => c,
            None => {
                return Err(OciError::UnsupportedMediaType {
                    media_type: layer.media_type.clone(),
                    message: "not a tar layer".into(),
                });
            }
        };
        let source = self.source(reference, auth);
        source.authenticate(RegistryOperation::Pull).await?;
        let stream = source.blob_stream(layer).await?;
        let registry = source.registry().to_owned();
        let what = format!("layer {}", layer.digest);

        // Errors from the stream travel through std::io as `OciError` and are recovered below.
        let reader = StreamReader::new(stream.map_err(std::io::Error::other));
        let bridge = SyncIoBridge::new(reader);
        let walk = tokio::task::spawn_blocking(move || walk_tar(bridge, compression, limit));
        let result = walk
            .await
            .map_err(|e| OciError::protocol(&registry, format!("reading {what} stopped: {e}")))?;
        result.map_err(|e| {
            if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<OciError>()) {
                return inner.clone();
            }
            OciError::protocol(
                &registry,
                format!("{what} is not a readable tar stream: {e}"),
            )
        })
    }
}

/// Counts bytes read, for the uncompressed size.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn walk_tar<R: Read>(
    reader: R,
    compression: LayerCompression,
    limit: usize,
) -> std::io::Result<LayerListing> {
    let decoded: Box<dyn Read> = match compression {
        LayerCompression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        _ => Box::new(reader),
    };
    let mut counting = Counting {
        inner: decoded,
        count: 0,
    };
    let mut paths = Vec::new();
    let mut truncated = false;
    {
        let mut archive = tar::Archive::new(&mut counting);
        for entry in archive.entries()? {
            let entry = entry?;
            if paths.len() >= limit {
                truncated = true;
                break;
            }
            paths.push(entry.path()?.to_string_lossy().into_owned());
        }
    }
    if truncated {
        return Ok(LayerListing {
            paths,
            truncated,
            uncompressed_size: None,
        });
    }
    // Drain the end-of-archive padding so the size and the digest check see every byte.
    std::io::copy(&mut counting, &mut std::io::sink())?;
    Ok(LayerListing {
        paths,
        truncated,
        uncompressed_size: Some(counting.count),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            let appended = builder.append_data(&mut header, path, *data);
            assert!(appended.is_ok());
        }
        builder.into_inner().unwrap_or_default()
    }

    #[test]
    fn walks_gzip_and_plain() {
        let long = format!("opt/{}/file", "d".repeat(150));
        let raw = tar_bytes(&[
            ("tmp/a", b"x"),
            ("usr/bin/tool", &[7u8; 3000]),
            (&long, b"y"),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        assert!(std::io::Write::write_all(&mut gz, &raw).is_ok());
        let gz = gz.finish().unwrap_or_default();

        let plain = walk_tar(&raw[..], LayerCompression::None, 100).ok();
        let zipped = walk_tar(&gz[..], LayerCompression::Gzip, 100).ok();
        assert_eq!(plain, zipped);
        let listing = plain.unwrap_or_else(|| panic!("walk failed"));
        assert_eq!(
            listing.paths,
            vec!["tmp/a".to_owned(), "usr/bin/tool".into(), long]
        );
        assert_eq!(listing.uncompressed_size, Some(raw.len() as u64));
        assert!(!listing.truncated);

        let cut = walk_tar(&gz[..], LayerCompression::Gzip, 1).ok();
        assert_eq!(cut.as_ref().map(|l| l.paths.len()), Some(1));
        assert_eq!(cut.as_ref().map(|l| l.truncated), Some(true));
        assert_eq!(cut.and_then(|l| l.uncompressed_size), None);

        assert!(walk_tar(&b"definitely not gzip"[..], LayerCompression::Gzip, 10).is_err());
    }
}
