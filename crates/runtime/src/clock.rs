//! [`Clock`]: where the driver gets the time it passes to the engine, and how it waits for
//! the next timer. [`SystemClock`] is real time (the server); [`VirtualClock`] jumps
//! straight to each timer (offline runs and tests), so an hour's `wait` takes no time and
//! every run is reproducible.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::BoxFuture;

/// The time source of a run.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Returns once `due` has come (at once when it has passed).
    fn sleep_until(&self, due: DateTime<Utc>) -> BoxFuture<'_, ()>;
}

/// Wall-clock time; waits with `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, due: DateTime<Utc>) -> BoxFuture<'_, ()> {
        let wait = (due - Utc::now()).to_std().unwrap_or_default();
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        })
    }
}

/// Simulated time: stands still while commands are performed and jumps forward to each
/// timer. Never goes backwards.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
}

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> VirtualClock {
        VirtualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `by` (a negative duration is ignored; the end of time
    /// is as far as it goes).
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        if by > Duration::zero() {
            *now = now
                .checked_add_signed(by)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid time.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    fn sleep_until(&self, due: DateTime<Utc>) -> BoxFuture<'_, ()> {
        {
            let mut now = self.lock();
            if due > *now {
                *now = due;
            }
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[tokio::test]
    async fn virtual_time_jumps_forward_only() {
        let c = VirtualClock::new(t0());
        c.sleep_until(t0() + Duration::hours(1)).await;
        assert_eq!(c.now(), t0() + Duration::hours(1));
        c.sleep_until(t0()).await;
        assert_eq!(c.now(), t0() + Duration::hours(1));
        c.advance(Duration::seconds(-5));
        c.advance(Duration::seconds(5));
        assert_eq!(c.now(), t0() + Duration::seconds(3605));
    }

    #[tokio::test]
    async fn system_clock_sleeps_for_real() {
        let c = SystemClock;
        let start = std::time::Instant::now();
        c.sleep_until(Utc::now() - Duration::seconds(10)).await;
        assert!(start.elapsed() < std::time::Duration::from_millis(50));
        c.sleep_until(Utc::now() + Duration::milliseconds(60)).await;
        assert!(start.elapsed() >= std::time::Duration::from_millis(50));
    }
}
