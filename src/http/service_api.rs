//! Service tickets over the REST API, for the help desk's tools and the
//! PSA's webhooks: `POST /api/v1/service-tickets` opens one (its SLA clock
//! and escalation chains start), `POST /api/v1/service-tickets/S-n/events`
//! moves it (assign, acknowledge, wait_on_client, client_replied, escalate,
//! hold, release, resolve, close, reopen; on named requests approve, deny,
//! sanitized) and `GET …/S-n` shows it with its SLA state. A named request
//! (`001_*`) is opened with `"request": {"kind": …, "fields": {…}}` and an
//! `agency`; every missing or bad field is answered at once (422). Callers
//! need the `help_desk` or `dispatcher` role.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::api::Caller;
use super::error::HttpError;
use crate::domain::service::request::Verdict;
use crate::domain::service::{ServiceEvent, ServiceTicket, Sla};
use crate::domain::{Email, Role, ServiceTicketId, TicketRef};
use crate::store::StoreError;
use crate::workflow::{Requester, ServiceForm};

fn allowed(caller: &Caller) -> Result<(), HttpError> {
    if caller.roles.iter().any(|r| matches!(r, Role::HelpDesk | Role::Dispatcher)) {
        Ok(())
    } else {
        Err(HttpError::Forbidden)
    }
}

fn invalid(e: impl std::fmt::Display) -> HttpError {
    HttpError::Unprocessable(vec![e.to_string()])
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    allowed(&caller)?;
    let form: ServiceForm = serde_json::from_value(body).map_err(invalid)?;
    let created = state.workflow.open_service(&form, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &created).await?)))
}

/// The events a caller may send, as JSON: `{"event": "assign", "engineer": "ed@example.edu"}`.
#[derive(Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
enum EventBody {
    Assign {
        engineer: String,
    },
    Acknowledge {
        by: String,
    },
    WaitOnClient,
    ClientReplied,
    Escalate,
    Hold {
        reason: String,
    },
    Release,
    Resolve,
    /// Worked tickets record the transaction kind and the minutes spent
    /// (required for billable requests).
    Close {
        #[serde(default)]
        transaction: Option<String>,
        #[serde(default)]
        minutes: Option<u32>,
    },
    Reopen,
    /// An order's pending approval step, decided by one of its approvers.
    Approve {
        by: String,
    },
    /// The reason is told to the customer.
    Deny {
        by: String,
        reason: String,
    },
    /// A decommission's devices were sanitized, by this engineer.
    Sanitized {
        by: String,
    },
}

fn service_id(reference: &str) -> Result<ServiceTicketId, HttpError> {
    match TicketRef::parse(reference) {
        Ok(TicketRef::Service(id)) => Ok(id),
        _ => Err(HttpError::NotFound),
    }
}

pub async fn event(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, HttpError> {
    allowed(&caller)?;
    let id = service_id(&reference)?;
    let body: EventBody = serde_json::from_value(body).map_err(invalid)?;
    let event = match body {
        EventBody::Assign { engineer } => {
            ServiceEvent::Assign { engineer: staff(&state, "engineer", &engineer).await? }
        }
        EventBody::Acknowledge { by } => ServiceEvent::Acknowledge { by: staff(&state, "by", &by).await? },
        EventBody::WaitOnClient => ServiceEvent::WaitOnClient,
        EventBody::ClientReplied => ServiceEvent::ClientReplied,
        EventBody::Escalate => ServiceEvent::Escalate,
        EventBody::Hold { reason } => ServiceEvent::PutOnHold { reason },
        EventBody::Release => ServiceEvent::Released,
        EventBody::Resolve => ServiceEvent::Resolve,
        EventBody::Close { transaction, minutes } => {
            ServiceEvent::Close { work: state.workflow.work(transaction.as_deref(), minutes)? }
        }
        EventBody::Reopen => ServiceEvent::Reopen,
        EventBody::Approve { by } => return decide(&state, id, &by, Verdict::Approve).await,
        EventBody::Deny { by, reason } => return decide(&state, id, &by, Verdict::Deny { reason }).await,
        EventBody::Sanitized { by } => {
            let person = state.workflow.store.person(staff(&state, "by", &by).await?).await?;
            let t = state.workflow.sanitized(&person, id).await?;
            return Ok(Json(view(&state, &t).await?));
        }
    };
    let t = state.workflow.service(id, &caller.actor(), event).await.map_err(refused)?;
    Ok(Json(view(&state, &t).await?))
}

/// An approver (by email) decides an order's pending step.
async fn decide(state: &AppState, id: ServiceTicketId, by: &str, verdict: Verdict) -> Result<Json<Value>, HttpError> {
    let email = Email::parse(by).map_err(|e| invalid(format!("by: {e}")))?;
    let person =
        state.workflow.store.person_by_email(&email).await?.ok_or_else(|| invalid(format!("by: nobody is {email}")))?;
    let t = state.workflow.decide_request(&Requester::Person(&person), id, verdict).await?;
    Ok(Json(view(state, &t).await?))
}

/// The person in `field` who may work service tickets: staff with an
/// engineer's, dispatcher's or manager's role, never a customer.
async fn staff(state: &AppState, field: &str, email: &str) -> Result<crate::domain::PersonId, HttpError> {
    let email = Email::parse(email).map_err(|e| invalid(format!("{field}: {e}")))?;
    let person = state.workflow.store.person_by_email(&email).await?;
    let works_tickets =
        |r: &Role| matches!(r, Role::Engineer | Role::Dispatcher | Role::ServiceManager | Role::ServiceDirector);
    match person {
        Some(p) if p.roles.iter().any(works_tickets) => Ok(p.id),
        Some(_) => {
            Err(invalid(format!("{field}: {email} is not service desk staff (engineer, dispatcher or manager)")))
        }
        None => Err(invalid(format!("{field}: nobody is {email}"))),
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
) -> Result<Json<Value>, HttpError> {
    allowed(&caller)?;
    let t = state.workflow.store.load_service(service_id(&reference)?).await?.value;
    Ok(Json(view(&state, &t).await?))
}

/// Refusals of the domain (an illegal event, a conflict) are the caller's
/// to fix: 422 with the reason in the API's identifiers.
fn refused(e: StoreError) -> HttpError {
    match e {
        StoreError::Domain(d) => invalid(d),
        StoreError::Conflict { ticket } => invalid(format!("{ticket} changed meanwhile; retry")),
        StoreError::Invalid(why) => invalid(why),
        other => other.into(),
    }
}

async fn view(state: &AppState, t: &ServiceTicket) -> Result<Value, HttpError> {
    let assignee = match t.assignee {
        Some(p) => Some(state.workflow.store.person(p).await?.email.to_string()),
        None => None,
    };
    let (sla, due) = match t.sla(state.workflow.clock.now()) {
        None => ("none", None),
        Some(Sla::Due(at)) => ("due", Some(at)),
        Some(Sla::Met { on_time: true }) => ("met", t.response_due_at),
        Some(Sla::Met { on_time: false }) | Some(Sla::Breached) => ("breached", t.response_due_at),
        Some(Sla::Paused) => ("paused", t.response_due_at),
    };
    Ok(json!({
        "ticket": t.reference().to_string(),
        "kind": t.kind,
        "priority": t.priority,
        "effective_priority": t.effective_priority(),
        "vip": t.vip,
        "status": t.status,
        "tier": t.tier,
        "assignee": assignee,
        "summary": t.summary,
        "agency": t.agency,
        "request": t.request,
        "sla": {
            "state": sla,
            "client_response_due_at": due.map(|d| d.to_rfc3339()),
            "responded_at": t.responded_at.map(|d| d.to_rfc3339()),
        },
    }))
}
