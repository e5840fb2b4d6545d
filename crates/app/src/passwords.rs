//! Password hashing at a bounded cost.
//!
//! An argon2id hash takes tens of milliseconds of CPU and 19 MiB of memory on purpose, and anyone
//! can ask for one by trying to sign in. Hashes therefore run on a fixed set of threads of their
//! own (one per core unless `RAPPORT_PASSWORD_HASHERS` says otherwise), never on the async
//! workers and never on an unbounded pool: at most that many hashes run at once, so the memory
//! they take is bounded by the number of threads, whatever the load. A request waits for a free
//! hasher at most `RAPPORT_PASSWORD_QUEUE_WAIT_MS`; beyond that it is answered 503 with
//! `Retry-After` instead of piling up.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{AppError, AppResult, crypto};

/// Work for a hashing thread, given the thread's own argon2 memory.
type Work = Box<dyn FnOnce(&mut crypto::HashMemory) + Send>;

/// The bounded pool of password hashers. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    wait: Duration,
    work: mpsc::Sender<Work>,
    threads: usize,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("threads", &self.threads)
            .field("wait", &self.wait)
            .finish()
    }
}

/// Seconds a caller turned away is told to wait before trying again.
const RETRY_AFTER_SECS: u64 = 2;

impl PasswordHasher {
    /// Starts `threads` hashing threads; callers wait at most `wait` for one of them.
    pub fn new(threads: usize, wait: Duration) -> PasswordHasher {
        let threads = threads.max(1);
        let (work, queue) = mpsc::channel::<Work>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("rapport-password-{n}"))
                .spawn(move || {
                    // Allocated at the first hash and kept: 19 MiB per thread, whatever the load.
                    let mut memory = crypto::HashMemory::new();
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(&mut memory),
                            // Every sender is gone: the application is shutting down.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        PasswordHasher {
            permits: Arc::new(Semaphore::new(threads)),
            wait,
            work,
            threads,
        }
    }

    /// How many hashes may run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on a hashing thread once one is free, or answers [`AppError::Busy`] when none
    /// frees up in time. The permit travels with the work and is released when the work ends,
    /// even if the caller has gone away meanwhile, so abandoned requests cannot queue more work
    /// than there are threads.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crypto::HashMemory) -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit: OwnedSemaphorePermit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(AppError::Internal("password hashers closed".into())),
                Err(_) => {
                    tracing::warn!("every password hasher stayed busy: answering 503");
                    return Err(AppError::Busy {
                        retry_after_secs: RETRY_AFTER_SECS,
                    });
                }
            };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Work = Box::new(move |memory| {
            let _ = done.send(f(memory));
            drop(permit);
        });
        self.work
            .send(job)
            .map_err(|_| AppError::Internal("password hashers stopped".into()))?;
        result
            .await
            .map_err(|_| AppError::Internal("a password hashing thread failed".into()))
    }

    /// Hashes a password with argon2id and a random salt.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.run(move |memory| {
            crypto::hash_password_in(&password, memory).map_err(|e| e.to_string())
        })
        .await?
        .map_err(AppError::Internal)
    }

    /// Whether `password` matches `hash`.
    pub async fn verify(&self, password: String, hash: String) -> AppResult<bool> {
        self.run(move |memory| crypto::verify_password_in(&password, &hash, memory))
            .await
    }

    /// Checks a password for an account that may not exist: against `hash` when there is one,
    /// else against a dummy hash, so the answer takes the same time either way.
    pub async fn verify_or_dummy(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        let known = hash.is_some();
        let checked = self
            .run(move |memory| {
                let hash = hash.unwrap_or_else(|| crypto::dummy_password_hash().to_owned());
                crypto::verify_password_in(&password, &hash, memory)
            })
            .await?;
        Ok(known && checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_made_in_kept_memory_are_standard_argon2id_strings() {
        let mut memory = crypto::HashMemory::new();
        let ours = crypto::hash_password_in("a long enough password", &mut memory).expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The library's own verifier accepts it, and ours accepts the library's hashes.
        assert!(crypto::verify_password("a long enough password", &ours));
        assert!(!crypto::verify_password("another password", &ours));
        let theirs = crypto::hash_password("a long enough password").expect("hash");
        assert!(crypto::verify_password_in(
            "a long enough password",
            &theirs,
            &mut memory
        ));
        assert!(!crypto::verify_password_in(
            "another password",
            &theirs,
            &mut memory
        ));
        assert!(!crypto::verify_password_in("x", "not a hash", &mut memory));
        // The memory is kept, not grown, from one hash to the next.
        let kept = memory.len();
        crypto::hash_password_in("a long enough password", &mut memory).expect("hash");
        assert_eq!(memory.len(), kept);
        assert_eq!(kept, 19456);
    }

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hasher = PasswordHasher::new(1, Duration::from_secs(30));
        let hash = hasher
            .hash("a long enough password".into())
            .await
            .expect("hash");
        assert!(
            hasher
                .verify("a long enough password".into(), hash.clone())
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("another password".into(), hash)
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify_or_dummy("anything".into(), None)
                .await
                .expect("dummy")
        );
    }

    #[tokio::test]
    async fn callers_beyond_the_threads_wait_briefly_then_are_told_to_retry() {
        let hasher = PasswordHasher::new(1, Duration::from_millis(50));
        // Hold the only hasher for a while.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let busy = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.run(move |_| held.recv().is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        match hasher.verify("x".into(), "y".into()).await {
            Err(AppError::Busy { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected busy, got {other:?}"),
        }
        release.send(()).expect("release");
        assert!(busy.await.expect("join").expect("ran"));
        // Free again: the next caller is served.
        assert!(
            !hasher
                .verify("x".into(), "not a hash".into())
                .await
                .expect("served")
        );
    }
}
