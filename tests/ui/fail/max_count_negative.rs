#[rutina::routine(on_done = Restart, max_count = -1)]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
