//! The metrics of the `metrics` feature, counted exactly in scripted scenarios.
//!
//! Each test installs its own `DebuggingRecorder` with `metrics::with_local_recorder` and
//! runs its group on a current-thread runtime inside it (paused clock): every routine's
//! task runs on the test's thread, so the test sees what its own group recorded, and
//! nothing of the tests running beside it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use rutina::{Backoff, Context, Options, Policy, RunOptions, Rutina, ShutdownOrder};
use rutina_tests::leases::HeldElsewhere;
use tokio::time::sleep;

/// What a test's recorder holds, read through its snapshotter. Every snapshot drains
/// what it reads (counters and gauges back to 0, histograms emptied), and rutina only
/// increments counters and moves gauges up and down: the totals are kept here.
struct Recorded {
    snapshotter: Snapshotter,
    totals: Mutex<Totals>,
}

#[derive(Clone, Default)]
struct Totals {
    /// Counters and gauges.
    values: HashMap<String, f64>,
    /// Histograms' samples.
    samples: HashMap<String, Vec<f64>>,
}

/// `name{label=value,…}`, labels sorted.
fn key_of(key: &metrics::Key) -> String {
    let mut labels: Vec<String> = key.labels().map(|label| format!("{}={}", label.key(), label.value())).collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorded {
    /// Counters and gauges, and histograms' samples, since the test began.
    fn read(&self) -> Totals {
        let mut totals = self.totals.lock().unwrap();
        let Totals { values, samples } = &mut *totals;
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let key = key_of(key.key());
            match value {
                DebugValue::Counter(n) => *values.entry(key).or_default() += n as f64,
                DebugValue::Gauge(v) => *values.entry(key).or_default() += v.into_inner(),
                DebugValue::Histogram(new) => samples.entry(key).or_default().extend(new.into_iter().map(|v| v.0)),
            }
        }
        totals.clone()
    }

    /// A counter or gauge; 0 if never recorded.
    fn value(&self, key: &str) -> f64 {
        self.read().values.get(key).copied().unwrap_or(0.0)
    }

    /// A histogram's samples so far.
    fn samples(&self, key: &str) -> Vec<f64> {
        self.read().samples.get(key).cloned().unwrap_or_default()
    }

    /// The `rutina_routines` gauge: state → value, the zeros left out.
    fn states(&self) -> BTreeMap<String, f64> {
        self.read()
            .values
            .into_iter()
            .filter_map(|(key, value)| {
                let state = key.strip_prefix("rutina_routines{state=")?.strip_suffix('}')?.to_owned();
                (value != 0.0).then_some((state, value))
            })
            .collect()
    }

    /// Every key recorded, for "nothing else" checks.
    fn keys(&self) -> Vec<String> {
        let Totals { values, samples } = self.read();
        let mut keys: Vec<String> = values.into_keys().chain(samples.into_keys()).collect();
        keys.sort();
        keys
    }
}

/// Runs `body` on a current-thread runtime with a paused clock, inside a recorder of its own.
fn scenario<F: Future<Output = ()>>(body: impl FnOnce(Arc<Recorded>) -> F) {
    let recorder = DebuggingRecorder::new();
    let recorded = Arc::new(Recorded { snapshotter: recorder.snapshotter(), totals: Mutex::default() });
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        runtime.block_on(body(recorded));
    });
}

fn states(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(state, value)| ((*state).to_owned(), *value)).collect()
}

async fn serve(ctx: Context) -> Result<(), std::io::Error> {
    ctx.cancelled().await;
    Ok(())
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn fails_twice_then_succeeds_under_restart() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        rutina.go_with(
            |ctx: Context| async move {
                sleep(100 * MS).await;
                if ctx.attempt() < 3 { Err("boom") } else { Ok(()) }
            },
            RunOptions::default()
                .name("flaky")
                .on_error(Policy::Restart)
                .backoff(Backoff::fixed(Duration::from_secs(1))),
        );
        rutina.wait().await.unwrap();

        assert_eq!(m.value("rutina_runs_total{outcome=error,routine=flaky}"), 2.0);
        assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=flaky}"), 1.0);
        assert_eq!(m.value("rutina_restarts_total{routine=flaky}"), 2.0);
        // Each run lasted 100 ms, on the paused clock: exactly.
        assert_eq!(m.samples("rutina_run_duration_seconds{outcome=error,routine=flaky}"), [0.1, 0.1]);
        assert_eq!(m.samples("rutina_run_duration_seconds{outcome=ok,routine=flaky}"), [0.1]);
        // The group ended by itself: no shutdown, no sample.
        assert!(m.samples("rutina_shutdown_duration_seconds{}").is_empty());
        assert_eq!(m.states(), states(&[]));
        assert_eq!(
            m.keys(),
            [
                "rutina_restarts_total{routine=flaky}",
                "rutina_routines{state=backing_off}",
                "rutina_routines{state=running}",
                "rutina_run_duration_seconds{outcome=error,routine=flaky}",
                "rutina_run_duration_seconds{outcome=ok,routine=flaky}",
                "rutina_runs_total{outcome=error,routine=flaky}",
                "rutina_runs_total{outcome=ok,routine=flaky}",
            ]
        );
    });
}

#[test]
fn the_gauge_follows_running_backing_off_stopping_and_ends_at_zero() {
    scenario(|m| async move {
        let rutina = Rutina::new(Options::default().shutdown_timeout(Duration::from_secs(10)));
        // Drains for 2 s once cancelled.
        rutina.go_with(
            |ctx: Context| async move {
                ctx.cancelled().await;
                sleep(Duration::from_secs(2)).await;
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("server"),
        );
        rutina.go_with(serve, RunOptions::default().name("quick"));
        // Fails at once, then backs off for 10 s.
        rutina.go_with(
            |_ctx: Context| async { Err::<(), _>("refused") },
            RunOptions::default()
                .name("client")
                .on_error(Policy::Restart)
                .backoff(Backoff::fixed(Duration::from_secs(10))),
        );
        sleep(MS).await;
        assert_eq!(m.states(), states(&[("running", 2.0), ("backing_off", 1.0)]));

        rutina.shutdown();
        sleep(MS).await;
        // `quick` and `client` are gone; `server` drains.
        assert_eq!(m.states(), states(&[("stopping", 1.0)]));

        rutina.wait().await.unwrap();
        assert_eq!(m.states(), states(&[]));
        for state in ["running", "backing_off", "stopping"] {
            assert_eq!(m.read().values.get(&format!("rutina_routines{{state={state}}}")), Some(&0.0), "{state}");
        }
        // One shutdown, 2 s from its beginning until the group was over.
        assert_eq!(m.samples("rutina_shutdown_duration_seconds{}"), [2.0]);
        assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=server}"), 1.0);
        assert_eq!(m.value("rutina_runs_total{outcome=error,routine=client}"), 1.0);
        assert_eq!(m.value("rutina_restarts_total{routine=client}"), 0.0);
    });
}

#[test]
fn a_timeout_is_counted_and_the_run_stops_during_its_grace_period() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        rutina.go_with(
            |ctx: Context| async move {
                ctx.cancelled().await;
                sleep(500 * MS).await;
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default()
                .name("slow")
                .timeout(Duration::from_secs(1))
                .grace_period(Duration::from_secs(5))
                .on_error(Policy::DoNothing),
        );
        sleep(999 * MS).await;
        assert_eq!(m.states(), states(&[("running", 1.0)]));
        sleep(200 * MS).await;
        assert_eq!(m.states(), states(&[("stopping", 1.0)]));
        rutina.wait().await.unwrap();
        assert_eq!(m.value("rutina_runs_total{outcome=timeout,routine=slow}"), 1.0);
        assert_eq!(m.samples("rutina_run_duration_seconds{outcome=timeout,routine=slow}"), [1.5]);
        assert_eq!(m.states(), states(&[]));
    });
}

#[test]
fn a_run_stopped_by_its_own_limit_does_not_make_the_next_run_stopping() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        let id = rutina.go_with(
            |ctx: Context| async move {
                ctx.cancelled().await;
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default()
                .name("limited")
                .timeout(Duration::from_secs(1))
                .grace_period(Duration::from_secs(1))
                .on_error(Policy::Restart)
                .backoff(Backoff::fixed(Duration::from_secs(1))),
        );
        sleep(1500 * MS).await;
        assert_eq!(m.states(), states(&[("backing_off", 1.0)]));
        sleep(Duration::from_secs(1)).await;
        assert_eq!(m.states(), states(&[("running", 1.0)]));
        assert_eq!(m.value("rutina_runs_total{outcome=timeout,routine=limited}"), 1.0);
        // Killed while backing off: it leaves as soon as it wakes.
        sleep(Duration::from_secs(1)).await;
        assert_eq!(m.states(), states(&[("backing_off", 1.0)]));
        rutina.kill(id).unwrap();
        sleep(MS).await;
        assert_eq!(m.states(), states(&[]));
        rutina.wait().await.unwrap();
        assert_eq!(m.value("rutina_runs_total{outcome=timeout,routine=limited}"), 2.0);
    });
}

#[test]
fn a_panic_is_counted() {
    rutina_tests::panics::quiet_panics_starting_with("metrics test: on purpose");
    scenario(|m| async move {
        let rutina = Rutina::default();
        rutina.go_with(
            |_ctx: Context| async {
                sleep(250 * MS).await;
                panic!("metrics test: on purpose");
                #[allow(unreachable_code)]
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("fragile").on_error(Policy::DoNothing),
        );
        rutina.wait().await.unwrap();
        assert_eq!(m.value("rutina_runs_total{outcome=panic,routine=fragile}"), 1.0);
        assert_eq!(m.samples("rutina_run_duration_seconds{outcome=panic,routine=fragile}"), [0.25]);
        assert_eq!(m.value("rutina_restarts_total{routine=fragile}"), 0.0);
        assert_eq!(m.states(), states(&[]));
    });
}

#[test]
fn a_hung_run_is_counted() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        rutina.go_with(
            |ctx: Context| async move {
                ctx.heartbeat();
                sleep(Duration::from_secs(60)).await; // silent for too long
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("stuck").heartbeat(Duration::from_secs(3)).on_error(Policy::DoNothing),
        );
        rutina.wait().await.unwrap();
        assert_eq!(m.value("rutina_runs_total{outcome=hung,routine=stuck}"), 1.0);
        // Dropped at once when its heartbeat was missed (no grace period).
        assert_eq!(m.samples("rutina_run_duration_seconds{outcome=hung,routine=stuck}"), [3.0]);
        assert_eq!(m.states(), states(&[]));
    });
}

#[test]
fn kill_and_operator_restart_make_a_running_routine_stopping() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        let drains = |ctx: Context| async move {
            ctx.cancelled().await;
            sleep(Duration::from_secs(1)).await;
            Ok::<_, std::io::Error>(())
        };
        let killed = rutina.go_with(drains, RunOptions::default().name("killed"));
        let restarted = rutina.go_with(drains, RunOptions::default().name("restarted"));
        sleep(MS).await;
        assert_eq!(m.states(), states(&[("running", 2.0)]));

        rutina.kill(killed).unwrap();
        rutina.restart(restarted).unwrap();
        assert_eq!(m.states(), states(&[("stopping", 2.0)]));

        sleep(Duration::from_secs(2)).await;
        // `killed` is gone; `restarted` runs again.
        assert_eq!(m.states(), states(&[("running", 1.0)]));
        assert_eq!(m.value("rutina_restarts_total{routine=restarted}"), 1.0);
        assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=restarted}"), 1.0);
        assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=killed}"), 1.0);

        rutina.shutdown();
        rutina.wait().await.unwrap();
        assert_eq!(m.states(), states(&[]));
        assert_eq!(m.samples("rutina_shutdown_duration_seconds{}"), [1.0]);
    });
}

#[test]
fn a_killed_routine_that_never_ran_is_stopping_from_its_first_run() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        let id = rutina.go_with(
            |_ctx: Context| async {
                sleep(Duration::from_secs(1)).await;
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("doomed"),
        );
        rutina.kill(id).unwrap();
        // Not counted before its first run.
        assert_eq!(m.states(), states(&[]));
        sleep(MS).await;
        assert_eq!(m.states(), states(&[("stopping", 1.0)]));
        rutina.wait().await.unwrap();
        assert_eq!(m.states(), states(&[]));
    });
}

#[test]
fn reverse_start_order_stops_one_routine_at_a_time() {
    scenario(|m| async move {
        let rutina = Rutina::new(Options::default().shutdown_order(ShutdownOrder::ReverseStart));
        for name in ["first", "second", "third"] {
            rutina.go_with(
                |ctx: Context| async move {
                    ctx.cancelled().await;
                    sleep(Duration::from_secs(1)).await;
                    Ok::<_, std::io::Error>(())
                },
                RunOptions::default().name(name),
            );
        }
        sleep(MS).await;
        let waiter = tokio::spawn({
            let rutina = rutina.clone();
            async move { rutina.wait().await }
        });
        rutina.shutdown();
        sleep(MS).await;
        assert_eq!(m.states(), states(&[("running", 2.0), ("stopping", 1.0)]));
        sleep(Duration::from_secs(1)).await;
        assert_eq!(m.states(), states(&[("running", 1.0), ("stopping", 1.0)]));
        waiter.await.unwrap().unwrap();
        assert_eq!(m.states(), states(&[]));
        assert_eq!(m.samples("rutina_shutdown_duration_seconds{}"), [3.0]);
    });
}

#[test]
fn a_scheduled_routine_waits_for_its_next_tick() {
    scenario(|m| async move {
        let rutina = Rutina::default();
        rutina.go_with(
            |_ctx: Context| async {
                sleep(Duration::from_secs(1)).await;
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("tick").every(Duration::from_secs(10)),
        );
        sleep(500 * MS).await;
        assert_eq!(m.states(), states(&[("running", 1.0)]));
        sleep(Duration::from_secs(1)).await;
        assert_eq!(m.states(), states(&[("scheduled", 1.0)]));
        sleep(Duration::from_secs(10)).await; // 11.5 s: the second run began at 10 s
        assert_eq!(m.states(), states(&[("scheduled", 1.0)]));
        assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=tick}"), 2.0);
        assert_eq!(m.value("rutina_restarts_total{routine=tick}"), 1.0);
        rutina.shutdown();
        rutina.wait().await.unwrap();
        assert_eq!(m.states(), states(&[]));
        // The shutdown ended the wait at once.
        assert_eq!(m.samples("rutina_shutdown_duration_seconds{}"), [0.0]);
    });
}

#[test]
fn a_singleton_without_its_lease_is_on_standby() {
    scenario(|m| async move {
        let rutina = Rutina::new(Options::default().lease(HeldElsewhere));
        rutina.go_with(serve, RunOptions::default().name("billing").singleton("billing"));
        rutina.go_with(serve, RunOptions::default().name("api"));
        sleep(Duration::from_secs(30)).await;
        assert_eq!(m.states(), states(&[("running", 1.0), ("standby", 1.0)]));
        rutina.shutdown();
        rutina.wait().await.unwrap();
        assert_eq!(m.states(), states(&[]));
        assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=billing}"), 0.0);
    });
}

#[test]
fn each_test_sees_only_its_own_group() {
    // Two groups, one after the other, each inside a recorder of its own.
    for runs in [1, 3] {
        scenario(|m| async move {
            let rutina = Rutina::default();
            rutina.go_with(
                |_ctx: Context| async { Ok::<_, std::io::Error>(()) },
                RunOptions::default().name("job").on_done(Policy::Restart).max_count(runs - 1),
            );
            let _ = rutina.wait().await; // `RunLimit`
            assert_eq!(m.value("rutina_runs_total{outcome=ok,routine=job}"), f64::from(runs));
        });
    }
}

/// The metrics as `metrics-exporter-prometheus` renders them (the README's sample comes
/// from this test: `cargo test -p rutina-tests --features metrics --test metrics
/// prometheus -- --nocapture`).
#[test]
fn prometheus_exposition() {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &[0.01, 0.1, 1.0, 10.0, 60.0])
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let rendered = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let rutina = Rutina::default();
            rutina.go_with(serve, RunOptions::default().name("api"));
            rutina.go_with(
                |ctx: Context| async move {
                    sleep(50 * MS).await;
                    if ctx.attempt() < 3 {
                        return Err("connection refused");
                    }
                    ctx.cancelled().await;
                    Ok(())
                },
                RunOptions::default().name("consumer").on_error(Policy::Restart).backoff(Backoff::fixed(1000 * MS)),
            );
            sleep(1500 * MS).await;
            let rendered = handle.render();
            rutina.shutdown();
            rutina.wait().await.unwrap();
            rendered
        })
    });
    println!("{rendered}");
    for line in [
        "rutina_runs_total{routine=\"consumer\",outcome=\"error\"} 2",
        "rutina_restarts_total{routine=\"consumer\"} 1",
        "rutina_routines{state=\"running\"} 1",
        "rutina_routines{state=\"backing_off\"} 1",
        "rutina_run_duration_seconds_bucket{routine=\"consumer\",outcome=\"error\",le=\"0.1\"} 2",
        "rutina_run_duration_seconds_sum{routine=\"consumer\",outcome=\"error\"} 0.1",
        "rutina_run_duration_seconds_count{routine=\"consumer\",outcome=\"error\"} 2",
    ] {
        assert!(rendered.lines().any(|l| l == line), "no {line:?} in:\n{rendered}");
    }
    let after = handle.render();
    assert!(after.lines().any(|l| l == "rutina_shutdown_duration_seconds_count 1"), "{after}");
    assert!(after.lines().any(|l| l == "rutina_routines{state=\"running\"} 0"), "{after}");
}

#[test]
fn routines_keep_running_through_the_lame_duck_delay() {
    scenario(|m| async move {
        let rutina = Rutina::new(Options::default().shutdown_delay(Duration::from_secs(2)));
        rutina.go_with(
            |ctx: Context| async move {
                ctx.cancelled().await;
                sleep(Duration::from_secs(1)).await;
                Ok::<_, std::io::Error>(())
            },
            RunOptions::default().name("server"),
        );
        sleep(MS).await;
        rutina.shutdown();
        sleep(Duration::from_secs(1)).await;
        assert_eq!(m.states(), states(&[("running", 1.0)]));
        sleep(1500 * MS).await; // the delay ended at 2 s
        assert_eq!(m.states(), states(&[("stopping", 1.0)]));
        rutina.wait().await.unwrap();
        assert_eq!(m.states(), states(&[]));
        // From the beginning of the shutdown, its delay included, until the group was over.
        assert_eq!(m.samples("rutina_shutdown_duration_seconds{}"), [3.0]);
    });
}
