//! What observability costs on restart churn (one routine returning `Ok` at once under
//! `Restart`, restarted `N` times): every run is made inside a `tracing` span, and the
//! `metrics` feature records every run. Neither can be turned off; both must cost nothing
//! measurable when nobody looks.
//!
//! Each sample runs in a fresh child process (this program again, `--churn-child`), so
//! that a global subscriber, or a build with the `metrics` feature, is measured beside
//! the plain build, interleaved:
//!
//! - no subscriber: the span is never made (`Span::none`);
//! - a subscriber with target `rutina` off: the span's callsite is disabled once;
//! - a subscriber with `rutina=error`: the span is made for every run (its fields carry
//!   into the routine's logs), rutina's own records below ERROR are not;
//! - the `metrics` feature, no recorder installed (`--metrics-exe`, a build with
//!   `--features metrics`): every run goes to the facade's no-op recorder.

use std::process::Command;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{median, runtime, sample, show};

/// How the child process is set up.
#[derive(Clone, Copy)]
enum Setup {
    /// No subscriber.
    Plain,
    /// A subscriber with target `rutina` off.
    RutinaOff,
    /// A subscriber with `rutina=error`.
    RutinaError,
}

impl Setup {
    fn arg(self) -> &'static str {
        match self {
            Setup::Plain => "plain",
            Setup::RutinaOff => "rutina-off",
            Setup::RutinaError => "rutina-error",
        }
    }

    fn parse(arg: &str) -> Option<Setup> {
        [Setup::Plain, Setup::RutinaOff, Setup::RutinaError].into_iter().find(|setup| setup.arg() == arg)
    }
}

/// One column of the table: which program, set up how.
struct Column {
    name: &'static str,
    exe: String,
    setup: Setup,
}

/// The child's side: installs the subscriber, then prints the median of `samples`
/// restart-churn timings (after one warm-up), in seconds.
pub fn churn_child(args: &[String]) -> bool {
    let (Some(setup), Some(restarts), Some(samples)) = (
        args.first().and_then(|a| Setup::parse(a)),
        args.get(1).and_then(|a| a.parse::<u32>().ok()),
        args.get(2).and_then(|a| a.parse::<usize>().ok()),
    ) else {
        return false;
    };
    let level = match setup {
        Setup::Plain => None,
        Setup::RutinaOff => Some(LevelFilter::OFF),
        Setup::RutinaError => Some(LevelFilter::ERROR),
    };
    if let Some(level) = level {
        // Writes nothing: the routines log nothing, and rutina's records are filtered out.
        let filter = Targets::new().with_target("rutina", level).with_default(LevelFilter::INFO);
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(filter);
        subscriber.try_init().expect("the child's only subscriber");
    }
    let rt = runtime();
    let mut values = Vec::new();
    for round in 0..=samples {
        let d = sample(&rt, crate::with_rutina::restart(restarts)).as_secs_f64();
        if round > 0 {
            values.push(d);
        }
    }
    println!("{}", median(values));
    true
}

fn run_child(column: &Column, restarts: u32, samples: usize) -> f64 {
    let output = Command::new(&column.exe)
        .args(["--churn-child", column.setup.arg(), &restarts.to_string(), &samples.to_string()])
        .output()
        .expect("the churn child runs");
    assert!(output.status.success(), "churn child failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("the churn child prints a number")
}

/// Runs and prints the observability table: `rounds` children per column, interleaved,
/// each the median of `samples` timings; the table shows the medians of the children.
pub fn table(restarts: u32, rounds: usize, samples: usize, metrics_exe: Option<String>, smoke: bool) {
    let this = std::env::current_exe().expect("the path of this program").to_string_lossy().into_owned();
    let built_with_metrics = cfg!(feature = "metrics");
    let mut columns = vec![
        Column { name: "no subscriber", exe: this.clone(), setup: Setup::Plain },
        Column { name: "subscriber, rutina off", exe: this.clone(), setup: Setup::RutinaOff },
        Column { name: "subscriber, rutina=error", exe: this.clone(), setup: Setup::RutinaError },
    ];
    if let Some(exe) = metrics_exe {
        columns.push(Column { name: "metrics, no recorder", exe, setup: Setup::Plain });
    }
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    for _ in 0..rounds {
        for (column, values) in columns.iter().zip(&mut values) {
            values.push(run_child(column, restarts, samples));
        }
    }
    let medians: Vec<f64> = values.into_iter().map(median).collect();
    let base = medians[0];

    println!();
    println!(
        "observability on restart churn, {restarts} restarts: each value the median of {rounds} child processes \
         (each the median of {samples} samples after 1 warm-up), interleaved{}",
        if built_with_metrics { "; THIS build has the metrics feature" } else { "" }
    );
    println!();
    println!("| {:<28} | {:>10} | {:>14} | {:<26} |", "setup", "time", "vs no subscr.", "target");
    println!("|{:-<30}|{:->12}|{:->16}|{:-<28}|", "", ":", ":", "");
    for (column, value) in columns.iter().zip(&medians) {
        let ratio = value / base;
        // The span costs nothing measurable when no subscriber wants it: a subscriber that
        // filters rutina out must be as fast as none. The others are reported.
        let target = match column.setup {
            Setup::RutinaOff => {
                let holds = (ratio - 1.0).abs() <= 0.05;
                let word = if smoke {
                    "(smoke run)"
                } else if holds {
                    "holds"
                } else {
                    "MISSED"
                };
                format!("within 5% {word}")
            }
            Setup::Plain if column.exe == this => String::new(),
            Setup::Plain | Setup::RutinaError => "(none: report)".to_owned(),
        };
        println!("| {:<28} | {:>10} | {:>13.3}× | {:<26} |", column.name, show_seconds(*value), ratio, target);
    }
}

fn show_seconds(value: f64) -> String {
    show(crate::Unit::Seconds, value)
}
