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
