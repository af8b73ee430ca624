//! Where this process last saw each blob in a target registry, so that a copy into a new
//! repository can mount a layer from a repository that already holds it instead of uploading it
//! again (`POST …/blobs/uploads/?mount=<digest>&from=<repository>`).
//!
//! The MCP server is long-lived and an assistant often clones the same base image into several
//! repositories; skopeo keeps the same kind of memory (its blob-info cache) on disk. Ours lives
//! in memory only and is bounded ([`CAPACITY`] entries, oldest forgotten first), filled by every
//! blob a copy found, mounted or uploaded. It is only a hint: a repository may have been deleted
//! since, or (ECR) hold the blob without an image that references it. The registry then answers
//! the mount with `202` and an upload session, the copy uploads as it would have, and the entry
//! is forgotten.

use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex};

use crate::core::image_ref::Digest;

/// Most blobs remembered, over all registries: a few hundred images' layers, well under a MiB.
pub const CAPACITY: usize = 4096;

/// A blob in one registry: (registry authority, digest).
type Key = (String, Digest);

/// Digest → the repository that held it last, per registry; bounded, oldest entry out first.
#[derive(Debug)]
pub struct BlobPlaces {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    places: HashMap<Key, String>,
    /// Keys in the order they were first remembered: the front is forgotten when full.
    order: VecDeque<Key>,
}

static PROCESS: LazyLock<BlobPlaces> = LazyLock::new(|| BlobPlaces::new(CAPACITY));

impl BlobPlaces {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The memory every copy of this process shares.
    pub fn process() -> &'static BlobPlaces {
        &PROCESS
    }

    /// `repository` of `registry` holds `digest` now.
    pub fn remember(&self, registry: &str, digest: &Digest, repository: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let key = (registry.to_owned(), digest.clone());
        if let Some(place) = inner.places.get_mut(&key) {
            if place != repository {
                repository.clone_into(place);
            }
            return;
        }
        while inner.order.len() >= self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.places.remove(&oldest);
            }
        }
        inner.order.push_back(key.clone());
        inner.places.insert(key, repository.to_owned());
    }

    /// A repository of `registry` other than `except` that held `digest` when last seen.
    pub fn holder(&self, registry: &str, digest: &Digest, except: &str) -> Option<String> {
        let inner = self.inner.lock().ok()?;
        let key = (registry.to_owned(), digest.clone());
        inner
            .places
            .get(&key)
            .filter(|repository| repository.as_str() != except)
            .cloned()
    }

    /// `repository` could not give `digest` (deleted, or nothing references it there): stop
    /// offering it, unless another copy has since seen the blob elsewhere.
    pub fn forget(&self, registry: &str, digest: &Digest, repository: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let key = (registry.to_owned(), digest.clone());
        if inner.places.get(&key).is_some_and(|r| r == repository) {
            inner.places.remove(&key);
            inner.order.retain(|k| k != &key);
        }
    }

    /// Blobs remembered now.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.places.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::registry::sha256_digest;

    fn digest(n: u32) -> Digest {
        sha256_digest(&n.to_be_bytes())
    }

    #[test]
    fn remembers_per_registry_and_never_offers_the_target_itself() {
        let places = BlobPlaces::new(8);
        places.remember("r1", &digest(1), "base/a");
        assert_eq!(
            places.holder("r1", &digest(1), "base/b").as_deref(),
            Some("base/a")
        );
        assert_eq!(places.holder("r1", &digest(1), "base/a"), None);
        assert_eq!(places.holder("r2", &digest(1), "base/b"), None);
        assert_eq!(places.holder("r1", &digest(2), "base/b"), None);
        // The latest place wins: it is the one most recently known to hold the blob.
        places.remember("r1", &digest(1), "base/b");
        assert_eq!(
            places.holder("r1", &digest(1), "base/c").as_deref(),
            Some("base/b")
        );
        assert_eq!(places.len(), 1);
    }

    #[test]
    fn bounded_oldest_first() {
        let places = BlobPlaces::new(3);
        for n in 0..5 {
            places.remember("r", &digest(n), "repo");
        }
        assert_eq!(places.len(), 3);
        assert_eq!(places.holder("r", &digest(0), "other"), None);
        assert_eq!(places.holder("r", &digest(1), "other"), None);
        assert!(places.holder("r", &digest(4), "other").is_some());
    }

    #[test]
    fn forgets_only_the_place_that_failed() {
        let places = BlobPlaces::new(4);
        places.remember("r", &digest(1), "gone");
        places.forget("r", &digest(1), "elsewhere");
        assert!(places.holder("r", &digest(1), "x").is_some());
        places.forget("r", &digest(1), "gone");
        assert_eq!(places.holder("r", &digest(1), "x"), None);
        assert!(places.is_empty());
        // A forgotten key leaves the order too: the emptied memory holds four new blobs.
        for n in 2..6 {
            places.remember("r", &digest(n), "repo");
        }
        assert_eq!(places.len(), 4);
        assert!(places.holder("r", &digest(2), "x").is_some());
    }
}
