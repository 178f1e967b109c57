//! Faults a test can switch on at runtime (`POST /_emulator/faults`): added latency, random 429/500/503/408, and a
//! token-bucket rate limit shared by all callers, as the platform's spike arrest is.
//!
//! Each PDS request draws exactly one random number, whatever happens to it, so with a `seed` the same sequence of
//! requests meets the same faults on every run.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::outcome::PdsError;

/// The fault settings, as posted. Every field is optional; an empty object clears everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Share of requests answered `429 TOO_MANY_REQUESTS`, 0.0–1.0.
    pub rate_429: f64,
    /// Share answered `500 UNKNOWN_ERROR`.
    pub rate_500: f64,
    /// Share answered `503 SERVICE_UNAVAILABLE` with `Retry-After: 5`.
    pub rate_503: f64,
    /// Share answered `408 UNABLE_TO_CALL_SERVICE`.
    pub rate_408: f64,
    /// Delay added before every PDS response.
    pub latency_ms: u64,
    /// Requests per second across all callers; beyond it, 429. Bursts up to one second's worth are allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<f64>,
    /// Seed for the fault draws; without it they come from the OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl FaultConfig {
    /// Rejects rates outside 0–1, rates that add up to more than 1, and non-positive rate limits.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("rate_429", self.rate_429),
            ("rate_500", self.rate_500),
            ("rate_503", self.rate_503),
            ("rate_408", self.rate_408),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if rates.iter().map(|(_, r)| r).sum::<f64>() > 1.0 + f64::EPSILON {
            return Err("the fault rates add up to more than 1".into());
        }
        if self.rate_limit_per_second.is_some_and(|r| !r.is_finite() || r <= 0.0) {
            return Err("rate_limit_per_second must be a positive number".into());
        }
        Ok(())
    }
}

/// What happens to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub latency: Duration,
    pub fault: Option<PdsError>,
}

#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64, now: Instant) -> Self {
        Self { rate, tokens: rate.max(1.0), last: now }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The live fault state behind the admin endpoint.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: StdRng,
    bucket: Option<TokenBucket>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        let mut faults = Self { config: FaultConfig::default(), rng: StdRng::from_os_rng(), bucket: None };
        faults.set(config);
        faults
    }

    /// Replaces the settings (the bucket starts full, the RNG restarts from the seed).
    pub fn set(&mut self, config: FaultConfig) {
        self.rng = config.seed.map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        self.bucket = config.rate_limit_per_second.map(|rate| TokenBucket::new(rate, Instant::now()));
        self.config = config;
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    pub fn decide(&mut self, now: Instant) -> Decision {
        let draw: f64 = self.rng.random();
        let latency = Duration::from_millis(self.config.latency_ms);
        if self.bucket.as_mut().is_some_and(|bucket| !bucket.take(now)) {
            let diagnostics = "Your application has created a spike in traffic and is being rate limited. Please \
                               reduce the rate of your requests.";
            return Decision { latency, fault: Some(PdsError::TooManyRequests(diagnostics.into())) };
        }
        let c = &self.config;
        let mut threshold = 0.0;
        let mut fault = None;
        for (rate, make) in [
            (c.rate_429, too_many as fn() -> PdsError),
            (c.rate_500, unknown_error),
            (c.rate_503, unavailable),
            (c.rate_408, timeout),
        ] {
            threshold += rate;
            if draw < threshold {
                fault = Some(make());
                break;
            }
        }
        Decision { latency, fault }
    }
}

fn too_many() -> PdsError {
    PdsError::TooManyRequests(
        "This API is currently receiving a high volume of requests and is being rate limited.".into(),
    )
}

fn unknown_error() -> PdsError {
    PdsError::UnknownError(format!(
        "An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: \
         https://digital.nhs.uk/developer/help-and-support quoting Message ID: {}",
        uuid::Uuid::new_v4()
    ))
}

fn unavailable() -> PdsError {
    PdsError::ServiceUnavailable(
        "The downstream domain processing has not completed within the configured timeout \
                                  period. Using the same 'X-Request-ID' header, retry your request after the time \
                                  specified by the 'Retry-After' response header."
            .into(),
    )
}

fn timeout() -> PdsError {
    PdsError::UnableToCallService("The downstream service did not respond in time.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_draws_repeat() {
        let config = FaultConfig { rate_429: 0.3, rate_500: 0.3, seed: Some(7), ..FaultConfig::default() };
        let run = || {
            let mut faults = Faults::new(config.clone());
            (0..50).map(|_| faults.decide(Instant::now()).fault.map(|f| f.status())).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(5.0, start);
        assert_eq!((0..10).filter(|_| bucket.take(start)).count(), 5);
        assert!(bucket.take(start + Duration::from_millis(250)));
        assert!(!bucket.take(start + Duration::from_millis(250)));
    }

    #[test]
    fn validation() {
        assert!(FaultConfig { rate_429: 1.5, ..FaultConfig::default() }.validate().is_err());
        assert!(FaultConfig { rate_429: 0.6, rate_500: 0.6, ..FaultConfig::default() }.validate().is_err());
        assert!(FaultConfig { rate_limit_per_second: Some(0.0), ..FaultConfig::default() }.validate().is_err());
        assert!(FaultConfig { rate_429: 0.05, rate_500: 0.05, ..FaultConfig::default() }.validate().is_ok());
    }
}
