#[rutina::routine]
async fn poll(_ctx: rutina::Context) -> Option<()> {
    None
}

rutina::main!(poll);
