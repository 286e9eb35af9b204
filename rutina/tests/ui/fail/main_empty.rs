rutina::main!();
