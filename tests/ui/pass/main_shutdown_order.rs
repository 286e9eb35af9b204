// `shutdown_order: ReverseStart` reaches the group: the routine started first is
// cancelled only once the one started after it has ended. (Under `AllAtOnce` both are
// cancelled together, and `database` may see the flag unset.)
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static SERVER_STOPPED: AtomicBool = AtomicBool::new(false);

#[rutina::routine]
async fn database(ctx: rutina::Context) -> Result<(), &'static str> {
    ctx.cancelled().await;
    if SERVER_STOPPED.load(Ordering::SeqCst) { Ok(()) } else { Err("stopped before the server") }
}

#[rutina::routine]
async fn server(ctx: rutina::Context) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    tokio::time::sleep(Duration::from_millis(50)).await; // draining
    SERVER_STOPPED.store(true, Ordering::SeqCst);
    Ok(())
}

#[rutina::routine(on_done = Shutdown)]
async fn job() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! {
    routines: [database, server, job],
    shutdown_order: ReverseStart,
}
