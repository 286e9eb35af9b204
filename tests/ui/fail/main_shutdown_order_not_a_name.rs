#[rutina::routine]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { routines: [poll], shutdown_order: Policy::Restart }
