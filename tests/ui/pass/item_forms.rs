// Attributes, docs, visibility, patterns, inner attributes, raw names, fn-local items,
// `#[cfg]`: the item keeps all of it, and `call` is the body as written.
#![deny(missing_docs)]
//! A crate whose public items must be documented.

use rutina::{Context, Routine};

mod jobs {
    /// Polls the feed.
    #[rutina::routine(on_error = Restart)]
    #[allow(clippy::needless_return)]
    pub async fn poll(mut ctx: rutina::Context) -> Result<(), std::io::Error> {
        #![allow(unused_mut)]
        let _ = &mut ctx;
        return Ok(());
    }

    #[rutina::routine]
    pub(crate) async fn sweep(_: rutina::Context) -> Result<(), std::io::Error> {
        Ok(())
    }
}

#[rutina::routine]
async fn r#loop(_ctx: Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine]
#[cfg(any())]
async fn compiled_out(_ctx: Context) -> Result<(), std::io::Error> {
    this_does_not_exist()
}

fn main() {
    assert_eq!(jobs::poll.options().name.as_deref(), Some("poll"));
    assert_eq!(jobs::sweep.options().name.as_deref(), Some("sweep"));
    assert_eq!(r#loop.options().name.as_deref(), Some("loop"));

    #[rutina::routine(name = "local")]
    async fn local(_ctx: Context) -> Result<(), std::io::Error> {
        Ok(())
    }
    assert_eq!(local.options().name.as_deref(), Some("local"));

    // The item is a `Copy` value; `call` is the fn as written.
    let routine = jobs::poll;
    let _copy = routine;
    let _future = jobs::poll::call(Context::detached());
    let _debug = format!("{:?}", jobs::poll);
}
