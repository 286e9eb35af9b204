// A routine without parameters ignores the state it is given: any state.
use std::rc::Rc;

use rutina::{Routine, RunOptions, Rutina};

#[rutina::routine(on_done = Shutdown)]
async fn tick(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Not even `Send`: it is dropped at once.
    let routine = tick.with_state(Rc::new(()));
    assert_eq!(routine.options(), RunOptions::default().name("tick").on_done(rutina::Policy::Shutdown));
    let rutina = Rutina::default();
    rutina.go(tick.with_state("any state"));
    rutina.go_with(routine, RunOptions::default());
    rutina.wait().await.unwrap();
}
