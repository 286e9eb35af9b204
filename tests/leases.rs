//! Lease backends for tests that need a singleton to stand by without a database.

use std::time::Duration;

/// A lease backend whose key is always held by another replica: a singleton under it
/// stands by for ever.
pub struct HeldElsewhere;

impl rutina::Lease for HeldElsewhere {
    type Error = std::io::Error;

    fn time_to_live(&self) -> Duration {
        Duration::from_secs(15)
    }

    async fn acquire(&self, _key: &str, _holder: &str) -> Result<Option<u64>, Self::Error> {
        Ok(None)
    }

    async fn renew(&self, _key: &str, _holder: &str, _fencing_token: u64) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn release(&self, _key: &str, _holder: &str, _fencing_token: u64) -> Result<(), Self::Error> {
        Ok(())
    }
}
