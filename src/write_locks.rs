//! One writer at a time per policy inside this process.
//!
//! Assistants call tools in parallel, and every write here is read → merge → write → verify of a
//! whole document (a repository policy, the registry policy, a creation template). Two such
//! sequences interleaved lose one writer's statement; holding the document's lock across the
//! whole sequence makes the second writer read the first one's result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A document that is written as a whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum WriteTarget {
    /// The registry permissions policy of the region.
    RegistryPolicy,
    RepositoryPolicy(String),
    CreationTemplate(String),
    /// A pull-through cache rule and the secret created for it.
    PullThroughCacheRule(String),
    /// A repository being created (so concurrent clones reuse it).
    Repository(String),
}

impl WriteTarget {
    fn key(&self, scope: &str) -> String {
        match self {
            Self::RegistryPolicy => format!("{scope}/registry-policy"),
            Self::RepositoryPolicy(name) => format!("{scope}/repository-policy/{name}"),
            Self::CreationTemplate(prefix) => format!("{scope}/template/{prefix}"),
            Self::PullThroughCacheRule(prefix) => format!("{scope}/rule/{prefix}"),
            Self::Repository(name) => format!("{scope}/repository/{name}"),
        }
    }
}

/// Locks by document; an entry lives only while someone holds or waits for it, so the map stays
/// as small as the number of writes in flight.
#[derive(Debug, Default)]
pub struct WriteLocks {
    locks: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

/// Held for the whole read-merge-write-verify; dropping it lets the next writer in.
#[must_use]
#[derive(Debug)]
pub struct WriteGuard {
    _held: Vec<OwnedMutexGuard<()>>,
}

impl WriteLocks {
    /// Waits for every target of `scope` (an account and region) in one fixed order, so two
    /// callers that want overlapping sets cannot deadlock.
    pub async fn lock(&self, scope: &str, targets: &[WriteTarget]) -> WriteGuard {
        let mut keys: Vec<String> = targets.iter().map(|t| t.key(scope)).collect();
        keys.sort();
        keys.dedup();
        let mutexes: Vec<Arc<AsyncMutex<()>>> = keys.iter().map(|k| self.entry(k)).collect();
        let mut held = Vec::with_capacity(mutexes.len());
        for mutex in mutexes {
            held.push(mutex.lock_owned().await);
        }
        WriteGuard { _held: held }
    }

    fn entry(&self, key: &str) -> Arc<AsyncMutex<()>> {
        // A poisoned map only means another thread panicked between two map operations; the
        // map itself is still consistent.
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.retain(|_, weak| weak.strong_count() > 0);
        if let Some(existing) = locks.get(key).and_then(Weak::upgrade) {
            return existing;
        }
        let fresh = Arc::new(AsyncMutex::new(()));
        locks.insert(key.to_owned(), Arc::downgrade(&fresh));
        fresh
    }

    /// Documents with a holder or waiter now (for tests of the bound).
    pub fn live_entries(&self) -> usize {
        let locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.values().filter(|w| w.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn writers_of_one_document_take_turns() {
        let locks = Arc::new(WriteLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _g = locks
                    .lock("123/us-east-1", &[WriteTarget::RegistryPolicy])
                    .await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(
            locks.live_entries(),
            0,
            "entries go away with their holders"
        );
    }

    #[tokio::test]
    async fn other_documents_and_scopes_do_not_wait() {
        let locks = WriteLocks::default();
        let _a = locks
            .lock("1/r", &[WriteTarget::RepositoryPolicy("a".into())])
            .await;
        let b = [WriteTarget::RepositoryPolicy("b".into())];
        let a = [WriteTarget::RepositoryPolicy("a".into())];
        let other = locks.lock("1/r", &b);
        let other_scope = locks.lock("2/r", &a);
        let both = async { tokio::join!(other, other_scope) };
        assert!(
            tokio::time::timeout(Duration::from_secs(1), both)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn overlapping_sets_in_any_order_do_not_deadlock() {
        let locks = Arc::new(WriteLocks::default());
        let x = [
            WriteTarget::RegistryPolicy,
            WriteTarget::CreationTemplate("q".into()),
        ];
        let y = [
            WriteTarget::CreationTemplate("q".into()),
            WriteTarget::RegistryPolicy,
        ];
        let run = |targets: [WriteTarget; 2]| {
            let locks = locks.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    let _g = locks.lock("s", &targets).await;
                    tokio::task::yield_now().await;
                }
            })
        };
        let (a, b) = (run(x), run(y));
        let done = tokio::time::timeout(Duration::from_secs(5), async {
            let _ = tokio::join!(a, b);
        });
        assert!(done.await.is_ok());
    }
}
