//! The REST API for other systems: bearer tokens from `[api] tokens`, each
//! acting with its roles. `POST /api/v1/refresh/replacements` assigns
//! replacement systems in bulk, as the CLI import does; `POST
//! /api/v1/directory` applies a directory document, as `directory sync` does.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::{Value, json};

use super::AppState;
use super::error::HttpError;
use crate::domain::{Actor, Role};
use crate::import::{self, ImportError, Replacement};
use crate::signing::same;

/// The API client a request's bearer token names.
pub struct Caller {
    pub name: String,
    pub roles: Vec<Role>,
}

impl Caller {
    fn require(&self, role: Role) -> Result<(), HttpError> {
        if self.roles.contains(&role) { Ok(()) } else { Err(HttpError::Forbidden) }
    }

    pub fn actor(&self) -> Actor {
        Actor::External(format!("api:{}", self.name))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(HttpError::Unauthorized)?;
        state
            .api_tokens
            .iter()
            .find(|t| same(secrecy::ExposeSecret::expose_secret(&t.token), presented))
            .map(|t| Caller { name: t.name.clone(), roles: t.roles.clone() })
            .ok_or(HttpError::Unauthorized)
    }
}

pub async fn replacements(
    State(state): State<AppState>,
    caller: Caller,
    Json(items): Json<Vec<Value>>,
) -> Result<Json<Value>, HttpError> {
    caller.require(Role::RefreshAdmin)?;
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("item {i}"), serde_json::from_value::<Replacement>(v).map_err(|e| e.to_string())))
        .collect();
    match import::assign_replacements(&state.workflow, items, &caller.actor()).await {
        Ok(done) => {
            let tickets: Vec<Value> =
                done.iter().map(|t| json!({ "ticket": t.reference().to_string(), "status": t.status })).collect();
            Ok(Json(json!({ "tickets": tickets })))
        }
        Err(ImportError::Rows(errors)) => Err(HttpError::Unprocessable(errors)),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct SyncQuery {
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/directory[?dry_run=true]` (role `app_admin`): the directory
/// document as JSON, from an identity-system sync, applied like `deskbell
/// directory sync`. A bad document or a refused change is 422 with every
/// reason, and nothing changes.
pub async fn directory(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<SyncQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    caller.require(Role::AppAdmin)?;
    let directory =
        crate::directory::from_json(&body, &state.workflow.calendars.names()).map_err(HttpError::Unprocessable)?;
    let report = match state.workflow.store.sync_directory(&directory, state.workflow.clock.now(), q.dry_run).await {
        Ok(report) => report,
        Err(crate::store::StoreError::Invalid(why)) => return Err(HttpError::Unprocessable(vec![why])),
        Err(e) => return Err(e.into()),
    };
    if !q.dry_run {
        state.workflow.reroute_approvals().await?;
    }
    Ok(Json(json!({
        "dry_run": q.dry_run,
        "added": report.added,
        "changed": report.changed,
        "deactivated": report.deactivated,
    })))
}

/// A delegation as the API sets it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationBody {
    delegate: crate::domain::Email,
    #[serde(default)]
    from: Option<chrono::NaiveDate>,
    until: chrono::NaiveDate,
}

/// The person an email in a path or body names, or 422 saying so.
async fn known(state: &AppState, email: &str) -> Result<crate::domain::Person, HttpError> {
    let unknown = || HttpError::Unprocessable(vec![format!("deskbell does not know {email}")]);
    let email = crate::domain::Email::parse(email).map_err(|_| unknown())?;
    state.workflow.store.person_by_email(&email).await?.ok_or_else(unknown)
}

/// `PUT /api/v1/delegations/{approver email}` (role `refresh_admin`): who
/// decides the approver's requests from `from` (today) to `until`, as
/// `/delegate` sets it. Refusals (to oneself, a non-staff person, a past
/// day) are 422 with the reason.
pub async fn set_delegation(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(approver): axum::extract::Path<String>,
    Json(body): Json<DelegationBody>,
) -> Result<Json<Value>, HttpError> {
    caller.require(Role::RefreshAdmin)?;
    let approver = known(&state, &approver).await?;
    let delegate = known(&state, body.delegate.as_str()).await?;
    let said = state.workflow.delegate(&approver, &delegate, body.from, body.until, &caller.actor()).await?;
    Ok(Json(json!({ "delegation": said })))
}

/// `DELETE /api/v1/delegations/{approver email}`: ends the delegation.
pub async fn end_delegation(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(approver): axum::extract::Path<String>,
) -> Result<Json<Value>, HttpError> {
    caller.require(Role::RefreshAdmin)?;
    let approver = known(&state, &approver).await?;
    Ok(Json(json!({ "delegation": state.workflow.end_delegation(&approver).await? })))
}
