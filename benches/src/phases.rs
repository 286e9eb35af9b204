//! Where the parked fan-out's time goes (`--phases`): the scenario split at its five
//! moments, rutina against raw tokio, each phase in wall time and in the CPU time of all
//! the process's threads (so that work done on the other worker shows, and time one
//! thread spends alone shows as wall time with little CPU time beside it).
//!
//! | phase | rutina | raw tokio |
//! |---|---|---|
//! | spawn | `go` × N | `spawn(idle(token.child_token()))` × N |
//! | park | until every routine waits for its cancellation | the same |
//! | shut down | `shutdown()` | `token.cancel()` |
//! | wait | `wait()` | `join_next()` until the set is empty |
//! | drop | the group | the set and the token |
//!
//! The CPU time is the process's CPU-time clock (`CLOCK_PROCESS_CPUTIME_ID`), read at
//! each of the six marks.
//!
//! With `--one-core` the scenario runs on a current-thread runtime: nothing runs beside
//! the task that drives it, so each phase's time is the work it takes, with no other
//! worker to hide any of it (as when another process keeps one of two cores busy).

use std::time::{Duration, Instant};

use crate::{Imp, median, runtime, sample, show};

/// Where the scenario runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// The benchmark's multi-thread runtime.
    Workers,
    /// A current-thread runtime (`--one-core`).
    One,
}

/// The phases, in order.
const PHASES: [&str; 5] = ["spawn", "park", "shut down", "wait", "drop"];

/// The wall and CPU time of each phase of one sample.
pub struct Laps {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

/// Marks the end of each phase.
pub struct Stopwatch {
    last: (Instant, Duration),
    laps: Laps,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch { last: (Instant::now(), cpu_time()), laps: Laps { wall: Vec::new(), cpu: Vec::new() } }
    }

    /// Ends the current phase, starts the next.
    pub fn lap(&mut self) {
        let now = (Instant::now(), cpu_time());
        self.laps.wall.push(now.0 - self.last.0);
        self.laps.cpu.push(now.1.saturating_sub(self.last.1));
        self.last = now;
    }

    pub fn laps(self) -> Laps {
        assert_eq!(self.laps.wall.len(), PHASES.len(), "one lap per phase");
        self.laps
    }
}

/// The CPU time of all this process's threads so far.
fn cpu_time() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let secs = u64::try_from(time.tv_sec).expect("a CPU time after the process began");
    Duration::new(secs, u32::try_from(time.tv_nsec).expect("nanoseconds below one second"))
}

/// Runs the split scenario `rounds` counted rounds after a warm-up, rutina and raw in
/// turn (the order turning each round), on `threads`, and prints the medians of each
/// phase.
pub fn table(n: usize, rounds: usize, threads: Threads) {
    let rt = match threads {
        Threads::Workers => runtime(),
        Threads::One => tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime"),
    };
    let mut samples: [Vec<Laps>; 2] = Default::default();
    for round in 0..=rounds {
        for imp in if round % 2 == 0 { [Imp::Rutina, Imp::Raw] } else { [Imp::Raw, Imp::Rutina] } {
            let laps = match imp {
                Imp::Rutina => sample(&rt, crate::with_rutina::fan_out_parked_phases(n)),
                Imp::Raw => sample(&rt, crate::raw::fan_out_parked_phases(n)),
                Imp::Tgs => unreachable!("tgs is not split"),
            };
            if round > 0 {
                samples[usize::from(imp == Imp::Raw)].push(laps);
            }
        }
    }
    // The median of phase `k` (of the whole for `None`: not the sum of the medians).
    let of = |times: &[Duration], phase: Option<usize>| phase.map_or_else(|| times.iter().sum(), |k| times[k]);
    let wall = |laps: &[Laps], phase| median(laps.iter().map(|laps| of(&laps.wall, phase).as_secs_f64()).collect());
    let cpu = |laps: &[Laps], phase| median(laps.iter().map(|laps| of(&laps.cpu, phase).as_secs_f64()).collect());
    let on = match threads {
        Threads::Workers => format!("{} workers", crate::WORKERS),
        Threads::One => "a current-thread runtime".to_owned(),
    };
    println!(
        "where the parked fan-out's time goes, N = {}: rutina vs raw tokio, the median of each phase over {rounds} \
         round(s) after 1 warm-up, interleaved; CPU time of all the process's threads ({on})\n",
        crate::count(n),
    );
    println!(
        "| {:<9} | {:>11} | {:>11} | {:>10} | {:>11} | {:>11} |",
        "phase", "rutina wall", "raw wall", "rutina/raw", "rutina CPU", "raw CPU"
    );
    println!("|{:-<11}|{:->13}|{:->13}|{:->12}|{:->13}|{:->13}|", "", ":", ":", ":", ":", ":");
    let [rutina, raw] = &samples;
    for phase in (0..PHASES.len()).map(Some).chain([None]) {
        let (ours, theirs) = (wall(rutina, phase), wall(raw, phase));
        // A phase raw tokio does not have (its drop) has no ratio.
        let ratio = if theirs >= 1e-4 { format!("{:.2}×", ours / theirs) } else { "—".to_owned() };
        println!(
            "| {:<9} | {:>11} | {:>11} | {:>10} | {:>11} | {:>11} |",
            phase.map_or("total", |k| PHASES[k]),
            show(crate::Unit::Seconds, ours),
            show(crate::Unit::Seconds, theirs),
            ratio,
            show(crate::Unit::Seconds, cpu(rutina, phase)),
            show(crate::Unit::Seconds, cpu(raw, phase)),
        );
    }
}
