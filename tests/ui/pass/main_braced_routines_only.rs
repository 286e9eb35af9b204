// `rutina::main! { routines: [..] }`: the timeout is optional.
#[rutina::routine]
async fn only(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { routines: [only] }
