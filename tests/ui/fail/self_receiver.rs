#[rutina::routine]
async fn poll(&self) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
