// A `shutdown_delay` that is not a duration.
#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { routines: [server], shutdown_delay: "5 parsecs" }
