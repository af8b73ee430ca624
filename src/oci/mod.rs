//! Registry (OCI distribution) I/O: authentication, manifests and blobs, inspection, layer
//! listing, and registry-to-registry copy.
//!
//! Reading goes through the `oci-client` crate: its challenge → token flow (anonymous or with
//! Basic credentials, scoped per repository), token cache and refresh, and its manifest and blob
//! pulls with digest checks. Writing to the copy target uses `reqwest` (the same client stack
//! oci-client is built on, rustls) for the HTTP calls, with the token oci-client obtained,
//! because oci-client 0.18 cannot:
//! - stream a blob in one upload: `push_blob_stream` sends each stream item as its own `PATCH`
//!   (thousands of requests for a large layer read from the network), and its monolithic mode
//!   is a client-wide switch;
//! - treat a `202` answer to a cross-repository mount as "not mounted, here is an upload
//!   session": it returns an error and leaves the session open;
//! - report the registry's message and `WWW-Authenticate` challenge on a refused push, or push a
//!   manifest by digest to a registry that omits `Location` without panicking.
//!
//! A copy into a repository mounts each blob it can from another repository of the target
//! registry: the source's own, when it is there, or where this process last put or found the
//! blob ([`blob_places`]).
//!
//! Mirrors (`--registry-mirror HOST=URL`) change only where requests go; image names, and so
//! ECR paths and HealthOmics mappings, keep the upstream host.

pub mod auth;
pub mod blob_places;
pub mod copy;
pub mod endpoint;
pub mod error;
pub mod layers;
pub mod media;
pub mod registry;
pub mod retry;

pub use auth::{Challenge, Credentials, CredentialsError, Secret};
pub use blob_places::BlobPlaces;
pub use copy::{CopyProgress, CopyReport, CopyRequest, CopyTarget, ProgressFn};
pub use endpoint::{Endpoint, MIRRORS_ENV, Mirrors, Scheme};
pub use error::OciError;
pub use layers::LayerListing;
pub use media::{Descriptor, IndexEntry, ManifestKind};
pub use registry::{
    ClientOptions, DEFAULT_CONCURRENCY, ImageInspection, ManifestHead, RegistryClient,
    SelectedImage,
};
