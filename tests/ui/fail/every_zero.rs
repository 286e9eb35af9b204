// A zero `every`: runs would start no time apart.
#[rutina::routine(every = "0s")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
