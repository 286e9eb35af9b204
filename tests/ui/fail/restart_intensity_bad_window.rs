#[rutina::routine(on_error = Restart, restart_intensity = (5, "1 fortnight"))]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
