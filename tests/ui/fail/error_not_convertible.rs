#[rutina::routine]
async fn poll(_ctx: rutina::Context) -> Result<(), u32> {
    Err(7)
}

rutina::main!(poll);
