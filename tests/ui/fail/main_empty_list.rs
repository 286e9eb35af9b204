rutina::main! { routines: [], shutdown_timeout: "30s" }
