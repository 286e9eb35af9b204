#[rutina::routine(on_error = Restart, restart_intensity = (5, "1m", "10s"))]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
