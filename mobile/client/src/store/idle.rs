//! When to lock after inactivity. Pure logic: the UI calls [`IdleLock::touch`]
//! on every interaction and asks [`IdleLock::should_lock`] on a timer, then
//! calls [`Store::lock`](super::Store::lock) itself.
//!
//! Time is wall-clock ([`SystemTime`]), not [`std::time::Instant`]: on
//! Linux and Android the monotonic clock stops while the phone sleeps, so an
//! `Instant`-based timer would not count the hours a phone spent asleep in a
//! bag. If the clock jumps backwards the lock errs on the side of locking.

use std::time::{Duration, SystemTime};

/// How long the app stays unlocked without interaction.
#[derive(Debug, Clone)]
pub struct IdleLock {
    timeout: Duration,
    last_activity: SystemTime,
}

impl IdleLock {
    /// The default used by the app.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

    /// Starts counting from `now` (the moment of unlocking).
    pub fn new(timeout: Duration, now: SystemTime) -> Self {
        IdleLock {
            timeout,
            last_activity: now,
        }
    }

    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Records user activity now.
    pub fn touch(&mut self) {
        self.touch_at(SystemTime::now());
    }

    /// Records user activity at `now`.
    pub fn touch_at(&mut self, now: SystemTime) {
        self.last_activity = now;
    }

    /// Whether the store should be locked at `now`.
    pub fn should_lock(&self, now: SystemTime) -> bool {
        match now.duration_since(self.last_activity) {
            Ok(idle) => idle >= self.timeout,
            // The clock went backwards: the idle time is unknown, so lock.
            Err(_) => true,
        }
    }

    /// Time left before locking at `now` (zero if it should lock).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        match now.duration_since(self.last_activity) {
            Ok(idle) => self.timeout.saturating_sub(idle),
            Err(_) => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn stays_unlocked_while_the_user_is_active() {
        let mut idle = IdleLock::new(5 * MINUTE, start());
        assert!(!idle.should_lock(start() + 4 * MINUTE));
        idle.touch_at(start() + 4 * MINUTE);
        assert!(!idle.should_lock(start() + 8 * MINUTE));
        assert_eq!(idle.remaining(start() + 8 * MINUTE), MINUTE);
    }

    #[test]
    fn locks_once_the_timeout_passes() {
        let idle = IdleLock::new(5 * MINUTE, start());
        assert!(idle.should_lock(start() + 5 * MINUTE));
        assert!(idle.should_lock(start() + 60 * MINUTE));
        assert_eq!(idle.remaining(start() + 6 * MINUTE), Duration::ZERO);
    }

    #[test]
    fn locks_if_the_clock_goes_backwards() {
        let idle = IdleLock::new(5 * MINUTE, start());
        assert!(idle.should_lock(start() - Duration::from_secs(1)));
    }
}
