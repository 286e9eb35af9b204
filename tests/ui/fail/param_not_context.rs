#[rutina::routine]
async fn poll(_url: String) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
