// A routine with parameters taken from a state, started without one.
#[derive(Clone)]
struct Db;

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, _db: Db) -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::main]
async fn main() {
    let rutina = rutina::Rutina::default();
    rutina.go(consumer);
}
