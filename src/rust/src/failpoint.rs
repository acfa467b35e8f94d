//! Test-only fault injection: `DATOM_FAILPOINT` names steps of the engine's
//! flows where it fails on purpose, so the tests can prove that every step
//! can fail and leave a state `datom_validate()` names and a documented
//! repair completes.
//!
//! `DATOM_FAILPOINT=step` (or `step:error`) returns a `Kind::Failpoint`
//! error at that step; `step:kill` ends the process there at once (no
//! cleanup, like a crash or a killed R session); `step:sleep=MS` waits that
//! long (a slow writer, for races). Several entries are separated by `,`.
//! Unset (every user's case) it costs one environment lookup per step.
//!
//! Steps of flows the engine runs are hit here (`hit("step")`); the steps of
//! flows R orchestrates (between the tables of `datom_sync()`, between the
//! steps of `datom_decommission()`, before the governance.json mirror of
//! `datom_init_repo()`) are hit through `rs_failpoint_hit()`.
//! Every step is in [`STEPS`], and the fault matrices of the R tests
//! (test-fault-matrix.R for write, test-fault-matrix-flows.R for the
//! others) cover each of them.

use crate::error::{Error, Kind, Result};

/// Every step the engine can fail at, by flow (the test matrix iterates this).
pub const STEPS: &[&str] = &[
    // datom_write
    "write.commit",
    "write.push",
    "write.checkout",
    "write.upload",
    "publish.table",
    "publish.manifest",
    "publish.marker",
    // datom_sync: after a table is imported, before the next one (R)
    "sync.table",
    // datom_repo_set_data_store (ops::storage::migrate)
    "migrate.copy",
    "migrate.verify",
    "migrate.gov",
    "migrate.commit",
    "migrate.freeze",
    // datom_adopt (ops::adopt): adoption of a 0.1.x project, and the
    // removal of its old objects
    "adopt.copy",
    "adopt.verify",
    "adopt.publish",
    "adopt.gov",
    "adopt.commit",
    "adopt.remove",
    // datom_init_repo with governance (registration)
    "init.push",
    "register.push",
    "register.mirror",
    "register.governance",
    // datom_decommission (R orchestration; the unregister push in the engine)
    "decommission.store",
    "decommission.repo",
    "decommission.clone",
    "decommission.unregister",
    "decommission.gov_mirror",
];

/// Hit the failpoint `step`.
pub fn hit(step: &str) -> Result<()> {
    debug_assert!(STEPS.contains(&step), "unknown failpoint {step}");
    let Ok(spec) = std::env::var("DATOM_FAILPOINT") else { return Ok(()) };
    for entry in spec.split(',').map(str::trim) {
        let (name, action) = entry.split_once(':').unwrap_or((entry, "error"));
        if name != step {
            continue;
        }
        if action == "kill" {
            kill_now();
        }
        if let Some(ms) = action.strip_prefix("sleep=") {
            let ms: u64 = ms.parse().unwrap_or(0);
            crate::runtime::wait_interruptible_for(std::time::Duration::from_millis(ms))?;
            continue;
        }
        return Err(Error::new(Kind::Failpoint, format!("failpoint {step} hit (DATOM_FAILPOINT)"))
            .with_hint("DATOM_FAILPOINT is set: it is for tests only; unset it."));
    }
    Ok(())
}

/// End the process at once: no destructors, no R cleanup, no core dump (as
/// when a session is killed).
fn kill_now() -> ! {
    #[cfg(unix)]
    {
        extern "C" {
            fn _exit(code: i32) -> !;
        }
        unsafe { _exit(137) }
    }
    #[cfg(not(unix))]
    std::process::abort()
}
