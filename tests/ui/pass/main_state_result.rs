// `state: config::load`, a plain fn returning `Result<App, std::io::Error>`.
#[derive(Clone, Debug, PartialEq)]
struct App(u32);

mod config {
    pub fn load() -> Result<super::App, std::io::Error> {
        Ok(super::App(7))
    }
}

#[rutina::routine]
async fn check(app: App) -> Result<(), String> {
    if app == App(7) { Ok(()) } else { Err(format!("unexpected {app:?}")) }
}

rutina::main! { state: config::load, routines: [check] }
