//! What the three implementations share: the error type and the readiness counter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How many counted routines have reached their wait for cancellation. Global, so
/// that counting adds no state to a routine.
pub static READY: AtomicUsize = AtomicUsize::new(0);

/// Marks one counted routine as started.
pub fn ready() {
    READY.fetch_add(1, Ordering::Relaxed);
}

/// Waits (untimed) until `n` counted routines have started, then resets the count.
pub async fn all_ready(n: usize) {
    while READY.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    READY.store(0, Ordering::Relaxed);
}

/// The failure of the failing routine.
pub fn boom() -> std::io::Error {
    std::io::Error::other("boom")
}
