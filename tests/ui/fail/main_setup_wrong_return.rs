#[rutina::routine]
async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

struct Config;

fn load_config() -> Result<Config, std::io::Error> {
    Ok(Config)
}

rutina::main! { routines: [poll], setup: load_config }
