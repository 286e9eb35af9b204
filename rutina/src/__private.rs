//! What the output of `#[rutina::routine]` names: public items under stable paths. Not
//! public API: it may change in any release.
//!
//! Nothing here may show in a diagnostic: the bounds a user's code can fail are all on
//! public items ([`Routine`], [`IntoRoutine`], [`RoutineReturn`], [`Provides`]), so that
//! an error names what the user can look up.

pub use crate::{
    Backoff, BoxError, Context, FromRef, IntoRoutine, Main, Options, Policy, Provides, Routine, RoutineReturn,
    RunOptions, Rutina, ShutdownOrder, StatefulRoutine, WithState,
};
pub use ::core::time::Duration;

/// The keeper of a singleton routine's lease, for rutina's own integration tests
/// against real backends (`tests/lease_postgres.rs`); the supervisor is its caller.
pub use crate::lease::keeper::{Keeper, Lost};
