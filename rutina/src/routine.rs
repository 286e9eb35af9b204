//! The [`Routine`] trait: what a group runs, and runs again.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::error::BoxError;
use crate::{Context, RunOptions};

/// Something a [`Rutina`](crate::Rutina) can run, and run again.
///
/// Implemented by:
/// - every closure `FnMut(Context) -> Fut + Send + 'static` where
///   `Fut: Future<Output = Result<(), E>> + Send + 'static` and `E: Into<BoxError>`
///   (so `std::io::Error`, `anyhow::Error`, `String` and `&'static str` all work), and
///   plain `async fn(Context) -> Result<(), E>` items, with default [`RunOptions`];
/// - every item made with `#[rutina::routine]`, which carries its declared options.
///
/// ```
/// use rutina::{Context, Rutina};
///
/// async fn tick(ctx: Context) -> Result<(), std::io::Error> {
///     println!("run {} of {}", ctx.attempt(), ctx.name());
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = Rutina::default();
/// rutina.go(tick);
/// rutina.go(|ctx: Context| async move {
///     ctx.cancelled().await;
///     Ok::<_, anyhow::Error>(())
/// });
/// rutina.shutdown();
/// rutina.wait().await.unwrap();
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a rutina routine",
    label = "not a routine",
    note = "a routine is an `async fn(rutina::Context) -> Result<(), E>` annotated with `#[rutina::routine]`, \
            or a closure `|ctx: rutina::Context| async move {{ .. }}` returning `Result<(), E>` \
            where `E: Into<rutina::BoxError>`",
    note = "a `#[rutina::routine]` fn with parameters after its `Context` takes them from a state: \
            pass `{Self}.with_state(state)`"
)]
pub trait Routine: Send + 'static {
    /// Starts one run with its context.
    fn run(&mut self, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The options the routine declares; [`Rutina::go`](crate::Rutina::go) uses them.
    /// Default: [`RunOptions::default`].
    fn options(&self) -> RunOptions {
        RunOptions::default()
    }
}

impl<F, Fut, E> Routine for F
where
    F: FnMut(Context) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn run(&mut self, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send {
        BoxingError { run: self(ctx) }
    }
}

pin_project_lite::pin_project! {
    /// A closure's run, its error boxed. Not an `async` block: one that captured the run
    /// would keep it twice in its state (captured, then awaited), and an `async fn` would
    /// keep its arguments next to it; this keeps the run alone, and the run is most of an
    /// idle routine's memory.
    struct BoxingError<F> {
        #[pin]
        run: F,
    }
}

impl<F, E> Future for BoxingError<F>
where
    F: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    type Output = Result<(), BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        self.project().run.poll(cx).map(|result| result.map_err(Into::into))
    }
}
