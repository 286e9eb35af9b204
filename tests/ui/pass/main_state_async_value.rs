// `state: make`, an `async fn` returning the state itself.
#[derive(Clone, Debug, PartialEq)]
struct App(u32);

async fn make() -> App {
    tokio::task::yield_now().await;
    App(7)
}

#[rutina::routine]
async fn check(app: App) -> Result<(), String> {
    if app == App(7) { Ok(()) } else { Err(format!("unexpected {app:?}")) }
}

rutina::main! { state: make, routines: [check] }
