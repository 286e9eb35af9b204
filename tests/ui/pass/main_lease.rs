// `lease: make_lease`, an `async fn` returning `Result<backend, E>`, and
// `shutdown_delay`. The lease backend is an in-memory one that grants every lease.
use std::time::Duration;

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

async fn make_lease() -> Result<Always, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(Always)
}

#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! {
    lease: make_lease,
    shutdown_delay: "5s",
    routines: [server],
}
