// `reload` is a flag: `reload`, `reload = true` or `reload = false`.
#[rutina::routine(reload = "yes")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
