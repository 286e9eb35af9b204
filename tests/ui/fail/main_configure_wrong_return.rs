// A `configure` fn that returns something other than the options (or a `Result` of them).
fn configure(options: rutina::Options) -> std::time::Duration {
    let _ = options;
    std::time::Duration::from_secs(5)
}

#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { configure: configure, routines: [server] }
