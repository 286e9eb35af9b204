//! Keeps the panics a test makes on purpose out of the test output, while every other
//! panic is still printed by the default hook.

use std::sync::{Mutex, Once};

/// The messages prefixes of the panics made on purpose.
static PREFIXES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// From now on, panics whose message starts with `prefix` print nothing. Idempotent;
/// the hook is installed once per test binary.
pub fn quiet_panics_starting_with(prefix: &'static str) {
    static HOOK: Once = Once::new();
    {
        let mut prefixes = PREFIXES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            let quiet = PREFIXES
                .lock()
                .map(|prefixes| prefixes.iter().any(|prefix| message.starts_with(prefix)))
                .unwrap_or(false);
            if !quiet {
                default(info);
            }
        }));
    });
}
