// `setup: config::load`, a path to an fn returning `Result<(), E>` (here `anyhow::Result<()>`).
use std::sync::OnceLock;

static PORT: OnceLock<u16> = OnceLock::new();

mod config {
    pub fn load() -> anyhow::Result<()> {
        let port = "8080".parse()?;
        super::PORT.set(port).map_err(|_| anyhow::anyhow!("loaded twice"))?;
        Ok(())
    }
}

#[rutina::routine]
async fn server() -> Result<(), &'static str> {
    PORT.get().map(|_| ()).ok_or("setup did not run before the routine")
}

rutina::main! {
    routines: [server],
    setup: config::load,
}
