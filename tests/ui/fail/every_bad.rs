// `every` takes a humantime duration.
#[rutina::routine(every = "2 parsecs")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
