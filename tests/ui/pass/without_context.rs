// The `ctx` parameter may be omitted.
use rutina::{Routine, RunOptions};

#[rutina::routine(on_done = Shutdown)]
async fn once() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    assert_eq!(
        once.options(),
        RunOptions::default()
            .name("once")
            .on_done(rutina::Policy::Shutdown)
    );
    let _future = once::call();
}
