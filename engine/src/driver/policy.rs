//! The numbers a spec gives a task, checked and clamped: retry policies, durations, time
//! limits and loop parallelism.

use std::time::Duration;

use pipeline::ir::{ComponentSpec, PipelineTaskSpec};
use serde_json::Value;

use super::{Finished, Outcome, RunSpec};

/// The longest duration the engine waits for (a timeout, a retry back-off): every duration
/// read from a spec or a run request is clamped to it. A year is as good as forever for a
/// local run, and keeps every deadline computable (`Instant + Duration` cannot overflow).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The most retries of one task: a spec's `maxRetryCount` above it is clamped to it.
pub const MAX_RETRIES: u32 = 1000;

/// The most iterations of a loop that run at once: a `parallelismLimit` above it (or none) is
/// clamped to it. It is what a tokio semaphore holds.
pub const MAX_PARALLELISM: usize = usize::MAX >> 3;

/// `secs` seconds, clamped to [`MAX_DURATION`]; an error naming `field` when `secs` is negative
/// or not a number.
pub fn seconds(field: &str, secs: f64) -> Result<Duration, String> {
    if secs.is_nan() || secs < 0.0 {
        return Err(format!(
            "{field} is {secs}; it must be a number of seconds, 0 or more"
        ));
    }
    if secs >= MAX_DURATION.as_secs_f64() {
        return Ok(MAX_DURATION);
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|e| format!("{field} is {secs}, which is not a duration: {e}"))
}

/// Parses a protobuf duration (`"5s"`, `"1.5s"`), clamped to [`MAX_DURATION`]; an error
/// naming `field` and the value when it is not one.
pub fn parse_duration(field: &str, s: &str) -> Result<Duration, String> {
    let secs = s
        .trim()
        .strip_suffix('s')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| !n.is_nan())
        .ok_or_else(|| {
            format!("{field} is {s:?}, which is not a duration in seconds such as \"1.5s\"")
        })?;
    seconds(field, secs)
}

/// A task's retry policy, checked and clamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Attempts in all (retries + 1), at most [`MAX_RETRIES`] + 1.
    pub attempts: u32,
    /// The first wait.
    pub backoff: Duration,
    /// How much each wait grows.
    pub factor: f64,
    /// The longest wait.
    pub max_backoff: Duration,
}

/// What follows a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterFailure {
    /// Wait `wait`, then make the next attempt; `note` is the task's error meanwhile.
    Retry {
        /// How long to wait.
        wait: Duration,
        /// What to show on the task meanwhile.
        note: String,
    },
    /// The task has failed.
    GiveUp(Finished),
}

impl Retry {
    /// The policy of `t` (none: one attempt), or an error naming the field that is wrong.
    pub fn of(t: &PipelineTaskSpec) -> Result<Self, String> {
        let policy = t.retry_policy.clone().unwrap_or_default();
        let retries = policy
            .max_retry_count
            .unwrap_or(0)
            .clamp(0, i64::from(MAX_RETRIES));
        let retries = u32::try_from(retries).unwrap_or(MAX_RETRIES);
        let backoff = match policy.backoff_duration.as_deref() {
            Some(d) => parse_duration("retryPolicy.backoffDuration", d)?,
            None => Duration::ZERO,
        };
        let max_backoff = match policy.backoff_max_duration.as_deref() {
            Some(d) => parse_duration("retryPolicy.backoffMaxDuration", d)?,
            None => Duration::from_secs(3600),
        };
        let factor = match policy.backoff_factor {
            None => 2.0,
            Some(f) if f.is_finite() && f > 0.0 => f,
            // 0 is protobuf's "unset".
            Some(0.0) => 2.0,
            Some(f) => {
                return Err(format!(
                    "retryPolicy.backoffFactor is {f}; it must be a positive number"
                ))
            }
        };
        Ok(Self {
            attempts: retries.saturating_add(1),
            backoff,
            factor,
            max_backoff,
        })
    }

    /// The wait after failed attempt `attempt` (1 = the first): `backoff × factor^(attempt-1)`,
    /// at most `max_backoff`.
    pub fn wait(&self, attempt: u32) -> Duration {
        if self.backoff.is_zero() {
            return Duration::ZERO;
        }
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.backoff.as_secs_f64() * self.factor.powi(exponent);
        if !secs.is_finite() || secs >= self.max_backoff.as_secs_f64() {
            return self.max_backoff;
        }
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// What follows attempt `attempt` (1 = the first) failing with `error`: another attempt
    /// after a wait, unless that was the last one or the run is `cancelled`.
    pub fn after_failure(&self, attempt: u32, error: String, cancelled: bool) -> AfterFailure {
        let attempts = self.attempts;
        if attempt < attempts && !cancelled {
            let wait = self.wait(attempt);
            return AfterFailure::Retry {
                wait,
                note: format!(
                    "attempt {attempt} of {attempts} failed: {error}; retrying in {:.1}s",
                    wait.as_secs_f64()
                ),
            };
        }
        let error = if attempts > 1 {
            format!("{error} (after {attempts} attempts)")
        } else {
            error
        };
        AfterFailure::GiveUp(Finished::new(Outcome::Failed, error))
    }
}

/// How many iterations of a loop may run at once: its `parallelismLimit` (0 or less: no
/// limit), at most [`MAX_PARALLELISM`].
pub fn parallelism(limit: Option<i64>) -> usize {
    limit.filter(|n| *n > 0).map_or(MAX_PARALLELISM, |n| {
        usize::try_from(n).map_or(MAX_PARALLELISM, |n| n.min(MAX_PARALLELISM))
    })
}

impl RunSpec<'_> {
    /// The time limit of an attempt of `comp`: the task's Kubernetes `activeDeadlineSeconds`
    /// when the platform spec sets one (0 or less: none), else the run's
    /// `taskTimeoutSeconds`; clamped to [`MAX_DURATION`].
    pub fn timeout(&self, comp: &ComponentSpec) -> Result<Option<Duration>, String> {
        let field = "activeDeadlineSeconds";
        let from_platform = match (self.platform, comp.executor_label.as_deref()) {
            (Some(p), Some(label)) => {
                match &p["platforms"]["kubernetes"]["deploymentSpec"]["executors"][label][field] {
                    Value::Null => None,
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => Some(s.trim().parse::<f64>().map_err(|_| {
                        format!("{field} is {s:?}, which is not a number of seconds")
                    })?),
                    other => {
                        return Err(format!(
                            "{field} is {other}, which is not a number of seconds"
                        ))
                    }
                }
            }
            _ => None,
        };
        match from_platform.filter(|s| *s > 0.0) {
            Some(secs) => seconds(field, secs).map(Some),
            None => Ok(self
                .options
                .task_timeout_seconds
                .map(|s| Duration::from_secs(s).min(MAX_DURATION))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_parse_like_protobuf() {
        let d = |s| parse_duration("f", s);
        assert_eq!(d("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(d("0.5s"), Ok(Duration::from_millis(500)));
        let err = d("5m").expect_err("minutes");
        assert!(err.contains("f is \"5m\""), "{err}");
        assert!(d("-1s").expect_err("negative").contains("-1"));
        assert!(d("NaNs").is_err());
        // Values that used to panic `Duration::from_secs_f64` are clamped.
        assert_eq!(d("1e30s"), Ok(MAX_DURATION));
        assert_eq!(d("infs"), Ok(MAX_DURATION));
        assert_eq!(d("1e400s"), Ok(MAX_DURATION));
    }

    fn task_with(retry: Value) -> PipelineTaskSpec {
        serde_json::from_value(json!({
            "taskInfo": {"name": "t"},
            "componentRef": {"name": "comp-t"},
            "retryPolicy": retry,
        }))
        .expect("task")
    }

    #[test]
    fn retry_policies_are_checked_and_clamped() {
        let r = Retry::of(&task_with(json!({
            "maxRetryCount": 3,
            "backoffDuration": "1s",
            "backoffFactor": 2.0,
            "backoffMaxDuration": "5s"
        })))
        .expect("policy");
        assert_eq!(r.attempts, 4);
        assert_eq!(r.wait(1), Duration::from_secs(1));
        assert_eq!(r.wait(2), Duration::from_secs(2));
        assert_eq!(r.wait(4), Duration::from_secs(5));
        // Huge factors and durations, and huge retry counts, that used to panic or wrap.
        let r = Retry::of(&task_with(json!({
            "maxRetryCount": 9_223_372_036_854_775_807_i64,
            "backoffDuration": "1e30s",
            "backoffFactor": 1.0e308,
            "backoffMaxDuration": "1e30s"
        })))
        .expect("policy");
        assert_eq!(r.attempts, MAX_RETRIES + 1);
        assert_eq!(r.wait(1), MAX_DURATION);
        assert_eq!(r.wait(u32::MAX), MAX_DURATION);
        let r = Retry::of(&task_with(json!({
            "maxRetryCount": 2,
            "backoffDuration": "1s",
            "backoffFactor": 1.0e308
        })))
        .expect("policy");
        assert_eq!(r.wait(3), Duration::from_secs(3600));
        let r = Retry::of(&task_with(
            json!({"maxRetryCount": 2, "backoffFactor": 1.0e308}),
        ))
        .expect("policy");
        assert_eq!(r.wait(3), Duration::ZERO, "no back-off stays none");
        assert_eq!(
            Retry::of(&task_with(json!({"maxRetryCount": -5})))
                .expect("policy")
                .attempts,
            1
        );
        let err = Retry::of(&task_with(json!({"backoffDuration": "5m"}))).expect_err("bad");
        assert!(
            err.contains("retryPolicy.backoffDuration") && err.contains("5m"),
            "{err}"
        );
        let err = Retry::of(&task_with(json!({"backoffFactor": -1.0}))).expect_err("bad");
        assert!(err.contains("retryPolicy.backoffFactor is -1"), "{err}");
    }

    #[test]
    fn parallelism_limits_are_clamped() {
        for limit in [None, Some(0), Some(-3), Some(i64::MAX), Some(1 << 62)] {
            assert_eq!(parallelism(limit), MAX_PARALLELISM, "{limit:?}");
        }
        assert_eq!(parallelism(Some(3)), 3);
    }

    #[test]
    fn seconds_are_clamped_or_refused() {
        assert_eq!(seconds("x", 1e300), Ok(MAX_DURATION));
        assert_eq!(seconds("x", f64::INFINITY), Ok(MAX_DURATION));
        assert_eq!(seconds("x", 2.5), Ok(Duration::from_millis(2500)));
        assert!(seconds("x", -1.0)
            .expect_err("negative")
            .contains("x is -1"));
        assert!(seconds("x", f64::NAN).is_err());
    }
}
