#[derive(Clone)]
struct Db;

#[derive(Clone, rutina::FromRef)]
struct App(Db, String);

fn main() {}
