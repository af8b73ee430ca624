//! How many reads to keep in flight against an API that throttles, as TCP's congestion window:
//! doubling each round trip until the first throttle (slow start), then additive increase and
//! multiplicative decrease. A fixed number is either slow on a fast account (and
//! far from the service's limit) or, on a busy one, a burst of `ThrottlingException`s that the
//! SDK's retries may not absorb; the window finds the rate the account allows instead.

/// The number of reads allowed in flight now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptiveLimit {
    limit: usize,
    min: usize,
    max: usize,
    /// Reads that finished unthrottled since the limit last changed.
    successes: usize,
    /// No throttle yet: grow by one per success, not per window.
    slow_start: bool,
}

impl AdaptiveLimit {
    /// Starts at `start`, never below `min` (at least 1) nor above `max`.
    pub fn new(start: usize, min: usize, max: usize) -> Self {
        let min = min.max(1);
        let max = max.max(min);
        Self {
            limit: start.clamp(min, max),
            min,
            max,
            successes: 0,
            slow_start: true,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A read finished without being throttled: one more in flight, for each success until the
    /// first throttle, then once a whole window's worth succeeded (about one per round trip).
    pub fn on_success(&mut self) {
        self.successes += 1;
        let enough = if self.slow_start { 1 } else { self.limit };
        if self.successes >= enough && self.limit < self.max {
            self.limit += 1;
            self.successes = 0;
        }
    }

    /// A read was throttled: half as many in flight.
    pub fn on_throttle(&mut self) {
        self.limit = (self.limit / 2).max(self.min);
        self.successes = 0;
        self.slow_start = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_grows_by_one_per_success_up_to_max() {
        let mut l = AdaptiveLimit::new(8, 1, 32);
        for _ in 0..8 {
            l.on_success();
        }
        assert_eq!(
            l.limit(),
            16,
            "a round trip of 8 successes doubles the window"
        );
        for _ in 0..100 {
            l.on_success();
        }
        assert_eq!(l.limit(), 32);
    }

    #[test]
    fn after_a_throttle_it_grows_by_one_per_window() {
        let mut l = AdaptiveLimit::new(8, 1, 32);
        l.on_throttle();
        assert_eq!(l.limit(), 4);
        for _ in 0..3 {
            l.on_success();
        }
        assert_eq!(l.limit(), 4);
        l.on_success();
        assert_eq!(l.limit(), 5);
        for _ in 0..5 {
            l.on_success();
        }
        assert_eq!(l.limit(), 6);
    }

    #[test]
    fn halves_on_throttle_down_to_min_and_restarts_counting() {
        let mut l = AdaptiveLimit::new(16, 2, 32);
        l.on_throttle();
        assert_eq!(l.limit(), 8);
        for _ in 0..7 {
            l.on_success();
        }
        l.on_throttle();
        l.on_throttle();
        assert_eq!(l.limit(), 2);
        l.on_success();
        assert_eq!(
            l.limit(),
            2,
            "the successes before the throttle no longer count"
        );
        l.on_success();
        assert_eq!(l.limit(), 3);
    }

    #[test]
    fn bounds_are_made_sane() {
        assert_eq!(AdaptiveLimit::new(0, 0, 0).limit(), 1);
        assert_eq!(AdaptiveLimit::new(50, 1, 8).limit(), 8);
        let mut l = AdaptiveLimit::new(1, 0, 8);
        l.on_throttle();
        assert_eq!(l.limit(), 1);
    }
}
