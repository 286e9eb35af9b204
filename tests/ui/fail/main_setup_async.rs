#[rutina::routine]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

async fn init() -> anyhow::Result<()> {
    Ok(())
}

rutina::main! { routines: [poll], setup: init }
