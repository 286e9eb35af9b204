#[rutina::routine]
async fn poll<E: std::error::Error>(_ctx: rutina::Context) -> Result<(), E> {
    Ok(())
}

rutina::main!(poll);
