//! The customer's refresh page (`/refresh/R-n?token=…`, the signed link of
//! the invite and its reminders): location or shipping address, device,
//! peripherals and software, then a review, then one submit. Plain HTML
//! forms from `templates/web/refresh.html`, no JavaScript. Every answer is
//! checked by the domain ([`WizardForm::answers`]), which also decides
//! whether an approver must agree; the change goes through the workflow
//! like every other.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::HttpError;
use crate::domain::access::Action;
use crate::domain::refresh::{
    DeviceChoice, FieldErrors, RefreshEvent, RefreshStatus, RefreshTicket, Style, WizardAnswers, WizardForm,
};
use crate::domain::{RefreshConfig, RefreshTicketId};
use crate::workflow::{Error, Request, Requester};

#[derive(Deserialize)]
pub struct Token {
    #[serde(default)]
    token: String,
}

/// Which button sent the form.
#[derive(Deserialize, Default, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// Check the answers and show them for review.
    #[default]
    Review,
    /// Back from the review to change them.
    Change,
    /// Submit the reviewed answers.
    Submit,
}

/// The button, read apart from the answers (repeated fields such as
/// `peripherals` do not survive serde's `flatten`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Pressed {
    step: Step,
}

pub async fn page(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    Query(q): Query<Token>,
) -> Result<Response, HttpError> {
    let Some(id) = authorized(&state, &ticket, &q.token) else { return invalid(&state) };
    let mut ticket = state.workflow.store.load_refresh(id).await?.value;
    if ticket.no_customer {
        // Nobody is asked anything about a loaner or shared system.
        return invalid(&state);
    }
    if let (Some(itsm), Style::OnPrem, None, RefreshStatus::PendingWizard) =
        (&state.itsm, ticket.style, &ticket.location, ticket.status)
    {
        // The batch did not say where the system is: TDX may know (and
        // another tab may have asked it first).
        itsm.report_location(id, &ticket.existing.serial).await;
        ticket = state.workflow.store.load_refresh(id).await?.value;
    }
    let config = state.workflow.store.config(ticket.config).await?;
    let form = match &ticket.answers {
        Some(a) => a.form(),
        None => WizardForm {
            location: ticket.location.clone().unwrap_or_default(),
            peripherals: config.peripheral_bundle.clone(),
            ..WizardForm::default()
        },
    };
    render(&state, &ticket, &config, Stage::Form { form: &form, errors: &FieldErrors::new() }).await
}

pub async fn post(
    State(state): State<AppState>,
    Path(ticket): Path<String>,
    Query(q): Query<Token>,
    body: axum::body::Bytes,
) -> Result<Response, HttpError> {
    let Some(id) = authorized(&state, &ticket, &q.token) else { return invalid(&state) };
    let ticket = state.workflow.store.load_refresh(id).await?.value;
    let config = state.workflow.store.config(ticket.config).await?;
    // A form that does not even parse (a tampered request) is shown empty again.
    let form: WizardForm = serde_html_form::from_bytes(&body).unwrap_or_default();
    let step = serde_html_form::from_bytes::<Pressed>(&body).unwrap_or_default().step;
    let answers = match form.answers(&ticket, &config) {
        Err(errors) => {
            return render(&state, &ticket, &config, Stage::Form { form: &form, errors: &errors }).await;
        }
        Ok(a) if step == Step::Change => {
            return render(&state, &ticket, &config, Stage::Form { form: &a.form(), errors: &FieldErrors::new() })
                .await;
        }
        Ok(a) => a,
    };
    if step == Step::Review {
        return render(&state, &ticket, &config, Stage::Review(&answers)).await;
    }
    let needs_approval = answers.needs_approval(&config);
    let event = RefreshEvent::WizardCompleted {
        needs_approval,
        // Unit-specified refreshes happen where the team hands systems over.
        location: match ticket.style {
            Style::UnitSpecifiedLocation => state.workflow.store.team(ticket.team).await?.location,
            _ => answers.location.clone(),
        },
        shipping_address: answers.shipping_address.as_ref().map(ToString::to_string),
        answers: Some(Box::new(answers)),
    };
    let link = Requester::Link(id.into());
    match state.workflow.act(&link, Action::WalkWizard, id, Request::Event(event)).await {
        // A second submit, another tab, a ticket that moved on: the page as it now is.
        Ok(_) | Err(Error::Told(_)) => {
            let now = state.workflow.store.load_refresh(id).await?.value;
            render(&state, &now, &config, Stage::Form { form: &form, errors: &FieldErrors::new() }).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The ticket whose signed link this is, if it is.
fn authorized(state: &AppState, ticket: &str, token: &str) -> Option<RefreshTicketId> {
    super::pick::authorize(state, ticket, token).ok()
}

fn invalid(state: &AppState) -> Result<Response, HttpError> {
    let html = state.templates.page("refresh", &json!({ "stage": "invalid" }))?;
    Ok((StatusCode::FORBIDDEN, Html(html)).into_response())
}

enum Stage<'a> {
    Form { form: &'a WizardForm, errors: &'a FieldErrors },
    Review(&'a WizardAnswers),
}

async fn render(
    state: &AppState,
    ticket: &RefreshTicket,
    config: &RefreshConfig,
    stage: Stage<'_>,
) -> Result<Response, HttpError> {
    let team = state.workflow.store.team(ticket.team).await?;
    let open = matches!(ticket.status, RefreshStatus::PendingWizard | RefreshStatus::PendingLocationInformation)
        && !ticket.no_customer;
    let mut ctx = json!({
        "ticket": ticket.reference().to_string(),
        "style": ticket.style,
        "status": ticket.status.to_string().replace('_', " "),
        "unit_location": team.location,
        "proposed": config.proposed_model(ticket),
        "models": config.model_choices(ticket).iter().filter(|m| Some(**m) != config.proposed_model(ticket)).collect::<Vec<_>>(),
        "options": config.options,
        "bundle": config.peripheral_bundle,
        "peripheral_catalogue": config.peripheral_bundle.iter().chain(&config.peripherals).collect::<Vec<_>>(),
        "software_catalogue": config.software,
    });
    ctx["stage"] = match (open, &stage) {
        (false, _) => {
            ctx["answers"] = ticket.answers.as_ref().map(|a| shown(a, config)).unwrap_or(Value::Null);
            ctx["next"] = next(ticket).into();
            "done".into()
        }
        (true, Stage::Form { form, errors }) => {
            ctx["form"] = json!(form);
            ctx["errors"] = json!(errors);
            "form".into()
        }
        (true, Stage::Review(answers)) => {
            ctx["form"] = json!(answers.form());
            ctx["answers"] = shown(answers, config);
            "review".into()
        }
    };
    Ok(Html(state.templates.page("refresh", &ctx)?).into_response())
}

/// The answers as the customer reads them back.
fn shown(a: &WizardAnswers, config: &RefreshConfig) -> Value {
    let (device, reason) = match &a.device {
        DeviceChoice::Proposed => ("The proposed model".to_owned(), None),
        DeviceChoice::Model { model, .. } => (model.clone(), None),
        DeviceChoice::NoneAdequate { reason } => ("None of the approved models".to_owned(), Some(reason)),
        DeviceChoice::ProposedNotAdequate { reason } => ("A different device".to_owned(), Some(reason)),
    };
    json!({
        "location": a.location,
        "address": a.shipping_address.as_ref().map(ToString::to_string),
        "device": device,
        "reason": reason,
        "peripherals": a.peripherals,
        "software": a.software,
        "needs_approval": a.needs_approval(config),
    })
}

/// What happens next, in the customer's words.
fn next(t: &RefreshTicket) -> &'static str {
    match t.status {
        RefreshStatus::RequiresApproval => {
            "Your unit's approvers have been asked about your request; we will email you."
        }
        RefreshStatus::PendingOrdering | RefreshStatus::PendingItsmExistence => {
            "Your new computer is being ordered. We will email you when it is ready."
        }
        RefreshStatus::Cancelled => "This refresh has been cancelled. Questions? Reply to any of our emails.",
        RefreshStatus::OnHold => "This refresh is on hold for now. We will email you when it continues.",
        RefreshStatus::Complete => "This refresh is complete.",
        _ => "Your refresh is under way. We will email you about each next step.",
    }
}
