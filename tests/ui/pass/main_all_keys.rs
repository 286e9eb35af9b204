// Every key of `rutina::main!`, the shutdown order written as a full path; `state` and
// `lease` plain fns returning their value.
use std::sync::Arc;
use std::time::Duration;

#[rutina::routine]
async fn first(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine]
async fn second(_ctx: rutina::Context, name: Arc<str>) -> Result<(), std::io::Error> {
    assert_eq!(&*name, "app");
    Ok(())
}

fn init_logging() -> Result<(), rutina::BoxError> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).try_init()
}

fn make_state() -> Arc<str> {
    "app".into()
}

struct Always;

impl rutina::Lease for Always {
    type Error = std::convert::Infallible;

    fn time_to_live(&self) -> Duration {
        Duration::from_secs(15)
    }

    async fn acquire(&self, _key: &str, _holder: &str) -> Result<Option<u64>, Self::Error> {
        Ok(Some(1))
    }

    async fn renew(&self, _key: &str, _holder: &str, _token: u64) -> Result<bool, Self::Error> {
        Ok(true)
    }

    async fn release(&self, _key: &str, _holder: &str, _token: u64) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn make_lease() -> Arc<Always> {
    Arc::new(Always)
}

rutina::main! {
    routines: [first, second],
    shutdown_timeout: "30s",
    shutdown_delay: "1s",
    shutdown_order: rutina::ShutdownOrder::AllAtOnce,
    setup: init_logging,
    state: make_state,
    lease: make_lease,
}
