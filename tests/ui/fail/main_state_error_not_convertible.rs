// A `state` fn returning a `Result` whose error is not an error type.
#[derive(Clone)]
struct App;

async fn connect() -> Result<App, u32> {
    Ok(App)
}

#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { state: connect, routines: [server] }
