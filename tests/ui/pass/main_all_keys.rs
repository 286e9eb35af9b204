// Every key of `rutina::main!`, the shutdown order written as a full path.
#[rutina::routine]
async fn first(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn init_logging() -> Result<(), rutina::BoxError> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).try_init()
}

rutina::main! {
    routines: [first],
    shutdown_timeout: "30s",
    shutdown_order: rutina::ShutdownOrder::AllAtOnce,
    setup: init_logging,
}
