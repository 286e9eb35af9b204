//! Compares rutina with hand-written tokio (a `JoinSet` and a `CancellationToken`)
//! and tokio-graceful-shutdown on the same work, and prints one table.
//!
//! ```text
//! cargo run --release --manifest-path benches/Cargo.toml              # the table
//! cargo run --release --manifest-path benches/Cargo.toml -- --rounds 9
//! cargo run --manifest-path benches/Cargo.toml -- --smoke             # tiny sizes, checks only
//! # profiling: one scenario, one implementation, another fan-out size
//! cargo run --release --manifest-path benches/Cargo.toml -- --only fan-out --imp rutina --fan-out 10000
//! # what the span per run and the `metrics` feature cost (see `observability.rs`)
//! cargo build --release --manifest-path benches/Cargo.toml --features metrics --target-dir benches/target/metrics
//! cargo run --release --manifest-path benches/Cargo.toml -- --observability \
//!     --metrics-exe benches/target/metrics/release/rutina-bench
//! # where the parked fan-out's time goes, phase by phase, wall and CPU (see `phases.rs`)
//! cargo run --release --manifest-path benches/Cargo.toml -- --phases --fan-out 100000
//! # the same on one thread: the work itself, with no second worker to hide any of it
//! cargo run --release --manifest-path benches/Cargo.toml -- --phases --one-core --rounds 41
//! ```
//!
//! Every scenario runs for each implementation in turn, the order turning each round
//! (rutina, raw, tgs; raw, tgs, rutina; tgs, rutina, raw; …, so that each runs as often
//! right after each of the others), on one tokio multi-threaded runtime with 2 worker
//! threads; the body
//! of each sample runs as a task on that runtime, so all three spawn from a worker
//! thread. The first round is a warm-up and is not counted; the table shows medians.
//! Idle memory is measured in a fresh child process per sample (this program run
//! again with `--memory-child`): the growth of peak RSS (`VmHWM`) while `N` idle
//! routines wait, divided by `N`. No tracing subscriber is installed.

mod common;
mod observability;
mod phases;
mod raw;
mod tgs;
mod with_rutina;

use std::future::Future;
use std::process::{Command, ExitCode};
use std::time::Duration;

const WORKERS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imp {
    Rutina,
    Raw,
    Tgs,
}

const IMPS: [Imp; 3] = [Imp::Rutina, Imp::Raw, Imp::Tgs];

impl Imp {
    fn arg(self) -> &'static str {
        match self {
            Imp::Rutina => "rutina",
            Imp::Raw => "raw",
            Imp::Tgs => "tgs",
        }
    }

    fn parse(arg: &str) -> Option<Imp> {
        IMPS.into_iter().find(|imp| imp.arg() == arg)
    }
}

/// The sizes of one run of the program.
struct Sizes {
    rounds: usize,
    /// Run only the scenarios whose name contains this (for profiling).
    only: Option<String>,
    /// Run only this implementation (for profiling).
    only_imp: Option<Imp>,
    /// Tiny sizes: checks that everything runs; the timings mean nothing.
    smoke: bool,
    fan_out: [usize; 2],
    /// Fan-out and failure propagation as users meet them (routines parked first).
    parked: [usize; 2],
    restarts: u32,
    beats: u32,
    failure: usize,
    memory: usize,
    grace_n: usize,
    grace_stuck: usize,
    grace: Duration,
}

impl Sizes {
    fn full(rounds: usize) -> Sizes {
        Sizes {
            rounds,
            only: None,
            only_imp: None,
            smoke: false,
            fan_out: [10_000, 100_000],
            parked: [10_000, 100_000],
            restarts: 100_000,
            beats: 1_000_000,
            failure: 10_000,
            memory: 100_000,
            grace_n: 1_000,
            grace_stuck: 100,
            grace: Duration::from_millis(100),
        }
    }

    fn smoke() -> Sizes {
        Sizes {
            rounds: 1,
            only: None,
            only_imp: None,
            smoke: false,
            fan_out: [10, 100],
            parked: [10, 100],
            restarts: 100,
            beats: 100,
            failure: 10,
            memory: 100,
            grace_n: 10,
            grace_stuck: 2,
            grace: Duration::from_millis(10),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).enable_all().build().expect("a tokio runtime")
}

/// Runs `body` as a task on `rt`, then lets leftovers (aborted tasks) settle, untimed.
fn sample<F>(rt: &tokio::runtime::Runtime, body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(async {
        let output = tokio::spawn(body).await.expect("the sample does not panic");
        tokio::time::sleep(Duration::from_millis(20)).await;
        output
    })
}

/// One row of the table: a median per implementation, with the spread of the rounds.
struct Row {
    name: String,
    unit: Unit,
    values: Stats,
    target: Target,
}

/// Per implementation: the median, and the lowest and highest of the counted rounds.
#[derive(Clone, Copy)]
struct Stats {
    median: [f64; 3],
    low: [f64; 3],
    high: [f64; 3],
}

#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Bytes,
    /// Seconds past the grace period.
    Overshoot,
}

#[derive(Clone, Copy)]
enum Target {
    /// rutina/raw at most this.
    VsRaw(f64),
    /// rutina at most this many bytes.
    Bytes(f64),
    None,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

/// Runs `measure` for each implementation, interleaved, `rounds` counted rounds after
/// one warm-up round; the medians and the spread.
fn interleaved(sizes: &Sizes, mut measure: impl FnMut(Imp) -> f64) -> Stats {
    let mut samples: [Vec<f64>; 3] = Default::default();
    for round in 0..=sizes.rounds {
        // The order turns each round: each implementation runs as often right after each
        // of the others (the heap and the caches one leaves behind favour or hinder the
        // next).
        for i in (0..IMPS.len()).map(|k| (k + round) % IMPS.len()) {
            let imp = IMPS[i];
            if sizes.only_imp.is_some_and(|only| only != imp) {
                samples[i].push(f64::NAN);
                continue;
            }
            let value = measure(imp);
            if round > 0 {
                samples[i].push(value);
            }
        }
    }
    let low = samples.clone().map(|values| values.into_iter().fold(f64::NAN, f64::min));
    let high = samples.clone().map(|values| values.into_iter().fold(f64::NAN, f64::max));
    Stats { median: samples.map(median), low, high }
}

/// Times scenario `$scenario($args)` as implemented by `$imp`: rutina, raw tokio or tgs
/// (each module has it under the same name).
macro_rules! time_of {
    ($rt:expr, $imp:expr, $scenario:ident($($arg:expr),*)) => {
        match $imp {
            Imp::Rutina => sample($rt, with_rutina::$scenario($($arg),*)),
            Imp::Raw => sample($rt, raw::$scenario($($arg),*)),
            Imp::Tgs => sample($rt, tgs::$scenario($($arg),*)),
        }
    };
}

fn run(sizes: &Sizes) -> Vec<Row> {
    let rt = runtime();
    let wants = |scenario: &str| sizes.only.as_deref().is_none_or(|only| scenario.contains(only));
    let mut rows = Vec::new();

    // As users meet them: routines running, parked on their contexts, when the shutdown
    // (or the failure) comes; raw tokio with a child token per task; the whole time.
    for n in sizes.parked.into_iter().filter(|_| wants("fan-out")) {
        let values = interleaved(sizes, |imp| time_of!(&rt, imp, fan_out_parked(n)).as_secs_f64());
        rows.push(Row {
            name: format!("fan-out, parked, N = {}", count(n)),
            unit: Unit::Seconds,
            values,
            target: Target::VsRaw(1.1),
        });
    }
    for n in sizes.parked.into_iter().filter(|_| wants("failure")) {
        let values = interleaved(sizes, |imp| time_of!(&rt, imp, failure_whole(n)).as_secs_f64());
        rows.push(Row {
            name: format!("failure propagation, whole, N = {}", count(n)),
            unit: Unit::Seconds,
            values,
            target: Target::VsRaw(1.1),
        });
    }

    // Round 1's gentler scenarios, kept for comparison: the shutdown comes before the
    // routines were ever polled, and the raw baseline shares one token.
    for n in sizes.fan_out.into_iter().filter(|_| wants("fan-out")) {
        let values = interleaved(sizes, |imp| time_of!(&rt, imp, fan_out(n)).as_secs_f64());
        rows.push(Row {
            name: format!("fan-out, unpolled, N = {}", count(n)),
            unit: Unit::Seconds,
            values,
            target: Target::None,
        });
    }

    let restarts = sizes.restarts;
    if wants("restart") {
        let values = interleaved(sizes, |imp| time_of!(&rt, imp, restart(restarts)).as_secs_f64());
        rows.push(Row {
            name: format!("restart churn, {} restarts", count(restarts as usize)),
            unit: Unit::Seconds,
            values,
            target: Target::VsRaw(0.3),
        });
    }

    let beats = sizes.beats;
    if wants("heartbeat") {
        let values = interleaved(sizes, |imp| match imp {
            Imp::Rutina => sample(&rt, with_rutina::beats(beats)).as_secs_f64(),
            Imp::Raw => sample(&rt, raw::beats(beats)).as_secs_f64(),
            // No heartbeats in tokio-graceful-shutdown.
            Imp::Tgs => f64::NAN,
        });
        rows.push(Row {
            name: format!("heartbeat each iteration, {} beats", count(beats as usize)),
            unit: Unit::Seconds,
            values,
            target: Target::None,
        });
    }

    let n = sizes.failure;
    if wants("failure") {
        let values = interleaved(sizes, |imp| time_of!(&rt, imp, failure(n)).as_secs_f64());
        rows.push(Row {
            name: format!("failure propagation, from the failure, N = {}", count(n)),
            unit: Unit::Seconds,
            values,
            target: Target::None,
        });
    }

    let n = sizes.memory;
    if wants("memory") {
        let values = interleaved(sizes, |imp| memory_in_child(imp, n));
        rows.push(Row {
            name: format!("idle memory per routine, N = {}", count(n)),
            unit: Unit::Bytes,
            values,
            target: Target::Bytes(600.0),
        });
    }

    let (n, stuck, grace) = (sizes.grace_n, sizes.grace_stuck, sizes.grace);
    if wants("grace") {
        let values = interleaved(sizes, |imp| {
            let took = time_of!(&rt, imp, grace(n, stuck, grace));
            (took.as_secs_f64() - grace.as_secs_f64()).max(0.0)
        });
        rows.push(Row {
            name: format!("grace {grace:?}, {stuck} of {} stuck: past grace", count(n)),
            unit: Unit::Overshoot,
            values,
            target: Target::None,
        });
    }

    rows
}

/// Bytes of peak RSS per idle routine, measured in a fresh process.
fn memory_in_child(imp: Imp, n: usize) -> f64 {
    let exe = std::env::current_exe().expect("the path of this program");
    let output =
        Command::new(exe).args(["--memory-child", imp.arg(), &n.to_string()]).output().expect("the memory child runs");
    assert!(output.status.success(), "memory child failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("the memory child prints a number")
}

/// The child's side: prints the growth of `VmHWM`, in bytes per idle routine.
fn memory_child(imp: Imp, n: usize) {
    let rt = runtime();
    let per_routine = rt.block_on(async move {
        tokio::spawn(async move {
            let base = peak_rss();
            let mut peak = 0;
            let measure = || peak = peak_rss();
            match imp {
                Imp::Rutina => with_rutina::hold_idle(n, measure).await,
                Imp::Raw => raw::hold_idle(n, measure).await,
                Imp::Tgs => tgs::hold_idle(n, measure).await,
            }
            peak.saturating_sub(base) as f64 / n as f64
        })
        .await
        .expect("the memory sample does not panic")
    });
    println!("{per_routine:.1}");
}

/// Peak resident set size of this process, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("a VmHWM line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmHWM in kB");
    kib * 1024
}

fn count(n: usize) -> String {
    if n >= 1000 && n.is_multiple_of(1000) { format!("{}k", n / 1000) } else { n.to_string() }
}

/// `value` in `unit`; "—" for an implementation that has no such scenario (NaN).
fn show(unit: Unit, value: f64) -> String {
    if value.is_nan() {
        return "—".to_owned();
    }
    match unit {
        Unit::Bytes => format!("{value:.0} B"),
        Unit::Seconds | Unit::Overshoot => {
            let prefix = if matches!(unit, Unit::Overshoot) { "+" } else { "" };
            if value >= 1.0 {
                format!("{prefix}{value:.2} s")
            } else if value >= 1e-3 {
                format!("{prefix}{:.2} ms", value * 1e3)
            } else {
                format!("{prefix}{:.0} µs", value * 1e6)
            }
        }
    }
}

/// The 1-minute load average: other work on the machine skews the timings.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Prints the table; `true` when every target holds.
fn print_table(rows: &[Row], sizes: &Sizes, load_before: &str) -> bool {
    println!(
        "rutina vs raw tokio (JoinSet + CancellationToken) vs tokio-graceful-shutdown (tgs); \
         tokio multi-thread runtime, {WORKERS} workers; medians of {} rounds after 1 warm-up, interleaved",
        sizes.rounds
    );
    println!(
        "machine: {} CPUs, {}; load average {load_before} before the run, {} after",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        load_average()
    );
    println!();
    println!(
        "| {:<46} | {:>10} | {:>10} | {:>10} | {:>10} | {:>10} | {:>21} | {:>21} | {:<36} |",
        "scenario", "rutina", "raw tokio", "tgs", "rutina/raw", "tgs/rutina", "rutina range", "raw range", "target"
    );
    println!(
        "|{:-<48}|{:->12}|{:->12}|{:->12}|{:->12}|{:->12}|{:->23}|{:->23}|{:-<38}|",
        "", ":", ":", ":", ":", ":", ":", ":", ""
    );
    let mut all_hold = true;
    for row in rows {
        let [rutina, raw, tgs] = row.values.median;
        let range = |i: usize| format!("{}–{}", show(row.unit, row.values.low[i]), show(row.unit, row.values.high[i]));
        let vs_raw = rutina / raw;
        let vs_tgs = tgs / rutina;
        let ratio = |ratio: f64| if ratio.is_nan() { "—".to_owned() } else { format!("{ratio:.2}×") };
        let word = |holds: bool| match holds {
            _ if sizes.smoke => "-",
            true => "holds",
            false => "MISSED",
        };
        let (target, holds) = match row.target {
            Target::VsRaw(max) => (format!("≤ {max:.1}× raw"), Some(vs_raw <= max)),
            Target::Bytes(max) => (format!("≤ {max:.0} B"), Some(rutina <= max)),
            Target::None => ("(none: report)".to_owned(), None),
        };
        let verdict = match (row.target, holds) {
            _ if sizes.smoke => "(smoke run)",
            (Target::None, _) => "",
            (_, Some(holds)) => word(holds),
            (_, None) => "",
        };
        all_hold &= sizes.smoke || holds.unwrap_or(true);
        println!(
            "| {:<46} | {:>10} | {:>10} | {:>10} | {:>10} | {:>10} | {:>21} | {:>21} | {:<36} |",
            row.name,
            show(row.unit, rutina),
            show(row.unit, raw),
            show(row.unit, tgs),
            ratio(vs_raw),
            ratio(vs_tgs),
            range(0),
            range(1),
            format!("{target} {verdict}").trim_end(),
        );
    }
    all_hold
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: rutina-bench [--rounds N] [--smoke] [--check] [--only fan-out|restart|failure|heartbeat|memory|grace] [--imp rutina|raw|tgs] [--fan-out N]\n       rutina-bench --observability [--rounds N] [--metrics-exe PATH] [--smoke]\n       rutina-bench --phases [--one-core] [--rounds N] [--fan-out N] [--smoke]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--memory-child") {
        let (Some(imp), Some(n)) = (args.get(1).and_then(|a| Imp::parse(a)), args.get(2).and_then(|a| a.parse().ok()))
        else {
            return usage();
        };
        memory_child(imp, n);
        return ExitCode::SUCCESS;
    }
    if args.first().map(String::as_str) == Some("--churn-child") {
        return if observability::churn_child(&args[1..]) { ExitCode::SUCCESS } else { usage() };
    }
    let mut sizes = Sizes::full(9);
    let mut smoke = false;
    let mut check = false;
    let (mut only, mut only_imp, mut fan_out) = (None, None, None);
    let (mut observability, mut metrics_exe, mut rounds) = (false, None, None);
    let mut phases = false;
    let mut threads = phases::Threads::Workers;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            "--check" => check = true,
            "--only" => match args.next() {
                Some(scenario) => only = Some(scenario.clone()),
                None => return usage(),
            },
            "--fan-out" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => fan_out = Some(n),
                None => return usage(),
            },
            "--imp" => match args.next().and_then(|a| Imp::parse(a)) {
                Some(imp) => only_imp = Some(imp),
                None => return usage(),
            },
            "--rounds" => match args.next().and_then(|r| r.parse().ok()) {
                Some(n) if n >= 1 => {
                    sizes.rounds = n;
                    rounds = Some(n);
                }
                _ => return usage(),
            },
            "--observability" => observability = true,
            "--phases" => phases = true,
            "--one-core" => threads = phases::Threads::One,
            "--metrics-exe" => match args.next() {
                Some(path) => metrics_exe = Some(path.clone()),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    if smoke {
        sizes = Sizes::smoke();
        sizes.smoke = true;
    }
    sizes.only = only;
    if let Some(n) = fan_out {
        sizes.fan_out = [n, n];
        sizes.parked = [n, n];
    }
    sizes.only_imp = only_imp;
    if observability {
        let (restarts, rounds, samples) = if smoke { (100, 1, 1) } else { (100_000, rounds.unwrap_or(9), 5) };
        observability::table(restarts, rounds, samples, metrics_exe, smoke);
        return ExitCode::SUCCESS;
    }
    if threads == phases::Threads::One && !phases {
        eprintln!("--one-core goes with --phases");
        return usage();
    }
    if phases {
        let n = if smoke { 100 } else { fan_out.unwrap_or(100_000) };
        phases::table(n, rounds.unwrap_or(if smoke { 1 } else { 9 }), threads);
        return ExitCode::SUCCESS;
    }
    let load_before = load_average();
    let rows = run(&sizes);
    let all_hold = print_table(&rows, &sizes, &load_before);
    if smoke {
        observability::table(100, 1, 1, None, true);
        println!();
        phases::table(100, 1, phases::Threads::Workers);
        println!();
        phases::table(100, 1, phases::Threads::One);
        println!("\n(smoke run: tiny sizes, the targets mean nothing here)");
    } else if !all_hold {
        println!("\nsome targets were missed");
        if check {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
