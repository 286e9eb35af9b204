//! Routines with state: `FromRef` (the blanket impl and the derive), parameters taken
//! from the state afresh for every run, and `with_state` keeping the declared options
//! (which `go_with` replaces). Paused clock throughout.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rutina::{Context, Error, FromRef, Policy, Routine, RunOptions, Rutina, WithState};

/// Long enough that only a hang reaches it (time is paused: it costs nothing).
const NEVER: Duration = Duration::from_secs(3600);

async fn wait(rutina: &Rutina) -> Result<(), Error> {
    tokio::time::timeout(NEVER, rutina.wait()).await.expect("the group should have stopped on its own")
}

#[derive(Clone, Debug, PartialEq)]
struct Db(&'static str);

#[derive(Debug)]
struct Config {
    queue: &'static str,
}

#[derive(Clone, FromRef)]
struct App {
    db: Db,
    config: Arc<Config>,
    #[from_ref(skip)]
    replica: Db,
    retries: u32,
}

fn app() -> App {
    App { db: Db("primary"), config: Arc::new(Config { queue: "jobs" }), replica: Db("replica"), retries: 3 }
}

#[test]
fn every_clone_type_is_taken_from_itself() {
    assert_eq!(u32::from_ref(&7), 7);
    assert_eq!(String::from_ref(&"whole".to_owned()), "whole");
    let app = app();
    let whole = App::from_ref(&app);
    assert_eq!((whole.db, whole.retries), (Db("primary"), 3));
}

#[test]
fn the_derive_takes_each_field_but_the_skipped_ones() {
    let app = app();
    assert_eq!(Db::from_ref(&app), Db("primary"));
    assert_eq!(u32::from_ref(&app), 3);
    let config: Arc<Config> = FromRef::from_ref(&app);
    assert!(Arc::ptr_eq(&config, &app.config), "a clone of the field, not a new value");
    assert_eq!(app.replica, Db("replica"));
}

/// Counts its clones: each clone knows which one it is.
#[derive(Debug)]
struct Counted {
    clones: Arc<AtomicU32>,
    number: u32,
}

impl Clone for Counted {
    fn clone(&self) -> Counted {
        let number = self.clones.fetch_add(1, Ordering::SeqCst) + 1;
        Counted { clones: Arc::clone(&self.clones), number }
    }
}

/// What each run of `counting` saw: its attempt and the clone it was given.
static SEEN: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());

#[rutina::routine(on_done = Restart, max_count = 2, backoff = "1s")]
async fn counting(ctx: Context, counted: Counted) -> Result<(), io::Error> {
    SEEN.lock().unwrap().push((ctx.attempt(), counted.number));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn each_run_takes_its_parameters_from_the_state_afresh() {
    let clones = Arc::new(AtomicU32::new(0));
    let state = Counted { clones: Arc::clone(&clones), number: 0 };
    let rutina = Rutina::default();
    rutina.go(counting.with_state(state));
    // Kept, not cloned, until a run starts.
    assert_eq!(clones.load(Ordering::SeqCst), 0);
    let error = wait(&rutina).await.expect_err("the run limit ends the group");
    assert!(matches!(&error, Error::RunLimit { name, runs: 3, .. } if name == "counting"), "{error:?}");
    // One clone per run, the n-th run given the n-th clone.
    assert_eq!(clones.load(Ordering::SeqCst), 3);
    assert_eq!(*SEEN.lock().unwrap(), [(1, 1), (2, 2), (3, 3)]);
}

static CONSUMED: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[rutina::routine(name = "consumer", on_done = Shutdown, on_error = Restart, timeout = "5s")]
async fn consume(ctx: Context, db: Db, config: Arc<Config>, retries: u32) -> Result<(), io::Error> {
    CONSUMED.lock().unwrap().push(format!("{} {:?} {} {retries}", ctx.name(), db, config.queue));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn with_state_keeps_the_declared_options() {
    let declared = RunOptions::default()
        .name("consumer")
        .on_done(Policy::Shutdown)
        .on_error(Policy::Restart)
        .timeout(Duration::from_secs(5));
    let routine = consume.with_state(app());
    assert_eq!(routine.options(), declared);
    let rutina = Rutina::default();
    rutina.go(routine);
    wait(&rutina).await.expect("`on_done = Shutdown` ends the group cleanly");
    assert_eq!(*CONSUMED.lock().unwrap(), ["consumer Db(\"primary\") jobs 3"]);
}

static OVERRIDDEN_RUNS: AtomicU32 = AtomicU32::new(0);

#[rutina::routine(name = "declared", on_done = Shutdown)]
async fn overridden(ctx: Context, db: Db) -> Result<(), io::Error> {
    assert_eq!((ctx.name(), db), ("declared", Db("primary")));
    OVERRIDDEN_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn go_with_replaces_the_declared_options_of_a_routine_with_state() {
    let rutina = Rutina::default();
    // Restarted twice instead of shutting the group down after one run; the name stays.
    rutina.go_with(overridden.with_state(app()), RunOptions::default().on_done(Policy::Restart).max_count(2));
    let error = wait(&rutina).await.expect_err("the run limit ends the group");
    assert!(matches!(&error, Error::RunLimit { name, runs: 3, .. } if name == "declared"), "{error:?}");
    assert_eq!(OVERRIDDEN_RUNS.load(Ordering::SeqCst), 3);
}

#[rutina::routine(on_done = Shutdown)]
async fn without_context(db: Db) -> Result<(), io::Error> {
    assert_eq!(db, Db("primary"));
    Ok(())
}

#[rutina::routine(on_done = Shutdown)]
async fn stateless(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn without_a_context_and_without_state() {
    let rutina = Rutina::default();
    rutina.go(without_context.with_state(app()));
    wait(&rutina).await.unwrap();

    // A routine without parameters ignores the state: it is itself.
    assert_eq!(stateless.with_state(app()).options(), stateless.options());
    let rutina = Rutina::default();
    rutina.go(stateless.with_state(std::rc::Rc::new("not even Send")));
    wait(&rutina).await.unwrap();
}

#[rutina::routine(name = "paired", on_done = Shutdown)]
async fn paired(ctx: Context, config: Arc<Config>) -> Result<(), io::Error> {
    if ctx.is_cancelled() {
        return Err(io::Error::other(config.queue));
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_routine_with_state_paired_by_hand() {
    let routine = WithState::new(paired, app());
    assert_eq!(routine.state().retries, 3);
    assert_eq!(routine.options().name.as_deref(), Some("paired"));
    let rutina = Rutina::default();
    rutina.go(routine);
    wait(&rutina).await.unwrap();
}

#[tokio::test]
async fn the_body_stays_callable_with_its_parameters() {
    let ctx = Context::detached();
    ctx.token().cancel();
    let error = paired::call(ctx, Arc::new(Config { queue: "direct" })).await.unwrap_err();
    assert_eq!(error.to_string(), "direct");
}
