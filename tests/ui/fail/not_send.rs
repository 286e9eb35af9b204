use std::rc::Rc;

#[rutina::routine]
async fn poll(ctx: rutina::Context) -> Result<(), std::io::Error> {
    let counter = Rc::new(1);
    ctx.cancelled().await;
    drop(counter);
    Ok(())
}

rutina::main!(poll);
