// A parameter whose type the state cannot provide.
use std::sync::Arc;

#[derive(Clone)]
struct Db;
struct Config;

#[derive(Clone, rutina::FromRef)]
struct App {
    db: Db,
}

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, _db: Db, _config: Arc<Config>) -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::main]
async fn main() {
    let rutina = rutina::Rutina::default();
    rutina.go(consumer.with_state(App { db: Db }));
}
