#[derive(Clone)]
struct Db;

#[derive(Clone, rutina::FromRef)]
struct App<C> {
    db: Db,
    config: C,
}

fn main() {}
