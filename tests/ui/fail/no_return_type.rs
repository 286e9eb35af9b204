#[rutina::routine]
async fn poll(_ctx: rutina::Context) {}

rutina::main!(poll);
