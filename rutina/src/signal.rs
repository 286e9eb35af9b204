//! The OS signals a group listens to: SIGINT and SIGTERM (shut down) and SIGHUP (reload)
//! on unix, Ctrl-C elsewhere.

use std::io;

/// A signal received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT, or Ctrl-C off unix.
    Interrupt,
    Terminate,
    Hangup,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(unix)]
            Signal::Interrupt => "SIGINT",
            #[cfg(not(unix))]
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }
}

/// The signals of this platform, installed once and received in a loop.
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Signals {
    /// Installs the handlers. Must be called within a tokio runtime.
    pub(crate) fn new() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Signals { ctrl_c: tokio::signal::windows::ctrl_c()? })
        }
        #[cfg(not(any(unix, windows)))]
        {
            Err(io::Error::new(io::ErrorKind::Unsupported, "OS signals are not supported on this platform"))
        }
    }

    /// The next signal received.
    pub(crate) async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::Interrupt,
                _ = self.terminate.recv() => Signal::Terminate,
                _ = self.hangup.recv() => Signal::Hangup,
            }
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            Signal::Interrupt
        }
        #[cfg(not(any(unix, windows)))]
        {
            std::future::pending().await
        }
    }
}
