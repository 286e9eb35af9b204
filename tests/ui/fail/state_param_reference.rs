// A parameter taken from the state cannot borrow.
struct Config;

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, _config: &Config) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
