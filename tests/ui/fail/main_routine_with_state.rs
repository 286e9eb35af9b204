// A routine with parameters listed in a `main!` that has no `state` to take them from.
#[derive(Clone)]
struct Db;

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, _db: Db) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(consumer);
