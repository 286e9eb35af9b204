// A `main!` entry whose value is not a routine: a struct that does not implement
// `rutina::Routine`.
struct Poller;

rutina::main!(Poller);
