// An end of the `backoff` range that is not a duration.
#[rutina::routine(backoff = "100ms..30 parsecs")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
