// A `backoff` range from zero: it would never grow.
#[rutina::routine(backoff = "0s..30s")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
