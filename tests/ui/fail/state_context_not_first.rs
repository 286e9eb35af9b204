// The `Context` comes first, before the parameters taken from the state.
#[derive(Clone)]
struct Db;

#[rutina::routine]
async fn consumer(_db: Db, _ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
