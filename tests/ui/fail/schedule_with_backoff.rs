// A backoff does not apply to a schedule: every next run waits for the next tick.
#[rutina::routine(every = "1m", backoff = "1s")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
