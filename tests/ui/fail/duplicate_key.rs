#[rutina::routine(max_count = 3, on_done = Restart, max_count = 5)]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
