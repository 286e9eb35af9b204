// `main!` has no state to give yet: a routine with parameters cannot be listed.
#[derive(Clone)]
struct Db;

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, _db: Db) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(consumer);
