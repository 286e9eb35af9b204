// `restart_intensity`, `grace_period` and `readiness_gate` in each of their spellings.
use rutina::{Routine, RunOptions};
use std::time::Duration;

#[rutina::routine(restart_intensity = (0, "1s 500ms",), grace_period = "0s", readiness_gate = true)]
async fn strict(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(restart_intensity = (4294967295, "2h"), grace_period = "1m 30s", readiness_gate = false)]
async fn lenient(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

#[rutina::routine(readiness_gate)]
async fn gate(ctx: rutina::Context) -> Result<(), std::io::Error> {
    ctx.ready();
    Ok(())
}

fn main() {
    assert_eq!(
        strict.options(),
        RunOptions::default()
            .name("strict")
            .restart_intensity(0, Duration::from_millis(1500))
            .grace_period(Duration::ZERO)
            .readiness_gate(true)
    );
    assert_eq!(
        lenient.options(),
        RunOptions::default()
            .name("lenient")
            .restart_intensity(u32::MAX, Duration::from_secs(7200))
            .grace_period(Duration::from_secs(90))
            .readiness_gate(false)
    );
    assert_eq!(gate.options(), RunOptions::default().name("gate").readiness_gate(true));
}
