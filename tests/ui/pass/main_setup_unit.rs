// `setup: init`, an fn returning `()`: called once, before any routine starts.
use std::sync::atomic::{AtomicUsize, Ordering};

static SETUPS: AtomicUsize = AtomicUsize::new(0);

fn init() {
    SETUPS.fetch_add(1, Ordering::SeqCst);
}

#[rutina::routine]
async fn first() -> Result<(), String> {
    match SETUPS.load(Ordering::SeqCst) {
        1 => Ok(()),
        n => Err(format!("setup ran {n} times before the routine, not once")),
    }
}

rutina::main! {
    setup: init,
    routines: [first],
}
