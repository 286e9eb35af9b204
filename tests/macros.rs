//! `#[rutina::routine]` at run time: the options an attribute declares are exactly the
//! ones the runtime applies when the item is passed by name to `Rutina::go` (policies,
//! timeout, limits, backoff and its ranges and resets, restart intensity, grace period,
//! readiness gate, schedules, heartbeat, reload, singleton), `go_with` overrides them,
//! and the fn body stays callable on its own. Paused clock throughout.

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rutina::{Backoff, Context, Error, Event, Options, Policy, RestartIntensity, Routine, RunOptions, Rutina};
use tokio::time::Instant;

/// Long enough that only a hang reaches it (time is paused: it costs nothing).
const NEVER: Duration = Duration::from_secs(3600);

async fn wait(rutina: &Rutina) -> Result<(), Error> {
    tokio::time::timeout(NEVER, rutina.wait()).await.expect("the group should have stopped on its own")
}

#[rutina::routine(
    on_done = Restart,
    on_error = DoNothing,
    timeout = "5s",
    max_count = 3,
    name = "feed",
    backoff = "1m 30s 250ms"
)]
async fn poll_feed(ctx: Context) -> Result<(), io::Error> {
    ctx.cancelled().await;
    Ok(())
}

#[test]
fn declared_options_are_the_items_options() {
    let expected = RunOptions::default()
        .on_done(Policy::Restart)
        .on_error(Policy::DoNothing)
        .timeout(Duration::from_secs(5))
        .max_count(3)
        .name("feed")
        .backoff(Backoff::fixed(Duration::from_millis(90_250)));
    assert_eq!(poll_feed.options(), expected);
}

#[rutina::routine]
async fn undeclared(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[test]
fn without_arguments_the_options_are_the_defaults_named_after_the_fn() {
    assert_eq!(undeclared.options(), RunOptions::default().name("undeclared"));
}

static RESTARTS_RUNS: AtomicU32 = AtomicU32::new(0);

#[rutina::routine(on_done = Restart, max_count = 2)]
async fn restarts(_ctx: Context) -> Result<(), io::Error> {
    RESTARTS_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_on_done_and_max_count_apply_through_go() {
    let rutina = Rutina::default();
    rutina.go(restarts);
    let error = wait(&rutina).await.expect_err("the run limit ends the group");
    assert!(
        matches!(&error, Error::RunLimit { name, runs: 3, last_error: None, .. } if name == "restarts"),
        "{error:?}"
    );
    assert_eq!(RESTARTS_RUNS.load(Ordering::SeqCst), 3);
}

#[rutina::routine(timeout = "3s")]
async fn slow(ctx: Context) -> Result<(), io::Error> {
    ctx.cancelled().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_timeout_applies_through_go() {
    let start = Instant::now();
    let rutina = Rutina::default();
    rutina.go(slow);
    let error = wait(&rutina).await.expect_err("the run times out");
    assert!(
        matches!(&error, Error::TimedOut { name, timeout, .. }
            if name == "slow" && *timeout == Duration::from_secs(3)),
        "{error:?}"
    );
    assert_eq!(start.elapsed().as_secs(), 3);
}

static SEEN_NAME: Mutex<Option<String>> = Mutex::new(None);

#[rutina::routine(name = "custom-name")]
async fn named(ctx: Context) -> Result<(), io::Error> {
    *SEEN_NAME.lock().expect("not poisoned") = Some(ctx.name().to_owned());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_name_is_the_contexts_name() {
    let rutina = Rutina::default();
    rutina.go(named);
    wait(&rutina).await.expect("the group ends cleanly");
    assert_eq!(SEEN_NAME.lock().expect("not poisoned").as_deref(), Some("custom-name"));
}

#[rutina::routine(on_done = Shutdown)]
async fn finisher() -> Result<(), io::Error> {
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_on_done_shutdown_stops_the_group() {
    let rutina = Rutina::default();
    let server = rutina.go(|ctx: Context| async move {
        ctx.cancelled().await;
        Ok::<_, io::Error>(())
    });
    rutina.go(finisher);
    wait(&rutina).await.expect("the group ends cleanly");
    assert!(!rutina.processes().contains(&server));
}

#[rutina::routine(on_error = DoNothing)]
async fn flaky() -> Result<(), &'static str> {
    Err("flaked")
}

#[tokio::test(start_paused = true)]
async fn declared_on_error_applies_through_go_and_go_with_overrides_it() {
    // Declared: the failure ends the routine, nothing else.
    let rutina = Rutina::default();
    rutina.go(flaky);
    wait(&rutina).await.expect("the group ends cleanly");

    // Overridden: the default `on_error` (`Shutdown`) makes it the group's error; the
    // declared name is kept when the override has none.
    let rutina = Rutina::default();
    rutina.go_with(flaky, RunOptions::default());
    let error = wait(&rutina).await.expect_err("Shutdown on error");
    assert!(
        matches!(&error, Error::Routine { name, source, .. }
            if name == "flaky" && source.to_string() == "flaked"),
        "{error:?}"
    );
}

static OVERRIDDEN_RUNS: AtomicU32 = AtomicU32::new(0);
static OVERRIDDEN_NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[rutina::routine(on_done = Restart, max_count = 5, name = "declared")]
async fn overridden(ctx: Context) -> Result<(), io::Error> {
    OVERRIDDEN_RUNS.fetch_add(1, Ordering::SeqCst);
    OVERRIDDEN_NAMES.lock().expect("not poisoned").push(ctx.name().to_owned());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn go_with_replaces_every_declared_option() {
    let rutina = Rutina::default();
    rutina.go_with(overridden, RunOptions::default().name("given"));
    wait(&rutina).await.expect("the group ends cleanly");
    assert_eq!(OVERRIDDEN_RUNS.load(Ordering::SeqCst), 1, "no restart");
    assert_eq!(*OVERRIDDEN_NAMES.lock().expect("not poisoned"), ["given"]);
}

static BACKOFF_RUNS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[rutina::routine(on_done = Restart, max_count = 2, backoff = "100ms")]
async fn backing_off(_ctx: Context) -> Result<(), io::Error> {
    BACKOFF_RUNS.lock().expect("not poisoned").push(Instant::now());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_backoff_applies_through_go() {
    let rutina = Rutina::default();
    let mut events = rutina.subscribe();
    rutina.go(backing_off);
    let _ = wait(&rutina).await;

    let mut delays = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::Restarting { delay, .. } = event {
            delays.push(delay);
        }
    }
    assert_eq!(delays, [Duration::from_millis(100); 2]);
    let runs = BACKOFF_RUNS.lock().expect("not poisoned");
    assert_eq!(runs.len(), 3);
    for pair in runs.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(100) && gap < Duration::from_millis(110), "{gap:?}");
    }
}

#[rutina::routine(restart_intensity = (5, "1m"), grace_period = "10s", readiness_gate)]
async fn supervised(ctx: Context) -> Result<(), io::Error> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

#[rutina::routine(restart_intensity = (0, "1s 500ms"), grace_period = "0s", readiness_gate = false)]
async fn strict(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[test]
fn declared_supervision_options_are_the_items_options() {
    let options = supervised.options();
    assert_eq!(
        options,
        RunOptions::default()
            .name("supervised")
            .restart_intensity(5, Duration::from_secs(60))
            .grace_period(Duration::from_secs(10))
            .readiness_gate(true)
    );
    assert_eq!(options.restart_intensity, Some(RestartIntensity { max_restarts: 5, within: Duration::from_secs(60) }));
    assert_eq!(options.grace_period, Some(Duration::from_secs(10)));
    assert!(options.readiness_gate);

    let options = strict.options();
    assert_eq!(
        options,
        RunOptions::default()
            .name("strict")
            .restart_intensity(0, Duration::from_millis(1500))
            .grace_period(Duration::ZERO)
            .readiness_gate(false)
    );
    assert_eq!(options.grace_period, Some(Duration::ZERO), "zero is a grace period, not none");
    assert!(!options.readiness_gate);
}

#[rutina::routine(grace_period = "2s")]
async fn stubborn(ctx: Context) -> Result<(), io::Error> {
    ctx.cancelled().await;
    std::future::pending::<()>().await; // never drains
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_grace_period_aborts_at_the_declared_time() {
    // The group would wait 10 s; the routine's own 2 s win.
    let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(10)));
    let id = rutina.go(stubborn);
    tokio::task::yield_now().await;
    let shutdown_at = Instant::now();
    rutina.shutdown();
    let error = wait(&rutina).await.expect_err("the stuck routine is aborted");
    assert!(
        matches!(&error, Error::Aborted { stuck, cause: None } if *stuck == [(id, "stubborn".to_owned())]),
        "{error:?}"
    );
    assert_eq!(shutdown_at.elapsed(), Duration::from_secs(2));
}

#[rutina::routine(grace_period = "0s")]
async fn abandoned(ctx: Context) -> Result<(), io::Error> {
    ctx.cancelled().await;
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_zero_grace_period_aborts_at_once() {
    let rutina = Rutina::default(); // no group timeout: without the grace period, a hang
    let id = rutina.go(abandoned);
    tokio::task::yield_now().await;
    let shutdown_at = Instant::now();
    rutina.shutdown();
    let error = wait(&rutina).await.expect_err("aborted at once");
    assert!(matches!(&error, Error::Aborted { stuck, .. } if *stuck == [(id, "abandoned".to_owned())]), "{error:?}");
    assert_eq!(shutdown_at.elapsed(), Duration::ZERO);
}

static FLAPPING_RUNS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[rutina::routine(on_error = Restart, backoff = "1s", restart_intensity = (3, "10s"))]
async fn flapping() -> Result<(), io::Error> {
    FLAPPING_RUNS.lock().expect("not poisoned").push(Instant::now());
    Err(io::Error::other("flapping"))
}

#[tokio::test(start_paused = true)]
async fn declared_restart_intensity_ends_the_group() {
    let start = Instant::now();
    let rutina = Rutina::default();
    let id = rutina.go(flapping);
    let error = wait(&rutina).await.expect_err("the restart intensity ends the group");
    assert!(
        matches!(&error, Error::RestartIntensity { id: which, name, restarts: 3, within, last_error: Some(last) }
            if *which == id && name == "flapping" && *within == Duration::from_secs(10)
                && last.to_string() == "flapping"),
        "{error:?}"
    );
    // Runs at 0, 1, 2 and 3 s: 3 restarts within 10 s allowed, the 4th refused.
    let runs: Vec<u64> =
        FLAPPING_RUNS.lock().expect("not poisoned").iter().map(|run| (*run - start).as_secs()).collect();
    assert_eq!(runs, [0, 1, 2, 3]);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[rutina::routine(readiness_gate)]
async fn warming_up(ctx: Context) -> Result<(), io::Error> {
    tokio::time::sleep(Duration::from_secs(2)).await; // connecting
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

#[rutina::routine(readiness_gate = false)]
async fn not_a_gate(ctx: Context) -> Result<(), io::Error> {
    ctx.cancelled().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_readiness_gate_holds_readiness_until_ready() {
    let rutina = Rutina::default();
    rutina.go(not_a_gate);
    tokio::task::yield_now().await;
    assert!(rutina.is_ready(), "`readiness_gate = false` holds nothing");
    rutina.go(warming_up);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!rutina.is_ready(), "the gate has not called `ctx.ready()` yet");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(rutina.is_ready(), "the gate called `ctx.ready()` at 2 s");
    rutina.shutdown();
    wait(&rutina).await.expect("the group ends cleanly");
}

mod jobs {
    use std::sync::atomic::{AtomicU32, Ordering};

    pub(crate) static RUNS: AtomicU32 = AtomicU32::new(0);

    /// A routine declared in another module, used by path.
    #[rutina::routine(name = "jobs-poll")]
    pub(crate) async fn poll() -> Result<(), std::io::Error> {
        RUNS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn items_are_copy_values_usable_by_path() {
    let rutina = Rutina::default();
    let routine = jobs::poll;
    rutina.go(routine);
    rutina.go(routine);
    wait(&rutina).await.expect("the group ends cleanly");
    assert_eq!(jobs::RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(routine.options().name.as_deref(), Some("jobs-poll"));
}

#[rutina::routine]
async fn worker(ctx: Context) -> Result<(), io::Error> {
    ctx.cancelled().await;
    if ctx.attempt() > 1 {
        return Err(io::Error::other("restarted"));
    }
    Ok(())
}

#[rutina::routine]
async fn failing(_ctx: Context) -> Result<(), io::Error> {
    Err(io::Error::new(io::ErrorKind::NotFound, "no feed"))
}

#[tokio::test(start_paused = true)]
async fn the_body_is_unit_testable_without_an_orchestrator() {
    // `call` is the fn as written: a detached context, a token the test controls, and
    // the fn's own error type (not boxed).
    let ctx = Context::detached();
    ctx.token().cancel();
    worker::call(ctx).await.expect("a cancelled first run is Ok");

    let error: io::Error = failing::call(Context::detached()).await.expect_err("the body fails");
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
}

#[rutina::routine(every = "2s", heartbeat = "30s", reload, singleton = "billing-cleanup")]
async fn periodic(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[rutina::routine(cron = "0 */5 * * * *", reload = false)]
async fn every_five_minutes(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[rutina::routine(every = "1s", on_done = DoNothing)]
async fn once_then_done(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[rutina::routine(on_error = Restart, backoff = "100ms..30s", backoff_reset = "1m")]
async fn reconnecting(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[rutina::routine(on_error = Restart, backoff_reset = "2m")]
async fn default_reset(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[rutina::routine(on_done = Restart, backoff = "0s")]
async fn no_delay(_ctx: Context) -> Result<(), io::Error> {
    Ok(())
}

#[test]
fn declared_schedules_heartbeats_reloads_and_singletons_reach_run_options() {
    let options = periodic.options();
    assert!(options.is_scheduled());
    assert_eq!(options.on_done, Policy::Restart, "a schedule restarts after `Ok`");
    assert_eq!(options.heartbeat, Some(Duration::from_secs(30)));
    assert!(options.reload);
    assert_eq!(options.singleton.as_deref(), Some("billing-cleanup"));
    assert_eq!(
        options,
        RunOptions::default()
            .name("periodic")
            .every(Duration::from_secs(2))
            .heartbeat(Duration::from_secs(30))
            .reload(true)
            .singleton("billing-cleanup")
    );

    let options = every_five_minutes.options();
    assert!(options.is_scheduled());
    assert_eq!(options.on_done, Policy::Restart);
    assert!(!options.reload);
    assert_eq!((options.heartbeat, options.singleton), (None, None));
    let cron = rutina::Cron::parse("0 */5 * * * *").expect("a valid expression");
    assert_eq!(every_five_minutes.options(), RunOptions::default().name("every_five_minutes").cron(cron));

    // An explicit `on_done` wins over the schedule's `Restart`.
    let options = once_then_done.options();
    assert!(options.is_scheduled());
    assert_eq!(options.on_done, Policy::DoNothing);

    assert!(!reconnecting.options().is_scheduled());
}

#[test]
fn declared_backoff_ranges_and_resets_reach_run_options() {
    let ms = Duration::from_millis;
    assert_eq!(
        reconnecting.options().backoff,
        Backoff::exponential(ms(100), ms(30_000)).reset_after(Duration::from_secs(60))
    );
    assert_eq!(default_reset.options().backoff, Backoff::default().reset_after(Duration::from_secs(120)));
    assert_eq!(no_delay.options().backoff, Backoff::none());
    assert_eq!(backing_off.options().backoff, Backoff::fixed(ms(100)));
}

static TICKS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[rutina::routine(every = "2s", max_count = 2)]
async fn ticking() -> Result<(), io::Error> {
    TICKS.lock().expect("not poisoned").push(Instant::now());
    tokio::time::sleep(Duration::from_millis(500)).await; // some work
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn declared_every_runs_at_a_fixed_rate_through_go() {
    let start = Instant::now();
    let rutina = Rutina::default();
    rutina.go(ticking);
    let error = wait(&rutina).await.expect_err("the run limit ends the group");
    assert!(matches!(&error, Error::RunLimit { name, runs: 3, .. } if name == "ticking"), "{error:?}");
    // Runs start 2 s apart, from the previous start, whatever each takes.
    let ticks: Vec<Duration> = TICKS.lock().expect("not poisoned").iter().map(|tick| *tick - start).collect();
    assert_eq!(ticks, [Duration::ZERO, Duration::from_secs(2), Duration::from_secs(4)]);
}
