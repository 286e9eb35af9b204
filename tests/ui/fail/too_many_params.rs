#[rutina::routine]
async fn poll(_ctx: rutina::Context, _url: String) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
