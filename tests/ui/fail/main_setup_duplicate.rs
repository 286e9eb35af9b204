#[rutina::routine]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn init() {}

fn init_logging() {}

rutina::main! { routines: [poll], setup: init, setup: init_logging }
