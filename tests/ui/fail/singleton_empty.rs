// An empty `singleton` key.
#[rutina::routine(singleton = "")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
