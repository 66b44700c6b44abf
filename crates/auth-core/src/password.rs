//! argon2id hashing (m = 19456 KiB, t = 2, p = 1: OWASP's parameters) on its own bounded pool.
//!
//! Hashing costs about 20 ms of CPU and 19 MiB of memory. It runs on a few dedicated threads
//! (half the cores, at least one), never on the async workers nor on the shared blocking pool:
//! - a burst of sign-ins queues for those threads, which run at the lowest priority, and leaves
//!   the cores to the requests that serve pages;
//! - each thread allocates its 19 MiB working memory once and reuses it for every hash and
//!   verification ([`Workspace`]): nothing is allocated and freed per hash, so the allocator has
//!   nothing to keep (per-hash allocations had the all-in-one server's peak memory at 104 MB, and
//!   above 1 GB when every blocking thread hashed).

use crate::domain::Password;
use crate::error::AuthError;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex, PoisonError};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};

pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;
/// Hashes waiting for a thread; beyond this, callers wait (backpressure) before queueing.
const QUEUE: usize = 256;
/// Salt and output lengths of new hashes (argon2's defaults, OWASP's recommendation).
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// A hashing thread's argon2 instance and the memory it hashes in, allocated once.
pub struct Workspace {
    argon: Argon2<'static>,
    blocks: Vec<Block>,
}

impl Workspace {
    fn new(argon: Argon2<'static>) -> Self {
        let blocks = vec![Block::new(); argon.params().block_count()];
        Self { argon, blocks }
    }

    /// The blocks for `params`, grown only if a stored hash asks for more memory than ours.
    fn blocks_for(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::new());
        }
        &mut self.blocks[..needed]
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh salt.
    fn hash(&mut self, password: &[u8]) -> Result<String, AuthError> {
        let fail = |e: &dyn std::fmt::Display| AuthError::Unexpected(format!("argon2: {e}"));
        let salt_bytes: [u8; SALT_LEN] = rand::random();
        let mut out = [0u8; OUTPUT_LEN];
        let argon = self.argon.clone();
        let params = argon.params().clone();
        argon
            .hash_password_into_with_memory(password, &salt_bytes, &mut out, self.blocks_for(&params))
            .map_err(|e| fail(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
            salt: Some(Salt::new(&salt_bytes).map_err(|e| fail(&e))?),
            hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Recomputes a stored hash with its own parameters and salt and compares in constant time.
    /// Anything unparsable is simply no match.
    fn verify(&mut self, password: &[u8], stored: &str) -> bool {
        let Ok(phc) = PasswordHash::new(stored) else { return false };
        let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(phc.algorithm.as_str()), Params::try_from(&phc)) else {
            return false;
        };
        let version = phc.version.and_then(|v| Version::try_from(v).ok()).unwrap_or_default();
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        if argon.hash_password_into_with_memory(password, salt, &mut out, self.blocks_for(&params)).is_err() {
            return false;
        }
        out.ct_eq(expected.as_bytes()).into()
    }
}

type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    jobs: mpsc::Sender<Job>,
    /// A hash of a random password, verified against when the email is unknown so that both
    /// failures cost the same time.
    dummy_hash: Arc<str>,
    /// Password verifications run so far (known and unknown accounts alike): a diagnostic, and
    /// what shows that an unknown email costs a verification too.
    verifications: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

fn argon() -> Result<Argon2<'static>, AuthError> {
    let params =
        Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN)).map_err(|e| AuthError::Unexpected(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// How many threads hash: half the cores, at least one.
pub fn pool_size() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

impl PasswordHasher {
    /// Starts the hashing threads; they end when the last `PasswordHasher` clone is dropped.
    pub fn new() -> Result<Self, AuthError> {
        let argon = argon()?;
        let random: [u8; 32] = rand::random();
        let dummy_hash = Workspace::new(argon.clone()).hash(&random)?;
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..pool_size() {
            let (queue, argon) = (Arc::clone(&queue), argon.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    // The lowest priority of the normal policy: a request worker that wants the
                    // core always gets it first; hashing uses what is left.
                    if let Err(e) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
                        tracing::warn!(error = ?e, "could not lower the argon2 thread's priority");
                    }
                    let mut workspace = Workspace::new(argon);
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).blocking_recv();
                        match job {
                            Some(job) => job(&mut workspace),
                            None => break,
                        }
                    }
                })
                .map_err(|e| AuthError::Unexpected(format!("starting the argon2 pool: {e}")))?;
        }
        Ok(Self { argon, jobs, dummy_hash: dummy_hash.into(), verifications: Arc::default() })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |workspace| {
            // The caller may have gone away (client disconnected); nothing to tell then.
            let _ = reply.send(work(workspace));
        });
        self.jobs.send(job).await.map_err(|_| AuthError::Unexpected("the argon2 pool has stopped".into()))?;
        answer.await.map_err(|_| AuthError::Unexpected("an argon2 job was dropped".into()))
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        self.run(move |workspace| workspace.hash(password.as_bytes())).await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown email) it checks against
    /// the dummy hash and answers false, taking the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AuthError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let counter = Arc::clone(&self.verifications);
        let matched = self
            .run(move |workspace| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Parameters come from the stored string, so raising them later keeps old
                // hashes verifiable.
                workspace.verify(password.as_bytes(), &hash)
            })
            .await?;
        Ok(known && matched)
    }

    /// Checks a new password's strength ([`Password::parse`]) and hashes it, both on the hashing
    /// threads: the strength check costs up to ~20 ms of CPU too, and must not hold a request
    /// worker.
    pub async fn parse_and_hash(&self, raw: String, context: Vec<String>) -> Result<String, AuthError> {
        self.run(move |workspace| {
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            let password = Password::parse(&raw, &context)?;
            workspace.hash(password.expose().as_bytes())
        })
        .await?
    }

    /// How many password verifications the hashing threads have run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Synchronous hash for the CLI and the demo seed (with memory of its own).
    pub fn hash_now(&self, password: &str) -> Result<String, AuthError> {
        Workspace::new(self.argon.clone()).hash(password.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters() {
        let hasher = PasswordHasher::new().unwrap();
        let hash = hasher.hash("correct horse battery staple".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery staple".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("correct horse battery stapl".into(), Some(hash.clone())).await.unwrap());
        let again = hasher.hash("correct horse battery staple".into()).await.unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
    }

    /// The nice value of the calling thread (Linux: field 19 of `/proc/thread-self/stat`).
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 1..];
        after_name.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    /// The hashing threads yield to every request: they run at the lowest priority of the normal
    /// policy (nice 19), not under `SCHED_IDLE` (docs/architecture.md, "Performance", says why).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_normal_priority() {
        let hasher = PasswordHasher::new().unwrap();
        let on_pool =
            hasher.run(|_| (own_nice(), thread_priority::unix::thread_schedule_policy().unwrap())).await.unwrap();
        assert_eq!(on_pool.0, 19, "the pool's own threads are niced to the lowest priority");
        assert_eq!(
            on_pool.1,
            thread_priority::unix::ThreadSchedulePolicy::Normal(
                thread_priority::unix::NormalThreadSchedulePolicy::Other
            ),
            "and stay in the normal policy"
        );
    }

    #[test]
    fn the_workspace_agrees_with_the_reference_implementation_and_keeps_its_memory() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let mut workspace = Workspace::new(argon().unwrap());
        let memory = workspace.blocks.as_ptr();
        let ours = workspace.hash(b"violet meadow studies algebra").unwrap();
        let reference = argon2::Argon2::default();
        let parsed = argon2::password_hash::phc::PasswordHash::new(&ours).unwrap();
        assert!(reference.verify_password(b"violet meadow studies algebra", &parsed).is_ok(), "{ours}");
        let theirs = argon().unwrap().hash_password(b"quiet river learns rust").unwrap().to_string();
        assert!(workspace.verify(b"quiet river learns rust", &theirs), "an existing hash still verifies");
        assert!(!workspace.verify(b"quiet river learns rusT", &theirs));
        assert!(!workspace.verify(b"anything", "$argon2id$v=19$m=19456,t=2,p=1$bm90IGEgaGFzaA$"), "malformed");
        assert_eq!(workspace.blocks.as_ptr(), memory, "one allocation per thread, reused");
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = PasswordHasher::new().unwrap();
        assert!(!hasher.verify("anything at all 123".into(), None).await.unwrap());
        assert!(!hasher.verify("anything at all 123".into(), Some("not a phc string".into())).await.unwrap());
    }

    #[tokio::test]
    async fn new_passwords_are_checked_and_hashed_on_the_pool() {
        let hasher = PasswordHasher::new().unwrap();
        let weak = hasher.parse_and_hash("a".repeat(128), vec!["ada@example.org".into()]).await;
        assert!(matches!(weak, Err(AuthError::Invalid { field: "password", .. })), "{weak:?}");
        let guessable = hasher.parse_and_hash("ada@example.org1".into(), vec!["ada@example.org".into()]).await;
        assert!(guessable.is_err(), "the user's own email does not make a password");
        let hash = hasher.parse_and_hash("violet meadow studies algebra".into(), vec![]).await.unwrap();
        assert!(hasher.verify("violet meadow studies algebra".into(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn hashing_runs_on_the_argon2_threads_never_on_the_caller() {
        let hasher = PasswordHasher::new().unwrap();
        let caller = std::thread::current().id();
        let (name, id) = hasher
            .run(|_| (std::thread::current().name().map(str::to_owned), std::thread::current().id()))
            .await
            .unwrap();
        assert!(name.unwrap_or_default().starts_with("argon2-"));
        assert_ne!(id, caller);
    }
}
