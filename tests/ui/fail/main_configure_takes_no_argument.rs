// A `configure` fn that takes no argument: `main!` calls it with the group's options.
fn configure() -> rutina::Options {
    rutina::Options::default()
}

#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { configure: configure, routines: [server] }
