// A `state` fn that takes an argument: `main!` calls it with none.
#[derive(Clone)]
struct App;

fn make_state(_port: u16) -> App {
    App
}

#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { state: make_state, routines: [server] }
