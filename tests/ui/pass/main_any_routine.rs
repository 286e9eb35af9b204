// `main!` lists any path whose value implements `Routine`: a `#[rutina::routine]` item, a
// unit struct and a const with a hand-written impl, a plain `async fn(Context)` (default
// options), and items in modules. Each returns at once, so the program exits 0.
use rutina::{BoxError, Context, Routine, RunOptions};

#[rutina::routine]
async fn declared(_ctx: Context) -> Result<(), std::io::Error> {
    Ok(())
}

/// A unit struct with a hand-written impl.
struct Ticker;

impl Routine for Ticker {
    async fn run(&mut self, _ctx: Context) -> Result<(), BoxError> {
        Ok(())
    }

    fn options(&self) -> RunOptions {
        RunOptions::default().name("ticker")
    }
}

/// A routine with a field, listed as a const.
struct Poll {
    every_ms: u64,
}

impl Routine for Poll {
    async fn run(&mut self, _ctx: Context) -> Result<(), BoxError> {
        assert_eq!(self.every_ms, 250);
        Ok(())
    }
}

const POLL: Poll = Poll { every_ms: 250 };

async fn plain(_ctx: Context) -> anyhow::Result<()> {
    Ok(())
}

mod jobs {
    pub struct Cleanup;

    impl rutina::Routine for Cleanup {
        async fn run(&mut self, _ctx: rutina::Context) -> Result<(), rutina::BoxError> {
            Ok(())
        }
    }
}

rutina::main!(declared, Ticker, POLL, plain, jobs::Cleanup);
