rutina::main! { shutdown_timeout: "30s" }
