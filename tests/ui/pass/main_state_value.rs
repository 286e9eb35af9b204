// `state: make`, a plain fn returning the state itself.
#[derive(Clone, Debug, PartialEq)]
struct App(u32);

fn make() -> App {
    App(7)
}

#[rutina::routine]
async fn check(app: App) -> Result<(), String> {
    if app == App(7) { Ok(()) } else { Err(format!("unexpected {app:?}")) }
}

rutina::main! { state: make, routines: [check] }
