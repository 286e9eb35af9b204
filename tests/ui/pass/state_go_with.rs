// `go_with(r.with_state(app), options)` replaces the declared options.
use rutina::{Policy, Routine, RunOptions, Rutina};

#[rutina::routine(name = "declared", on_done = Restart)]
async fn counter(_ctx: rutina::Context, start: u32) -> Result<(), std::io::Error> {
    assert_eq!(start, 7);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let routine = counter.with_state(7_u32);
    assert_eq!(routine.options(), RunOptions::default().name("declared").on_done(Policy::Restart));
    let rutina = Rutina::default();
    rutina.go_with(routine, RunOptions::default().on_done(Policy::Shutdown));
    rutina.wait().await.unwrap();
}
