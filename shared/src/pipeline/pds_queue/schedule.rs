//! The scheduled PDS refresh (mavis-import.md §11.4): at 00:00, 06:00, 12:00 and 18:00 every patient who has an NHS
//! number, is not deceased and was not refreshed from PDS in the last 12 hours is queued for a GET refresh, oldest
//! refresh first. The GETs run through the pds queue like the post-commit ones, so the shared pacer keeps every PDS
//! call of every invocation within the configured rate.

use chrono::{DateTime, Duration, Utc};

use super::refresh::send_refresh_pages;
use crate::pipeline::{Pipeline, PipelineError};
use crate::store::patients;

/// Patients refreshed more recently than this are left alone.
pub const REFRESHED_WITHIN: Duration = Duration::hours(12);

/// At most this many patients per run: at 50 requests/s, six hours (until the next run) hold about a million GETs; a
/// patient left over is the oldest in the next run.
pub const MAX_PER_RUN: usize = 500_000;

/// Queues the GET refresh of every patient due at `now`; returns how many were queued. Does nothing without a pds
/// queue and a PDS GET client.
pub async fn send_scheduled_refresh(pipeline: &Pipeline, now: DateTime<Utc>) -> Result<usize, PipelineError> {
    let Some(pds) = &pipeline.settings.pds else { return Ok(0) };
    let (Some(queue), Some(_)) = (&pds.queue, &pds.fetcher) else { return Ok(0) };
    let due = patients::due_pds_refresh(pipeline.records.as_ref(), now - REFRESHED_WITHIN, MAX_PER_RUN).await?;
    send_refresh_pages(queue.as_ref(), &due).await?;
    tracing::info!(patients = due.len(), "scheduled PDS GET refresh queued");
    Ok(due.len())
}

/// The local runner's timer (EventBridge's rule on AWS): the scheduled refresh at every slot, for ever.
pub async fn run_on_schedule(pipeline: Pipeline) {
    loop {
        let now = pipeline.now();
        let next = next_run(now + Duration::seconds(1));
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        if let Err(e) = send_scheduled_refresh(&pipeline, pipeline.now()).await {
            tracing::error!(error = %e, "scheduled PDS refresh failed; the next slot catches up");
        }
    }
}

/// The next run at or after `now`: 00:00, 06:00, 12:00 or 18:00 UTC (the local runner's timer).
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, Timelike};
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let on_the_hour = hour == now;
    let mut next = hour;
    if !(on_the_hour && now.hour() % 6 == 0) {
        next = hour + Duration::hours(i64::from(6 - hour.hour() % 6));
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    #[test]
    fn when_asked_for_the_next_run_should_give_the_next_six_hourly_slot() {
        assert_eq!(next_run(at("2026-11-21T15:41:20Z")), at("2026-11-21T18:00:00Z"));
        assert_eq!(next_run(at("2026-11-21T18:00:00Z")), at("2026-11-21T18:00:00Z"));
        assert_eq!(next_run(at("2026-11-21T18:00:01Z")), at("2026-11-22T00:00:00Z"));
        assert_eq!(next_run(at("2026-11-21T00:30:00Z")), at("2026-11-21T06:00:00Z"));
    }
}
