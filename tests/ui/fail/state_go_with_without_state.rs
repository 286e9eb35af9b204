// A routine with parameters taken from a state, started with `go_with` without one.
#[derive(Clone)]
struct Db;

#[rutina::routine]
async fn consumer(_db: Db) -> Result<(), std::io::Error> {
    Ok(())
}

#[tokio::main]
async fn main() {
    let rutina = rutina::Rutina::default();
    rutina.go_with(consumer, rutina::RunOptions::default());
}
