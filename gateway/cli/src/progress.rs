//! Progress of a command's long stages, on standard error (standard output
//! stays the command's answer, which scripts read): a line when a stage
//! starts, and its time when it ends, so nobody stares at a silent
//! terminal through a 30-second proof or a chain deployment.

use std::io::Write as _;
use std::time::Instant;

/// One stage: announced when made, timed when [`Stage::done`] is called.
/// Dropped without `done` (the stage failed), it says nothing more: the
/// error follows.
pub struct Stage {
    what: String,
    started: Instant,
}

impl Stage {
    pub fn start(what: impl Into<String>) -> Stage {
        let what = what.into();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "… {what}");
        let _ = err.flush();
        Stage {
            what,
            started: Instant::now(),
        }
    }

    /// Ends the stage; prints its time when it took over a second (a fast
    /// stage's line is enough).
    pub fn done(self) {
        let secs = self.started.elapsed().as_secs_f64();
        if secs >= 1.0 {
            eprintln!("  {} took {secs:.1} s", self.what);
        }
    }
}

/// Runs `work` as a stage named `what`.
pub fn stage<T, E>(what: impl Into<String>, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let s = Stage::start(what);
    let out = work()?;
    s.done();
    Ok(out)
}
