//! Whether this thread is dropping a run because its routine was aborted: a group whose
//! last handle goes with such a run aborts its own routines at once.

use std::cell::Cell;

thread_local! {
    /// How many supervisors this thread is dropping in the middle of a run: their
    /// routines' tasks were aborted (or their runtime shut down). A group whose last
    /// handle is dropped then, by the run it belonged to, aborts its own routines at once
    /// instead of giving them a grace period nobody would see the end of.
    static ABORTING: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread is dropping a run because its routine was aborted.
pub(crate) fn is_aborting() -> bool {
    ABORTING.with(|aborting| aborting.get() > 0)
}

/// Held across a run, declared after it: when the supervisor is dropped mid-run (its
/// task aborted), this is dropped first and marks the thread as aborting while the run
/// and what it owns are dropped. Forgotten when the run ends normally.
pub(crate) struct Aborting;

impl Drop for Aborting {
    fn drop(&mut self) {
        ABORTING.with(|aborting| aborting.set(aborting.get() + 1));
    }
}

/// Held across a run, declared before it: dropped after the run, it ends what `Aborting`
/// began. Forgotten when the run ends normally.
pub(crate) struct AbortEnds;

impl Drop for AbortEnds {
    fn drop(&mut self) {
        ABORTING.with(|aborting| aborting.set(aborting.get().saturating_sub(1)));
    }
}

/// Runs `f` (which drops a run) with the thread marked as aborting.
pub(crate) fn abort_scope(f: impl FnOnce()) {
    ABORTING.with(|aborting| aborting.set(aborting.get() + 1));
    f();
    ABORTING.with(|aborting| aborting.set(aborting.get().saturating_sub(1)));
}
