//! Whether this thread is dropping a run because its routine was aborted (its task
//! aborted, or the run past its time limit): a group whose last handle goes with such a
//! run aborts its own routines at once, instead of giving them a grace period nobody
//! would see the end of.

use std::cell::Cell;

thread_local! {
    /// How many runs this thread is dropping because they were aborted.
    static ABORTING: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread is dropping a run because its routine was aborted.
pub(crate) fn is_aborting() -> bool {
    ABORTING.with(|aborting| aborting.get() > 0)
}

/// Runs `f` (which drops a run) with the thread marked as aborting.
pub(crate) fn abort_scope(f: impl FnOnce()) {
    ABORTING.with(|aborting| aborting.set(aborting.get() + 1));
    f();
    ABORTING.with(|aborting| aborting.set(aborting.get().saturating_sub(1)));
}
