// `state: App::connect`, an `async fn` returning `anyhow::Result<App>`: routines with
// parameters take them from it, routines without (a `#[rutina::routine]` item, a
// hand-written `Routine`) ignore it.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rutina::{BoxError, Context, Routine};

#[derive(Clone)]
struct Db {
    url: Arc<str>,
}

#[derive(Clone, rutina::FromRef)]
struct App {
    db: Db,
    runs: Arc<AtomicU32>,
}

impl App {
    async fn connect() -> anyhow::Result<App> {
        tokio::task::yield_now().await;
        Ok(App { db: Db { url: "postgres://localhost/app".into() }, runs: Arc::default() })
    }
}

#[rutina::routine]
async fn consumer(_ctx: Context, db: Db, runs: Arc<AtomicU32>) -> Result<(), std::io::Error> {
    assert_eq!(&*db.url, "postgres://localhost/app");
    runs.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[rutina::routine]
async fn whole(app: App) -> Result<(), std::io::Error> {
    app.runs.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[rutina::routine]
async fn stateless() -> Result<(), std::io::Error> {
    Ok(())
}

struct Ticker;

impl Routine for Ticker {
    async fn run(&mut self, _ctx: Context) -> Result<(), BoxError> {
        Ok(())
    }
}

rutina::main! {
    state: App::connect,
    routines: [consumer, whole, stateless, Ticker],
}
