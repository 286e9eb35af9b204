// `configure: configure`, an `async fn` taking the group's options and returning a
// `Result` of them: the options' values can come from the environment at run time.
use std::time::Duration;

async fn configure(options: rutina::Options) -> Result<rutina::Options, std::num::ParseIntError> {
    let delay_ms: u64 = std::env::var("UI_SHUTDOWN_DELAY_MS").unwrap_or_else(|_| "0".into()).parse()?;
    Ok(options.shutdown_delay(Duration::from_millis(delay_ms)))
}

#[rutina::routine]
async fn check() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { routines: [check], shutdown_timeout: "5s", configure: configure }
