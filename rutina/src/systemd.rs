//! systemd service notifications (`sd_notify`), behind the `systemd` feature: READY=1,
//! STOPPING=1, WATCHDOG=1 and EXTEND_TIMEOUT_USEC. Without the feature, or without
//! `NOTIFY_SOCKET` in the environment, every method does nothing.

use crate::group::Group;

/// How far each `EXTEND_TIMEOUT_USEC` pushes systemd's stop timeout while draining.
#[cfg(all(unix, feature = "systemd"))]
const EXTEND_BY: std::time::Duration = std::time::Duration::from_secs(10);

/// What `wait` tells systemd about the group.
pub(crate) struct Notifier {
    #[cfg(all(unix, feature = "systemd"))]
    inner: Option<imp::Inner>,
}

#[cfg(all(unix, feature = "systemd"))]
mod imp {
    use sd_notify::NotifyState;
    use tokio::time::{Interval, MissedTickBehavior, interval};

    use super::EXTEND_BY;
    use crate::group::Group;

    pub(super) struct Inner {
        pub(super) ready_sent: bool,
        pub(super) stopping_sent: bool,
        pub(super) watchdog: Option<Interval>,
        pub(super) extend: Option<Interval>,
    }

    pub(super) fn send(states: &[NotifyState<'_>]) {
        if let Err(error) = sd_notify::notify(states) {
            tracing::warn!(target: "rutina", %error, "cannot notify systemd");
        }
    }

    pub(super) fn every(period: std::time::Duration) -> Interval {
        let mut interval = interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        interval
    }

    impl Inner {
        pub(super) async fn tick(&mut self, group: &Group) {
            let watchdog = async {
                match &mut self.watchdog {
                    Some(interval) => interval.tick().await,
                    None => std::future::pending().await,
                }
            };
            let extend = async {
                match &mut self.extend {
                    Some(interval) => interval.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = watchdog => {
                    if group.is_crash_looping() {
                        tracing::warn!(target: "rutina", "a routine is crash-looping: withholding the systemd watchdog ping");
                    } else {
                        send(&[NotifyState::Watchdog]);
                    }
                }
                _ = extend => {
                    let usec = u32::try_from(EXTEND_BY.as_micros()).unwrap_or(u32::MAX);
                    send(&[NotifyState::ExtendTimeoutUsec(usec)]);
                }
            }
        }
    }
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
    pub(crate) fn from_env() -> Notifier {
        #[cfg(all(unix, feature = "systemd"))]
        {
            if std::env::var_os("NOTIFY_SOCKET").is_none() {
                return Notifier { inner: None };
            }
            // Ping at half the watchdog period, as sd_watchdog_enabled(3) advises.
            let watchdog = sd_notify::watchdog_enabled().filter(|p| !p.is_zero()).map(|p| imp::every(p / 2));
            Notifier { inner: Some(imp::Inner { ready_sent: false, stopping_sent: false, watchdog, extend: None }) }
        }
        #[cfg(not(all(unix, feature = "systemd")))]
        {
            Notifier {}
        }
    }

    /// Whether `READY=1` is still to be sent.
    pub(crate) fn wants_ready(&self) -> bool {
        #[cfg(all(unix, feature = "systemd"))]
        {
            self.inner.as_ref().is_some_and(|inner| !inner.ready_sent)
        }
        #[cfg(not(all(unix, feature = "systemd")))]
        {
            false
        }
    }

    /// Sends `READY=1` (once).
    pub(crate) fn ready(&mut self) {
        #[cfg(all(unix, feature = "systemd"))]
        if let Some(inner) = &mut self.inner
            && !inner.ready_sent
        {
            inner.ready_sent = true;
            tracing::info!(target: "rutina", "ready; notifying systemd");
            imp::send(&[sd_notify::NotifyState::Ready]);
        }
    }

    /// Sends `STOPPING=1` (once) and starts extending the stop timeout while draining.
    pub(crate) fn stopping(&mut self) {
        #[cfg(all(unix, feature = "systemd"))]
        if let Some(inner) = &mut self.inner
            && !inner.stopping_sent
        {
            inner.stopping_sent = true;
            imp::send(&[sd_notify::NotifyState::Stopping]);
            // The first tick is immediate: the extension starts now, and is renewed at
            // half its length.
            inner.extend = Some(imp::every(EXTEND_BY / 2));
        }
    }

    /// Completes after the next watchdog ping or timeout extension was sent; never
    /// without systemd.
    pub(crate) async fn tick(&mut self, group: &Group) {
        #[cfg(all(unix, feature = "systemd"))]
        if let Some(inner) = &mut self.inner {
            return inner.tick(group).await;
        }
        let _ = group;
        std::future::pending().await
    }
}
