// A `backoff` range without its largest delay.
#[rutina::routine(backoff = "100ms..")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
