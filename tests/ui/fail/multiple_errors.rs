// Every mistake of one attribute and its fn, reported in one compile.
#[rutina::routine(on_done = Restarts, timeout = "soon", max_count = -1, retries = 3)]
fn poll(ctx: rutina::Context, url: &str) -> Result<(), std::io::Error> {
    let _ = (ctx, url);
    Ok(())
}

rutina::main!(poll);
