// `backoff_reset` resets an exponential backoff, not a fixed delay.
#[rutina::routine(backoff = "1s", backoff_reset = "1m")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
