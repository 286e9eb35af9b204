//! Locking for the group's shared state.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`. Critical sections never call user code, so a lock poisoned by a panic
/// elsewhere still holds consistent data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
