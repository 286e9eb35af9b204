// Any `Result<(), E>` with `E: Into<BoxError>`, spelled in any way, including aliases.
use rutina::Context;

#[rutina::routine]
async fn io(_ctx: Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine]
async fn io_alias(_ctx: Context) -> std::io::Result<()> {
    Ok(())
}

#[rutina::routine]
async fn anyhow_error(_ctx: Context) -> anyhow::Result<()> {
    anyhow::bail!("failed")
}

#[rutina::routine]
async fn string(_ctx: Context) -> Result<(), String> {
    Err("failed".to_owned())
}

#[rutina::routine]
async fn static_str(_ctx: Context) -> Result<(), &'static str> {
    Err("failed")
}

#[rutina::routine]
async fn boxed(_ctx: Context) -> Result<(), rutina::BoxError> {
    Ok(())
}

type MyResult = Result<(), std::fmt::Error>;

#[rutina::routine]
async fn own_alias(_ctx: Context) -> MyResult {
    Ok(())
}

fn main() {
    let rutina = rutina::Rutina::default();
    let _ = || {
        rutina.go(io);
        rutina.go(io_alias);
        rutina.go(anyhow_error);
        rutina.go(string);
        rutina.go(static_str);
        rutina.go(boxed);
        rutina.go(own_alias);
    };
}
