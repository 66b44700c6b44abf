//! Rule 7: a revoked session's tokens stop working everywhere within seconds, without a
//! database query per request.
//!
//! Every service keeps a [`RevokedSessions`] set in memory. Another crate refreshes it from the
//! database every few seconds ([`RevokedSessions::replace_all`]) and feeds it directly on logout
//! ([`RevokedSessions::insert`]); the [`Verifier`](crate::Verifier) only reads it, through the
//! [`RevocationCheck`] trait.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use uuid::Uuid;

/// Session ids hashed with foldhash: the set is read on every authenticated request.
type Sids = HashSet<Uuid, foldhash::fast::RandomState>;

/// Answers "is this session revoked?" on the request path; must not block on I/O.
pub trait RevocationCheck: Send + Sync {
    /// Whether tokens of `session_id` must be rejected.
    fn is_revoked(&self, session_id: &Uuid) -> bool;
}

/// The in-memory set of revoked session ids. Clones share the same set.
#[derive(Clone, Debug, Default)]
pub struct RevokedSessions {
    sids: Arc<RwLock<Sids>>,
}

impl RevokedSessions {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks one session revoked (logout, reuse detection).
    pub fn insert(&self, sid: Uuid) {
        self.write().insert(sid);
    }

    /// Replaces the whole set, e.g. with a fresh read of the database.
    pub fn replace_all(&self, sids: impl IntoIterator<Item = Uuid>) {
        // Collected before taking the lock, so the caller's iterator never runs under it.
        let fresh: Sids = sids.into_iter().collect();
        *self.write() = fresh;
    }

    /// Adds several sessions, e.g. those revoked since the last poll.
    pub fn extend(&self, sids: impl IntoIterator<Item = Uuid>) {
        let added: Vec<Uuid> = sids.into_iter().collect();
        self.write().extend(added);
    }

    /// How many sessions are revoked.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no session is revoked.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A set of ids cannot be left inconsistent by a panicking writer, so poisoning is ignored:
    // refusing to answer would fail open or closed for every request.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Sids> {
        self.sids.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Sids> {
        self.sids.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RevocationCheck for RevokedSessions {
    fn is_revoked(&self, session_id: &Uuid) -> bool {
        self.read().contains(session_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_extend_and_replace() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let revoked = RevokedSessions::new();
        assert!(revoked.is_empty());
        revoked.insert(a);
        revoked.extend([b]);
        assert_eq!(revoked.len(), 2);
        assert!(revoked.is_revoked(&a) && revoked.is_revoked(&b) && !revoked.is_revoked(&c));

        let shared = revoked.clone();
        shared.replace_all([c]);
        assert_eq!(revoked.len(), 1);
        assert!(!revoked.is_revoked(&a) && revoked.is_revoked(&c));
    }
}
