// A `backoff` range that goes down.
#[rutina::routine(backoff = "30s..100ms")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
