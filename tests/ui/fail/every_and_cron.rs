// `every` and `cron` are two schedules: one at most.
#[rutina::routine(every = "5m", cron = "0 */5 * * * *")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
