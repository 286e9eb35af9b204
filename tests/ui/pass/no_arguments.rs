// No arguments, or empty parentheses: default options, named after the fn.
use rutina::{Routine, RunOptions};

#[rutina::routine]
async fn bare(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine()]
async fn empty_parens(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    assert_eq!(bare.options(), RunOptions::default().name("bare"));
    assert_eq!(
        empty_parens.options(),
        RunOptions::default().name("empty_parens")
    );
}
