#[rutina::routine(timeout = "5s")]
struct Poll;

fn main() {}
