// A cron expression croner rejects: the error quotes croner's reason.
#[rutina::routine(cron = "61 * * * *")]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(poll);
