//! The simulated clock: real time scaled by a speed, so that a minute-long call can take a second.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Simulated time since the emulator started.
pub type SimTime = Duration;

#[derive(Debug, Clone)]
pub struct SimClock {
    origin: Instant,
    wall_origin: DateTime<Utc>,
    speed: f64,
}

impl SimClock {
    /// Starts now. `speed` must be positive (the configuration checks it).
    pub fn start(speed: f64) -> SimClock {
        SimClock {
            origin: Instant::now(),
            wall_origin: Utc::now(),
            speed,
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The wall-clock moment the simulation started: simulated times count from it.
    pub fn wall_origin(&self) -> DateTime<Utc> {
        self.wall_origin
    }

    pub fn now(&self) -> SimTime {
        self.origin.elapsed().mul_f64(self.speed)
    }

    /// Real time left until the simulated moment `at` (zero when it has passed).
    pub fn real_until(&self, at: SimTime) -> Duration {
        at.saturating_sub(self.now()).div_f64(self.speed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faster_clock_runs_ahead_of_real_time() {
        let clock = SimClock::start(1000.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() >= Duration::from_secs(20));
        let later = clock.now() + Duration::from_secs(10);
        assert!(clock.real_until(later) <= Duration::from_millis(11));
    }
}
