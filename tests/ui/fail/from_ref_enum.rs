#[derive(Clone, rutina::FromRef)]
enum App {
    Small(u32),
    Large(String),
}

fn main() {}
