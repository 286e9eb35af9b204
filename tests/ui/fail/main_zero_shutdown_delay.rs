// A zero `shutdown_delay`: no delay at all, which is what leaving it out means.
#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { routines: [server], shutdown_delay: "0s" }
