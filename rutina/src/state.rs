//! Routines with state: the parameters of a `#[rutina::routine]` fn after its optional
//! [`Context`], taken from an application state with [`FromRef`] afresh for every run
//! (see the crate docs, "Routines with state").

use std::future::Future;

use crate::{BoxError, Context, Routine, RunOptions};

/// Takes a part of the application state for a routine's parameter.
///
/// A `#[rutina::routine]` fn's parameters after its optional [`Context`] are built with
/// `FromRef` from the state given to the routine's `with_state`, once for every run: a
/// restarted routine gets fresh values (so keep them cheap to clone, handles such as a
/// connection pool or an `Arc`).
///
/// Every `Clone` type can be taken from itself: the whole state is always a valid
/// parameter. For the parts, derive it on the state struct with
/// [`#[derive(rutina::FromRef)]`](macro@crate::FromRef) (one impl per field, each a
/// clone of the field), or write the impl by hand, as below. The trait has the shape of
/// axum's `FromRef`: one state struct can derive both.
///
/// ```
/// use std::sync::Arc;
/// use rutina::FromRef;
///
/// struct Config {
///     url: String,
/// }
///
/// #[derive(Clone)]
/// struct App {
///     config: Arc<Config>,
///     retries: u32,
/// }
///
/// /// The URL alone, for routines that need nothing else.
/// #[derive(Clone, Debug, PartialEq)]
/// struct Url(String);
///
/// impl FromRef<App> for Url {
///     fn from_ref(app: &App) -> Url {
///         Url(app.config.url.clone())
///     }
/// }
///
/// let app = App { config: Arc::new(Config { url: "postgres://db".into() }), retries: 3 };
/// assert_eq!(Url::from_ref(&app), Url("postgres://db".into()));
/// assert_eq!(App::from_ref(&app).retries, 3); // the whole state, cloned
/// ```
#[diagnostic::on_unimplemented(
    message = "a routine's parameter of type `{Self}` cannot be taken from the state `{S}`",
    label = "`{S}` does not provide `{Self}`",
    note = "derive `rutina::FromRef` on `{S}` with a field of type `{Self}`, \
            or implement `rutina::FromRef<{S}>` for `{Self}`"
)]
pub trait FromRef<S> {
    /// Takes the part from the state.
    fn from_ref(state: &S) -> Self;
}

impl<T: Clone> FromRef<T> for T {
    fn from_ref(state: &T) -> T {
        state.clone()
    }
}

/// `S: Provides<T>` is `T: FromRef<S>` seen from the state: the state `S` can give a
/// `T` to a routine's parameter. It holds for every `S` and `T` where `T: FromRef<S>`;
/// implement [`FromRef`], not this.
///
/// `with_state` requires it of its state for each parameter: with the state first, the
/// state's type is taken from the argument before the parts are looked up in it, so that
/// a part the state cannot give is reported as such, naming both types.
///
/// ```
/// use rutina::Provides;
///
/// fn takes<T, S: Provides<T>>(state: &S) -> T {
///     S::provide(state)
/// }
///
/// assert_eq!(takes::<u32, u32>(&7), 7);
/// ```
pub trait Provides<T> {
    /// Takes the part from the state: `T::from_ref(self)`.
    fn provide(&self) -> T;
}

impl<S, T: FromRef<S>> Provides<T> for S {
    fn provide(&self) -> T {
        T::from_ref(self)
    }
}

/// A routine whose runs take parameters from a state of type `S`: what a
/// `#[rutina::routine]` fn with parameters after its `Context` is. Paired with a state in
/// a [`WithState`], it is a [`Routine`].
///
/// The macro implements it; by hand it looks like this:
///
/// ```
/// use std::future::Future;
/// use rutina::{BoxError, Context, FromRef, RunOptions, StatefulRoutine, WithState};
///
/// #[derive(Clone)]
/// struct Db;
///
/// async fn consume(_ctx: Context, _db: Db) -> Result<(), BoxError> {
///     Ok(())
/// }
///
/// struct Consumer;
///
/// impl<S> StatefulRoutine<S> for Consumer
/// where
///     Db: FromRef<S>,
/// {
///     // The parameters are taken now, at the start of the run: the future does not
///     // borrow the state.
///     fn run(&mut self, state: &S, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send {
///         consume(ctx, Db::from_ref(state))
///     }
///
///     fn options(&self) -> RunOptions {
///         RunOptions::default().name("consumer")
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rutina = rutina::Rutina::default();
/// rutina.go(WithState::new(Consumer, Db));
/// rutina.wait().await.unwrap();
/// # }
/// ```
pub trait StatefulRoutine<S>: Send + 'static {
    /// Starts one run with its context, its parameters taken from `state`.
    fn run(&mut self, state: &S, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// The options the routine declares. Default: [`RunOptions::default`].
    fn options(&self) -> RunOptions {
        RunOptions::default()
    }
}

/// A [`StatefulRoutine`] paired with the state its parameters are taken from: a
/// [`Routine`]. It is what the `impl Routine` that `with_state` returns for a
/// `#[rutina::routine]` fn with parameters is, and how to pair one by hand.
///
/// It keeps the state for as long as the routine lives, and builds the routine's
/// parameters from it with [`FromRef`] at the start of every run. Its options are the
/// routine's own: pass it to [`Rutina::go`](crate::Rutina::go) to run with them, or to
/// [`Rutina::go_with`](crate::Rutina::go_with) to replace them.
///
/// ```
/// use rutina::{Context, Policy, Routine, RunOptions, WithState};
///
/// #[rutina::routine(name = "mailer", on_error = Restart)]
/// async fn mail(_ctx: Context, from: String) -> std::io::Result<()> {
///     println!("mailing from {from}");
///     Ok(())
/// }
///
/// // The same as `mail.with_state(..)`, with a type that can be named.
/// let routine: WithState<mail, String> = WithState::new(mail, "ops@example.com".to_owned());
/// assert_eq!(routine.state(), "ops@example.com");
/// assert_eq!(routine.options(), RunOptions::default().name("mailer").on_error(Policy::Restart));
/// assert_eq!(routine.options(), mail.with_state(String::new()).options());
/// ```
#[derive(Clone, Debug)]
pub struct WithState<R, S> {
    routine: R,
    state: S,
}

impl<R, S> WithState<R, S> {
    /// Pairs `routine` with `state`.
    pub fn new(routine: R, state: S) -> WithState<R, S> {
        WithState { routine, state }
    }

    /// The routine.
    pub fn routine(&self) -> &R {
        &self.routine
    }

    /// The state the parameters are taken from.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The routine and its state.
    pub fn into_parts(self) -> (R, S) {
        (self.routine, self.state)
    }
}

impl<R, S> Routine for WithState<R, S>
where
    R: StatefulRoutine<S>,
    S: Send + 'static,
{
    fn run(&mut self, ctx: Context) -> impl Future<Output = Result<(), BoxError>> + Send {
        self.routine.run(&self.state, ctx)
    }

    fn options(&self) -> RunOptions {
        self.routine.options()
    }
}
