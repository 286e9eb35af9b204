// `state` names an fn: not a closure.
#[derive(Clone)]
struct App;

#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { state: || App, routines: [server] }
