// A routine whose parameter the state made by `state` cannot provide.
use std::sync::Arc;

#[derive(Clone)]
struct Db;
struct Config;

#[derive(Clone, rutina::FromRef)]
struct App {
    db: Db,
}

fn make_state() -> App {
    App { db: Db }
}

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, _db: Db, _config: Arc<Config>) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { state: make_state, routines: [consumer] }
