//! Reference data that follows the store (hardening): a user taken out of the stored reference data loses access to
//! the API and the pages within the time to live of a warm container's copy, and a school added to it becomes known
//! to the pipeline, without a restart.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
use shared::domain::School;
use shared::reference::live::LiveReference;
use shared::web::{AppState, LocalIssuer, WebSettings, app};
use tower::ServiceExt;

use crate::harness::Harness;
use crate::scenarios::clock_2023;

const NURSE: &str = "nurse@example.com";
const TTL_MINUTES: i64 = 5;

pub async fn all<F, Fut>(make: F)
where
    F: Fn(NaiveDate) -> Fut,
    Fut: Future<Output = Harness>,
{
    a_removed_user_loses_access_within_the_ttl(make(clock_2023()).await).await;
    a_new_school_reaches_the_pipeline_within_the_ttl(make(clock_2023()).await).await;
}

fn live_reference(h: &Harness) -> Arc<LiveReference> {
    let records = h.pipeline.records.clone();
    let reference = (*h.pipeline.reference).clone();
    Arc::new(LiveReference::reloading(records, reference, h.now(), chrono::Duration::minutes(TTL_MINUTES)))
}

async fn a_removed_user_loses_access_within_the_ttl(h: Harness) {
    let keys = tempfile::tempdir().expect("temp dir");
    let issuer = LocalIssuer::load_or_create(keys.path()).expect("issuer");
    let settings = WebSettings { clock: h.pipeline.settings.clock.clone(), ..WebSettings::default() };
    let live = live_reference(&h);
    let state = AppState::new(
        h.pipeline.records.clone(),
        h.pipeline.objects.clone(),
        live.current(),
        issuer.authenticator(),
        settings,
    )
    .with_live_reference(live);
    let router = app(state);
    let get_imports = || async {
        let token = issuer.issue(NURSE, Duration::from_secs(300));
        let request = Request::get("/api/imports").header(header::AUTHORIZATION, format!("Bearer {token}"));
        let response = router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("response");
        response.status()
    };
    assert_eq!(get_imports().await, StatusCode::OK, "the nurse is in the reference data");

    let mut reference = (*h.pipeline.reference).clone();
    reference.users.retain(|u| u.email != NURSE);
    shared::store::reference::save(h.records(), &reference).await.expect("save the reference data");
    assert!(shared::store::reference::load(h.records()).await.expect("load").user(NURSE).is_none(), "removed");

    h.wait(chrono::Duration::minutes(TTL_MINUTES - 1));
    assert_eq!(get_imports().await, StatusCode::OK, "the warm copy is used until it is older than its TTL");
    h.wait(chrono::Duration::minutes(1));
    assert_eq!(get_imports().await, StatusCode::FORBIDDEN, "the removed user is refused once the copy is re-read");
}

async fn a_new_school_reaches_the_pipeline_within_the_ttl(h: Harness) {
    let live = live_reference(&h);
    let mut reference = (*h.pipeline.reference).clone();
    let mut school: School = reference.schools.iter().find(|s| s.urn == "141001").expect("Waterloo Road").clone();
    school.urn = "149999".into();
    school.name = "New Road".into();
    reference.schools.push(school);
    shared::store::reference::save(h.records(), &reference).await.expect("save the reference data");

    let invocation = h.pipeline.with_current_reference(&live).await;
    assert!(invocation.reference.school("149999").is_none(), "not yet: the copy is younger than its TTL");
    h.wait(chrono::Duration::minutes(TTL_MINUTES));
    let invocation = h.pipeline.with_current_reference(&live).await;
    assert_eq!(invocation.reference.school("149999").map(|s| s.name.as_str()), Some("New Road"));
}
