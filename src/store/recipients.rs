//! Who a notification reaches: a recipient becomes one outbox target per
//! person, channel or Slack message, inside the transition's transaction.

use sqlx::{AnyConnection, Row};

use super::commit::Routing;
use super::directory::{people_holding, person_from_row};
use super::{Result, StoreError};
use crate::domain::{
    Address, Channel, Notification, PersonId, Recipient, Role, SlackChannelId, TeamId, Template, TicketRef,
};

/// One message of a notification: its dedupe key, its channel and
/// address, the name the template greets and the person it is for, if
/// one (an approval request reads differently to each of its readers).
pub(super) struct Target {
    pub key: String,
    pub channel: Channel,
    pub to: String,
    pub name: String,
    pub person: Option<PersonId>,
    /// A decision about an approval request that is being posted right now
    /// (no address to edit yet): kept as a record, never sent; the
    /// dispatcher edits the request from it once the post is recorded.
    pub parked: bool,
}

fn target(key: String, address: Address, name: String) -> Target {
    let (channel, to) = address.route();
    Target { key, channel, to, name, person: None, parked: false }
}

fn to_person(key: String, p: crate::domain::Person, as_customer: bool) -> Target {
    Target { person: Some(p.id), ..target(key, p.address(as_customer), p.name) }
}

/// Groups fan out with the person id in the key, so each member gets
/// exactly one message. A group with nobody in it is an error: a message
/// nobody receives is a silent miss.
pub(super) async fn resolve(
    conn: &mut AnyConnection,
    ticket: TicketRef,
    n: &Notification,
    routing: &Routing,
) -> Result<Vec<Target>> {
    let single = |address, name: String| Ok(vec![target(n.dedupe_key.clone(), address, name)]);
    match &n.to {
        Recipient::Customer(id) | Recipient::Staff(id) | Recipient::Approver(id) => {
            let row = sqlx::query("SELECT p.id, p.name, p.email, p.slack_user, p.roles FROM people p WHERE p.id = $1")
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?;
            let person = person_from_row(&row.ok_or_else(|| StoreError::NotFound(format!("person {id}")))?)?;
            let as_customer = matches!(n.to, Recipient::Customer(_)) && !n.template.reaches_customers_in_slack();
            Ok(vec![to_person(n.dedupe_key.clone(), person, as_customer)])
        }
        Recipient::Role(role) => {
            let people = people_holding(conn, *role).await?;
            if people.is_empty() {
                let why = format!("no person has the role {role}: nobody to send {} to", n.template);
                return Err(StoreError::Invalid(why));
            }
            Ok(people.into_iter().map(|p| to_person(format!("{}/{}", n.dedupe_key, p.id), p, false)).collect())
        }
        Recipient::TeamChannel(team) => Ok(vec![resolve_team(conn, n, *team).await?]),
        Recipient::MacEngineering => match &routing.mac_engineering {
            Some(email) => single(Address::Email(email.clone()), "Mac engineering".into()),
            None => Err(StoreError::Invalid("[refresh] mac_engineering_email is not configured".into())),
        },
        Recipient::AssetTeam => match &routing.asset_channel {
            Some(channel) => single(Address::SlackChannel(channel.clone()), "asset team".into()),
            None => Ok(Vec::new()),
        },
        Recipient::ApprovalMessages => approval_messages(conn, ticket, n).await,
        Recipient::Escalation { roles, assignee, team } => escalation(conn, n, roles, *assignee, *team).await,
    }
}

/// The assignee, then everyone holding one of the roles, each once (so an
/// engineer who is also a dispatcher gets one ping), then the team channel.
async fn escalation(
    conn: &mut AnyConnection,
    n: &Notification,
    roles: &[Role],
    assignee: Option<PersonId>,
    team: Option<TeamId>,
) -> Result<Vec<Target>> {
    let rows = sqlx::query(
        "SELECT p.id, p.name, p.email, p.slack_user, p.roles FROM people p WHERE p.deactivated_at IS NULL ORDER BY p.id",
    )
        .fetch_all(&mut *conn)
        .await?;
    let mut people = Vec::new();
    for r in &rows {
        let p = person_from_row(r)?;
        if Some(p.id) == assignee || p.roles.iter().any(|r| roles.contains(r)) {
            people.push(p);
        }
    }
    let mut targets: Vec<Target> =
        people.into_iter().map(|p| to_person(format!("{}/{}", n.dedupe_key, p.id), p, false)).collect();
    if let Some(team) = team {
        let mut channel = resolve_team(conn, n, team).await?;
        channel.key = format!("{}/team", n.dedupe_key);
        targets.push(channel);
    }
    if targets.is_empty() {
        return Err(StoreError::Invalid(format!("nobody holds {roles:?} to send {} to", n.template)));
    }
    Ok(targets)
}

async fn resolve_team(conn: &mut AnyConnection, n: &Notification, team: TeamId) -> Result<Target> {
    let row = sqlx::query("SELECT name, slack_channel FROM teams WHERE id = $1")
        .bind(team.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("team {team}")))?;
    let channel: String = row.try_get("slack_channel")?;
    let channel = SlackChannelId::parse(&channel).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(target(n.dedupe_key.clone(), Address::SlackChannel(channel), row.try_get("name")?))
}

/// Approval requests already in Slack are edited in place (`channel:ts`
/// is their external id), each for the person it was posted to. Once
/// decided, those still waiting are withdrawn, so nobody is asked to
/// decide what was decided.
async fn approval_messages(conn: &mut AnyConnection, ticket: TicketRef, n: &Notification) -> Result<Vec<Target>> {
    // A refresh's approval requests, or an order's.
    let request: &str = match ticket {
        TicketRef::Refresh(_) => Template::ApprovalRequest,
        TicketRef::Service(_) => Template::RequestApproval,
    }
    .into();
    if n.template == Template::ApprovalDecided {
        sqlx::query(
            "UPDATE outbox SET status = 'withdrawn' WHERE ticket = $1 AND template = $2 AND status = 'pending'",
        )
        .bind(ticket.to_string())
        .bind(request)
        .execute(&mut *conn)
        .await?;
    }
    let rows = sqlx::query(
        "SELECT o.id, o.external_id, o.status, p.id AS person_id, p.name FROM outbox o
         LEFT JOIN people p ON p.slack_user = o.recipient
         WHERE o.ticket = $1 AND o.template = $2 AND o.channel = $3
            AND ((o.status = 'sent' AND o.external_id IS NOT NULL) OR (o.status = 'sending' AND $4))
         ORDER BY o.id",
    )
    .bind(ticket.to_string())
    .bind(request)
    .bind(<&str>::from(Channel::Slack))
    .bind(n.template == Template::ApprovalDecided)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let parked = r.try_get::<String, _>("status")? == "sending";
            Ok(Target {
                key: format!("{}/{}", n.dedupe_key, r.try_get::<i64, _>("id")?),
                channel: Channel::SlackUpdate,
                to: r.try_get::<Option<String>, _>("external_id")?.unwrap_or_default(),
                name: r.try_get::<Option<String>, _>("name")?.unwrap_or_else(|| "approvers".into()),
                person: r.try_get::<Option<i64>, _>("person_id")?.map(PersonId),
                parked,
            })
        })
        .collect()
}
