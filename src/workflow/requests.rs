//! Service tickets opened from a form (the API's body, Slack's `/request`
//! modal) with every problem told at once, and named requests (`001_*`)
//! among them checked against the desk's policy and directory, approved
//! and worked through the same transitions as any service ticket.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Error, Requester, Workflow};
use crate::domain::access::Action;
use crate::domain::service::request::{ApprovalStep, NewRequest, RequestAction, Verdict, Work};
use crate::domain::service::{NewServiceTicket, Priority, ServiceEvent, ServiceKind, ServiceTicket};
use crate::domain::{Actor, DomainError, Email, Person, Role, ServiceTicketId, TicketRef};
use crate::store::StoreError;

/// A service ticket as a person filled it in: the API's body as it is
/// written, or Slack's `/request` modal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceForm {
    pub kind: ServiceKind,
    pub priority: Priority,
    #[serde(default)]
    pub vip: bool,
    /// How the desk files it; for a named request left empty, "Service
    /// request" and its kind's label.
    pub issue_type: String,
    pub subtype: String,
    pub summary: String,
    pub contact_name: String,
    pub contact_email: String,
    pub team: String,
    /// The client agency billed; required with a named request.
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub request: Option<RequestForm>,
}

/// A named request: its kind and the fields as given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestForm {
    pub kind: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl Workflow {
    /// The request checked against the policy (its kind's fields), the
    /// device records (the serials it names) and, for an order, the
    /// directory (who approves for the agency and the desk); each problem
    /// is added to `errors`.
    async fn check_request(
        &self,
        form: &RequestForm,
        agency: Option<&str>,
        errors: &mut Vec<String>,
    ) -> Result<Option<NewRequest>, Error> {
        let kind = match self.requests.kind(&form.kind) {
            Ok(kind) => kind,
            Err(e) => {
                errors.push(format!("kind: {e}"));
                return Ok(None);
            }
        };
        let fields = kind.check(&form.fields).unwrap_or_else(|problems| {
            errors.extend(problems);
            BTreeMap::new()
        });
        if agency.is_none() {
            errors.push("agency: the client agency billed is required".into());
        }
        // The serials as given, checked even when another field is wrong.
        for (name, serial) in kind.action.serials(&form.fields) {
            if self.store.device(&serial).await.map_err(Error::Internal)?.is_none() {
                errors.push(format!("{name}: no managed device has the serial {serial}"));
            }
        }
        let mut approvers = Vec::new();
        if kind.action == RequestAction::Order {
            let named = &self.requests.approvers;
            let agency_group = agency.and_then(|a| {
                let group = named.agencies.get(a).cloned();
                if group.is_none() {
                    errors.push(format!("agency: no approvers are named for agency '{a}' (service_requests.toml)"));
                }
                group
            });
            for (step, group) in [(ApprovalStep::Agency, agency_group), (ApprovalStep::Desk, Some(named.desk.clone()))]
            {
                let Some(group) = group else { continue };
                let members = self.store.group_members(&group).await.map_err(Error::Internal)?;
                if members.is_empty() {
                    errors.push(format!("{step}: the approver group '{group}' has nobody in it (directory)"));
                }
                approvers.push((step, members));
            }
        }
        Ok(Some(NewRequest { kind: kind.clone(), fields, approvers }))
    }

    /// Opens a service ticket, its SLA clock and escalation chains
    /// started; a named request is checked against the policy and the
    /// directory too. Every problem with the form is told at once, each
    /// naming its field, and nothing is opened.
    pub async fn open_service(&self, form: &ServiceForm, actor: &Actor) -> Result<ServiceTicket, Error> {
        let mut errors = Vec::new();
        for (field, value) in [("contact_name", &form.contact_name), ("summary", &form.summary)] {
            if value.trim().is_empty() {
                errors.push(format!("{field} is empty"));
            }
        }
        let email =
            Email::parse(form.contact_email.trim()).map_err(|e| errors.push(format!("contact_email: {e}"))).ok();
        let team = self.store.team_by_name(form.team.trim()).await.map_err(Error::Internal)?;
        if team.is_none() {
            errors.push(format!("team: no team is called '{}'", form.team.trim()));
        }
        let agency = form.agency.as_deref().map(str::trim).filter(|a| !a.is_empty());
        let request = match &form.request {
            None => None,
            Some(r) => {
                if (form.kind, form.priority) != (ServiceKind::Request, Priority::P5) {
                    errors.push("a named request is a P5 request (kind \"request\", priority \"P5\")".into());
                }
                self.check_request(r, agency, &mut errors).await?
            }
        };
        let (Some(email), Some(team), true) = (email, team, errors.is_empty()) else {
            return Err(Error::Invalid(errors));
        };
        let contact = self.store.ensure_person(form.contact_name.trim(), &email, Role::Customer).await;
        let label = request.as_ref().map(|r| r.kind.label.as_str()).unwrap_or_default();
        let or = |given: &str, default: &str| {
            if given.trim().is_empty() { default.to_owned() } else { given.trim().to_owned() }
        };
        let new = NewServiceTicket {
            kind: form.kind,
            priority: form.priority,
            vip: form.vip,
            issue_type: or(&form.issue_type, if request.is_some() { "Service request" } else { "" }),
            subtype: or(&form.subtype, label),
            summary: form.summary.trim().to_owned(),
            contact: contact.map_err(Error::Internal)?,
            team: team.id,
            agency: agency.map(str::to_owned),
            request,
        };
        self.create_service(new, actor).await.map_err(|e| match e {
            StoreError::Domain(d) => Error::Told(d.to_string()),
            StoreError::Invalid(why) => Error::Told(why),
            other => Error::Internal(other),
        })
    }

    /// An approver's decision on the pending step of an order. Two
    /// decisions at once: the second is applied to the ticket as the first
    /// left it, and told what happened if it no longer can be.
    pub async fn decide_request(
        &self,
        who: &Requester<'_>,
        id: ServiceTicketId,
        verdict: Verdict,
    ) -> Result<ServiceTicket, Error> {
        const RETRIES: u32 = 3;
        let (by, actor) = match who {
            Requester::Person(p) => (Some(p.id), Actor::Person(p.id)),
            Requester::System => (None, Actor::System),
            Requester::Link(_) => return Err(Error::Told("Orders are approved in Slack or by the desk.".into())),
        };
        let t = TicketRef::from(id);
        let mut retries = 0;
        loop {
            match self.service(id, &actor, ServiceEvent::Decide { by, verdict: verdict.clone() }).await {
                Err(StoreError::Conflict { .. }) if retries < RETRIES => retries += 1,
                Err(StoreError::Domain(DomainError::IllegalTransition { state, .. })) => {
                    return Err(Error::Told(format!("{t} is not awaiting approval (it is {state}).")));
                }
                done => return done.map_err(|e| Error::about(t, e)),
            }
        }
    }

    /// `who` (an engineer or dispatcher) records that the devices of a
    /// decommission were sanitized; a refusal is audited.
    pub async fn sanitized(&self, who: &Person, id: ServiceTicketId) -> Result<ServiceTicket, Error> {
        let (t, actor) = (TicketRef::from(id), Actor::Person(who.id));
        let about = |e| Error::about(t, e);
        if let Err(no) = who.may_service(Action::RecordSanitization) {
            let (action, now) = (Action::RecordSanitization.into(), self.clock.now());
            self.store.record_refusal(t, &actor, action, &no.0, now).await.map_err(about)?;
            return Err(Error::Told(no.0));
        }
        self.service(id, &actor, ServiceEvent::Sanitized { by: who.id }).await.map_err(about)
    }

    /// The work a close records, as given: a transaction kind of the
    /// policy and the minutes spent, both or neither.
    pub fn work(&self, kind: Option<&str>, minutes: Option<u32>) -> Result<Option<Work>, Error> {
        match (kind, minutes) {
            (None, None) => Ok(None),
            (Some(kind), Some(minutes)) => {
                let kind =
                    self.requests.transaction(kind).map_err(|e| Error::Invalid(vec![format!("transaction: {e}")]))?;
                Ok(Some(Work { kind, minutes }))
            }
            _ => Err(Error::Invalid(vec!["a close records both the transaction kind and the minutes spent".into()])),
        }
    }
}
