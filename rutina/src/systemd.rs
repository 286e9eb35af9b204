//! systemd service notifications (`sd_notify`), behind the `systemd` feature: READY=1,
//! RELOADING=1, STOPPING=1, WATCHDOG=1 and EXTEND_TIMEOUT_USEC. The notifier is told how the group is
//! doing and sends what systemd must hear; it never reads the group itself. Without the
//! feature, or without `NOTIFY_SOCKET` in the environment, it sends nothing.

/// A periodic message that is due.
#[cfg_attr(not(all(unix, feature = "systemd")), allow(dead_code))]
pub(crate) enum Due {
    /// Time to ping the watchdog, if the group is live.
    Watchdog,
    /// Time to extend systemd's stop timeout while draining.
    Extend,
}

/// What `wait` tells systemd about the group.
pub(crate) struct Notifier {
    #[cfg(all(unix, feature = "systemd"))]
    inner: Option<imp::Inner>,
}

#[cfg(all(unix, feature = "systemd"))]
mod imp {
    use std::time::Duration;

    use sd_notify::NotifyState;
    use tokio::time::{Interval, MissedTickBehavior, interval};

    /// How far each `EXTEND_TIMEOUT_USEC` pushes systemd's stop timeout while draining.
    pub(super) const EXTEND_BY: Duration = Duration::from_secs(10);

    pub(super) struct Inner {
        pub(super) ready_sent: bool,
        /// The reloads announced so far.
        pub(super) reloads: u64,
        pub(super) stopping_sent: bool,
        pub(super) watchdog: Option<Interval>,
        pub(super) extend: Option<Interval>,
    }

    pub(super) fn send(states: &[NotifyState<'_>]) {
        if let Err(error) = sd_notify::notify(states) {
            tracing::warn!(target: "rutina", %error, "cannot notify systemd");
        }
    }

    pub(super) fn every(period: Duration) -> Interval {
        let mut interval = interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        interval
    }

    async fn tick(interval: &mut Option<Interval>) {
        match interval {
            Some(interval) => {
                interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    impl Inner {
        pub(super) async fn due(&mut self) -> super::Due {
            tokio::select! {
                _ = tick(&mut self.watchdog) => super::Due::Watchdog,
                _ = tick(&mut self.extend) => super::Due::Extend,
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
            Notifier {
                inner: Some(imp::Inner { ready_sent: false, reloads: 0, stopping_sent: false, watchdog, extend: None }),
            }
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

    /// The group is ready: sends `READY=1` (once).
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

    /// The group has reloaded `reloads` times: for each new one, sends `RELOADING=1` with
    /// `MONOTONIC_USEC` (as `Type=notify-reload` wants), and `READY=1` is due again once
    /// the reloaded routines run.
    pub(crate) fn reloads(&mut self, reloads: u64) {
        #[cfg(all(unix, feature = "systemd"))]
        if let Some(inner) = &mut self.inner
            && reloads > inner.reloads
        {
            inner.reloads = reloads;
            if inner.ready_sent {
                inner.ready_sent = false;
                tracing::info!(target: "rutina", "reloading; notifying systemd");
                let mut states = vec![sd_notify::NotifyState::Reloading];
                states.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
                imp::send(&states);
            }
        }
        let _ = reloads;
    }

    /// The group is shutting down: sends `STOPPING=1` (once) and starts extending the stop
    /// timeout while draining.
    pub(crate) fn stopping(&mut self) {
        #[cfg(all(unix, feature = "systemd"))]
        if let Some(inner) = &mut self.inner
            && !inner.stopping_sent
        {
            inner.stopping_sent = true;
            imp::send(&[sd_notify::NotifyState::Stopping]);
            // The first tick is immediate: the extension starts now, and is renewed at
            // half its length.
            inner.extend = Some(imp::every(imp::EXTEND_BY / 2));
        }
    }

    /// Completes when a periodic message is due; never without systemd.
    pub(crate) async fn due(&mut self) -> Due {
        #[cfg(all(unix, feature = "systemd"))]
        if let Some(inner) = &mut self.inner {
            return inner.due().await;
        }
        std::future::pending().await
    }

    /// The watchdog is due: pings it if the group is `live`; a group with a routine
    /// crash-looping is not, so that systemd restarts the service.
    pub(crate) fn watchdog(&mut self, live: bool) {
        #[cfg(all(unix, feature = "systemd"))]
        if self.inner.is_some() {
            if live {
                imp::send(&[sd_notify::NotifyState::Watchdog]);
            } else {
                tracing::warn!(target: "rutina", "a routine is crash-looping: withholding the systemd watchdog ping");
            }
        }
        let _ = live;
    }

    /// The stop timeout is due for an extension.
    pub(crate) fn extend(&mut self) {
        #[cfg(all(unix, feature = "systemd"))]
        if self.inner.is_some() {
            let usec = u32::try_from(imp::EXTEND_BY.as_micros()).unwrap_or(u32::MAX);
            imp::send(&[sd_notify::NotifyState::ExtendTimeoutUsec(usec)]);
        }
    }
}
