//! Extractors whose rejections are `ApiError`s, so that every failure, even before a handler runs, is a JSON body.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::auth::AuthError;
use super::error::{ACCOUNT_NOT_SET_UP, ApiError};
use crate::domain::ReferenceData;
use crate::domain::reference::User;

/// The signed-in user, as the reference data knows them. Everything a handler does is scoped to `team_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// As written in the reference data (the token's claim may differ in case).
    pub email: String,
    pub team_id: String,
    pub super_admin: bool,
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer_token(parts)?;
        let identity = state.auth.verify_identity(token).await?;
        // A genuine token for someone this service does not know: signed in, but not allowed in.
        let user = known_user(&state.reference, &identity.email)
            .ok_or_else(|| ApiError::Forbidden(ACCOUNT_NOT_SET_UP.into()))?;
        if !subject_matches(&state, user, &identity).await.map_err(ApiError::from)? {
            return Err(ApiError::Forbidden(ACCOUNT_NOT_SET_UP.into()));
        }
        Ok(CurrentUser::from(user))
    }
}

/// Whether the provider's account (`subject`) is the one `user`'s address is bound to (the first seen); a token
/// without a subject is judged by its address alone. A mismatch is logged without the address.
pub async fn subject_matches(
    state: &AppState,
    user: &User,
    identity: &super::auth::Identity,
) -> Result<bool, crate::ports::StoreError> {
    let Some(subject) = identity.subject.as_deref() else { return Ok(true) };
    let store = state.records.as_ref();
    let matches = crate::store::identities::subject_matches(store, &identity.issuer, &user.email, subject).await?;
    if !matches {
        tracing::warn!(team_id = %user.team_id, "sign-in refused: another account at the identity provider for a user's address");
    }
    Ok(matches)
}

/// The user `email` names in the reference data, if their team exists: who a verified token or a session may be.
/// Read on every request, so that removing a user there takes effect at once.
pub fn known_user<'a>(reference: &'a ReferenceData, email: &str) -> Option<&'a User> {
    reference.user(email).filter(|user| reference.team(&user.team_id).is_some())
}

impl From<&User> for CurrentUser {
    fn from(user: &User) -> Self {
        CurrentUser { email: user.email.clone(), team_id: user.team_id.clone(), super_admin: user.super_admin }
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235).
fn bearer_token(parts: &Parts) -> Result<&str, AuthError> {
    let value = parts.headers.get(AUTHORIZATION).ok_or(AuthError::MissingToken)?;
    let value = value.to_str().map_err(|_| AuthError::InvalidToken("authorization header is not ASCII"))?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    match token.trim() {
        "" => Err(AuthError::MissingToken),
        token => Ok(token),
    }
}

/// `axum::Json` with JSON error bodies instead of axum's plain-text rejections. The body must be a JSON object:
/// serde would otherwise happily read a struct from an array (`["child-records"]`).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(object) = axum::Json::<serde_json::Map<String, serde_json::Value>>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        serde_json::from_value(serde_json::Value::Object(object))
            .map(ApiJson)
            .map_err(|e| ApiError::BadRequest(format!("The request body is not valid: {e}")))
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError::BadRequest(match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Send the request body as JSON, with the header Content-Type: application/json".to_string()
        }
        JsonRejection::JsonSyntaxError(_) => "The request body is not valid JSON".to_string(),
        // Only a body that is not an object gets here: fields are checked after.
        JsonRejection::JsonDataError(_) => "The request body must be a JSON object".to_string(),
        _ => "The request body could not be read".to_string(),
    })
}

/// `axum::extract::Query` with JSON error bodies.
pub struct ApiQuery<T>(pub T);

/// `?page=N` of a numbered list (pages.md §9); absent is the first page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub page: Option<usize>,
}

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::BadRequest(format!("The query string is not valid: {}", innermost(&e))))
            }
            Err(_) => Err(ApiError::BadRequest("The query string is not valid".into())),
        }
    }
}

fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use axum::http::Request as HttpRequest;

    use super::*;

    fn parts(authorization: Option<&str>) -> Parts {
        let mut builder = HttpRequest::builder().uri("/");
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        builder.body(()).expect("request").into_parts().0
    }

    #[test]
    fn bearer_token_should_accept_any_scheme_case() {
        assert_eq!(bearer_token(&parts(Some("Bearer abc"))).ok(), Some("abc"));
        assert_eq!(bearer_token(&parts(Some("bearer  abc "))).ok(), Some("abc"));
    }

    #[test]
    fn when_no_bearer_token_should_be_missing() {
        for header in [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer"), Some("Bearer   ")] {
            assert!(matches!(bearer_token(&parts(header)), Err(AuthError::MissingToken)), "{header:?}");
        }
    }
}
