// `configure: config::options`, a plain fn returning the options themselves.
mod config {
    pub fn options(options: rutina::Options) -> rutina::Options {
        options.shutdown_order(rutina::ShutdownOrder::ReverseStart)
    }
}

#[rutina::routine]
async fn check() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { routines: [check], configure: config::options }
