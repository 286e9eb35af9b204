// A routine with state, started with `go(r.with_state(app))`; the whole state, or a
// part of it derived with `FromRef`, for each parameter.
use std::sync::Arc;

use rutina::{Context, Rutina};

#[derive(Clone)]
struct Db;
struct Config {
    name: &'static str,
}

#[derive(Clone, rutina::FromRef)]
struct App {
    db: Db,
    config: Arc<Config>,
}

#[rutina::routine(on_done = Shutdown)]
async fn consumer(ctx: Context, db: Db, config: Arc<Config>, app: App) -> anyhow::Result<()> {
    let _ = (ctx, db, app);
    assert_eq!(config.name, "app");
    Ok(())
}

#[rutina::routine(on_done = Shutdown)]
async fn without_context(_db: Db) -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App { db: Db, config: Arc::new(Config { name: "app" }) };
    let rutina = Rutina::default();
    rutina.go(consumer.with_state(app.clone()));
    rutina.go(without_context.with_state(app));
    rutina.wait().await.unwrap();
}
