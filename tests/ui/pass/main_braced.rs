// `rutina::main! { routines: [..], shutdown_timeout: ".." }`.
#[rutina::routine]
async fn first(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine]
async fn second() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! {
    routines: [first, second],
    shutdown_timeout: "30s",
}
