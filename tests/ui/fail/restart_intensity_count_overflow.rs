#[rutina::routine(on_error = Restart, restart_intensity = (4294967296, "1m"))]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
