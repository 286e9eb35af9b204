// A `lease` fn that takes an argument: `main!` calls it with none.
#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

async fn connect(_url: &str) -> Result<std::sync::Arc<u8>, std::io::Error> {
    Ok(std::sync::Arc::new(0))
}

rutina::main! { lease: connect, routines: [server] }
