//! [`Id`]: how a routine is named to the orchestrator.

use std::fmt;

/// The id of a routine within one [`Rutina`](crate::Rutina).
///
/// Ids start at 1, are never reused within one group and stay the same across
/// restarts. `Display` prints `#7`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = rutina::Rutina::default();
/// let id = rutina.go(|_ctx| async { Ok::<_, std::io::Error>(()) });
/// assert_eq!(id.get(), 1);
/// assert_eq!(id.to_string(), "#1");
/// # rutina.wait().await.unwrap();
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Id(u64);

impl Id {
    /// The id of a [detached](crate::Context::detached) context, which no group gives out.
    pub(crate) const DETACHED: Id = Id(0);

    pub(crate) const fn new(value: u64) -> Id {
        Id(value)
    }

    /// The number behind the id.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl From<Id> for u64 {
    fn from(id: Id) -> u64 {
        id.0
    }
}

/// A map keyed by [`Id`], hashed with [`IdHasher`].
pub(crate) type IdMap<V> = std::collections::HashMap<Id, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Hashes ids for the maps keyed by them. Ids are handed out in sequence: keeping an
/// id's low bits in the hash puts consecutive ids in consecutive buckets, so a map of
/// many routines is walked instead of missing the cache on every entry; a
/// multiplicative mix fills the high bits that `HashMap` uses as tags. Ids are never
/// chosen by users, so a keyed hash would buy nothing here.
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    /// The bits `HashMap` takes its 7-bit tags from.
    const TAG_BITS: u64 = !(u64::MAX >> 7);
}

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, n: u64) {
        let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = (n & !Self::TAG_BITS) | (mixed & Self::TAG_BITS);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Id`, whose `Hash` writes one `u64`; kept correct all the same.
        for &byte in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(byte));
        }
    }
}
