// Two fields of one type: which one would `FromRef<App> for Db` take?
#[derive(Clone)]
struct Db;

#[derive(Clone, rutina::FromRef)]
struct App {
    primary: Db,
    name: String,
    replica: Db,
}

fn main() {}
