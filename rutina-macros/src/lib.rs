//! Procedural macros for `rutina`: `#[rutina::routine]` and `rutina::main!` (in progress).
