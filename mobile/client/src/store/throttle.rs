//! Slowing down passcode guessing, without ever destroying data.
//!
//! Each wrong passcode in a row is counted in a small plaintext file,
//! `bothy.unlock`, next to the database (it holds two numbers: the count and
//! the earliest time the next attempt is allowed), so the count survives the
//! app being killed and restarted. The first [`FREE_ATTEMPTS`] mistakes cost
//! nothing; after that each failure doubles the wait, from one second up to
//! [`MAX_DELAY`]. A correct passcode resets the count. Nothing is ever wiped.
//!
//! This guards the unlock screen; someone who can rewrite the app's files
//! could delete this file, but they would also have the key file and could
//! attack it offline, which is what Argon2id is for.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::fsutil;

/// File name of the throttle state inside the data directory.
pub const THROTTLE_FILE_NAME: &str = "bothy.unlock";

/// Consecutive wrong passcodes that cost no wait.
pub const FREE_ATTEMPTS: u32 = 3;

/// The longest wait between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// Reading or writing the throttle file failed.
#[derive(Debug, thiserror::Error)]
#[error("reading or writing the unlock-attempt file failed: {0}")]
pub struct ThrottleError(#[from] io::Error);

/// How long the user must wait after `failures` consecutive wrong passcodes:
/// nothing for the first [`FREE_ATTEMPTS`], then 1 s, 2 s, 4 s, … capped at
/// [`MAX_DELAY`].
pub fn delay_after_failures(failures: u32) -> Duration {
    if failures <= FREE_ATTEMPTS {
        return Duration::ZERO;
    }
    let doublings = failures - FREE_ATTEMPTS - 1;
    if doublings >= 10 {
        return MAX_DELAY; // 2^10 s already exceeds 15 minutes.
    }
    Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
}

/// What the unlock screen can show before the user types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleStatus {
    /// Wrong passcodes in a row so far.
    pub failures: u32,
    /// How long until the next attempt is allowed (zero: now).
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
struct ThrottleState {
    failures: u32,
    /// Milliseconds since the Unix epoch.
    not_before_ms: u64,
}

/// The throttle file for one data directory.
#[derive(Debug, Clone)]
pub(crate) struct UnlockThrottle {
    path: PathBuf,
}

impl UnlockThrottle {
    pub(crate) fn in_dir(dir: &Path) -> Self {
        UnlockThrottle {
            path: dir.join(THROTTLE_FILE_NAME),
        }
    }

    fn read(&self) -> Result<ThrottleState, ThrottleError> {
        let Some(bytes) = fsutil::read_if_exists(&self.path)? else {
            return Ok(ThrottleState::default());
        };
        // The file is replaced atomically, so a damaged one was damaged on
        // purpose or by the disk. Treat it as "the free attempts are used up"
        // so deleting or garbling it never buys a guesser free attempts,
        // while the rightful user is not made to wait.
        Ok(serde_json::from_slice(&bytes).unwrap_or(ThrottleState {
            failures: FREE_ATTEMPTS,
            not_before_ms: 0,
        }))
    }

    fn write(&self, state: ThrottleState) -> Result<(), ThrottleError> {
        // Two integers always serialise.
        let bytes = serde_json::to_vec(&state).unwrap_or_default();
        Ok(fsutil::write_atomically(&self.path, &bytes)?)
    }

    pub(crate) fn status(&self, now: SystemTime) -> Result<ThrottleStatus, ThrottleError> {
        let state = self.read()?;
        let wait = Duration::from_millis(state.not_before_ms.saturating_sub(millis(now)));
        Ok(ThrottleStatus {
            failures: state.failures,
            // If the clock was set back, never wait longer than the current
            // step of the schedule.
            retry_after: wait.min(delay_after_failures(state.failures)),
        })
    }

    /// Counts one more wrong passcode; returns the wait before the next try.
    pub(crate) fn record_failure(&self, now: SystemTime) -> Result<Duration, ThrottleError> {
        let failures = self.read()?.failures.saturating_add(1);
        let delay = delay_after_failures(failures);
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.write(ThrottleState {
            failures,
            not_before_ms: millis(now).saturating_add(delay_ms),
        })?;
        Ok(delay)
    }

    /// A correct passcode: back to zero (no write if already zero).
    pub(crate) fn reset(&self) -> Result<(), ThrottleError> {
        if self.read()? != ThrottleState::default() {
            self.write(ThrottleState::default())?;
        }
        Ok(())
    }
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_free_then_doubles_then_caps() {
        let delays: Vec<u64> = (0..=16)
            .map(|n| delay_after_failures(n).as_secs())
            .collect();
        assert_eq!(
            delays,
            [
                0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900
            ]
        );
        assert_eq!(delay_after_failures(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn failures_persist_and_a_reset_clears_them() {
        let dir = tempfile::tempdir().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let throttle = UnlockThrottle::in_dir(dir.path());
        for _ in 0..4 {
            throttle.record_failure(now).unwrap();
        }
        let reopened = UnlockThrottle::in_dir(dir.path());
        assert_eq!(
            reopened.status(now).unwrap(),
            ThrottleStatus {
                failures: 4,
                retry_after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            reopened
                .status(now + Duration::from_millis(400))
                .unwrap()
                .retry_after,
            Duration::from_millis(600)
        );
        reopened.reset().unwrap();
        assert_eq!(reopened.status(now).unwrap(), ThrottleStatus::default());
    }

    #[test]
    fn setting_the_clock_back_never_waits_longer_than_the_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let throttle = UnlockThrottle::in_dir(dir.path());
        for _ in 0..5 {
            throttle.record_failure(now).unwrap();
        }
        let earlier = now - Duration::from_secs(86_400);
        assert_eq!(
            throttle.status(earlier).unwrap().retry_after,
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_garbled_file_uses_up_the_free_attempts_but_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(THROTTLE_FILE_NAME), b"{garbage").unwrap();
        let throttle = UnlockThrottle::in_dir(dir.path());
        let now = SystemTime::now();
        assert_eq!(throttle.status(now).unwrap().retry_after, Duration::ZERO);
        assert_eq!(
            throttle.record_failure(now).unwrap(),
            Duration::from_secs(1)
        );
    }
}
