// A zero `heartbeat`: every run would be hung at once.
#[rutina::routine(heartbeat = "0s")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
