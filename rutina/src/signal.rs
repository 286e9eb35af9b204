//! The OS signals that shut a group down: SIGINT and SIGTERM on unix, Ctrl-C elsewhere.

use std::io;

/// The shutdown signals of this platform, installed once and received in a loop.
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Signals {
    /// Installs the handlers. Must be called within a tokio runtime.
    pub(crate) fn new() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
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

    /// The name of the next signal received.
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            "Ctrl-C"
        }
        #[cfg(not(any(unix, windows)))]
        {
            std::future::pending().await
        }
    }
}
