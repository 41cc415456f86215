//! `/slots [team] [YYYY-MM-DD]`: a team's free slots from a day on;
//! `/slots R-12`: the ticket's team's, each with a Pick button for it.

use axum::Json;
use chrono::{Duration, NaiveDate, NaiveTime};
use serde_json::{Value, json};

use super::commands::ephemeral;
use crate::calendar::staff_time as local;
use crate::domain::{SlackAction, SupportTeam, TicketRef};
use crate::http::{AppState, HttpError};
use crate::workflow::SLOT_HORIZON_DAYS;

/// A message has at most 50 blocks; a list longer than this is not read.
const SHOWN: usize = 20;

/// The team named by `text` (any case) and the date after it, if any.
fn parse<'a>(text: &str, teams: &'a [SupportTeam]) -> Result<(&'a SupportTeam, Option<NaiveDate>), String> {
    let (name, date) = match text.rsplit_once(char::is_whitespace).map(|(n, d)| (n, d.parse::<NaiveDate>())) {
        Some((name, Ok(date))) => (name.trim(), Some(date)),
        _ => match text.parse::<NaiveDate>() {
            Ok(date) => ("", Some(date)),
            Err(_) => (text, None),
        },
    };
    let team = match (name, teams) {
        ("", [only]) => Some(only),
        ("", _) => None,
        (name, _) => teams.iter().find(|t| t.name.eq_ignore_ascii_case(name)),
    };
    let names: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
    team.map(|t| (t, date)).ok_or_else(|| format!("Name a team: {}. Or give a ticket: /slots R-12", names.join(", ")))
}

pub async fn list(state: &AppState, text: &str) -> Result<Json<Value>, HttpError> {
    let teams = state.workflow.store.teams().await?;
    let (team, ticket, date) = match TicketRef::parse(text) {
        Ok(TicketRef::Refresh(id)) => {
            let t = state.workflow.store.load_refresh(id).await?.value;
            (state.workflow.store.team(t.team).await?, Some(TicketRef::from(id)), None)
        }
        _ => match parse(text, &teams) {
            Ok((team, date)) => (team.clone(), None, date),
            Err(usage) => return Ok(ephemeral(usage, vec![])),
        },
    };
    let tz = state.workflow.calendar(team.id).await?;
    let now = state.workflow.clock.now();
    let from = date.map(|d| tz.at_local(d, NaiveTime::MIN)).filter(|at| *at > now).unwrap_or(now);
    let slots = state.workflow.store.slots(team.id, from, from + Duration::days(SLOT_HORIZON_DAYS as i64)).await?;
    let free: Vec<_> = slots.into_iter().filter(|s| s.is_free()).take(SHOWN).collect();
    if free.is_empty() {
        return Ok(ephemeral(format!("{} has no free slot from {}.", team.name, local(from, tz.tz)), vec![]));
    }
    let header = match ticket {
        Some(t) => format!("Free slots of {} for {t}:", team.name),
        None => format!("Free slots of {}:", team.name),
    };
    let mut blocks = vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{header}*") } })];
    for s in &free {
        let text = format!("{}  ({} of {} free)", local(s.starts_at, tz.tz), s.capacity - s.booked, s.capacity);
        let mut block = json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } });
        if let Some(t) = ticket {
            block["accessory"] = json!({
                "type": "button", "action_id": format!("{}:{}", SlackAction::PickSlot, s.id), "value": format!("{t}/{}", s.id),
                "text": { "type": "plain_text", "text": "Pick" },
            });
        }
        blocks.push(block);
    }
    Ok(ephemeral(header, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SlackChannelId, TeamId};

    fn team(id: i64, name: &str) -> SupportTeam {
        let slack_channel = SlackChannelId::parse("CNORTH001").unwrap();
        SupportTeam { id: TeamId(id), name: name.into(), slack_channel, calendar: "umich".into(), location: None }
    }

    #[test]
    fn team_names_may_have_spaces_and_a_date_may_follow() {
        let teams = [team(1, "NIT North"), team(2, "NIT South")];
        let day = NaiveDate::from_ymd_opt(2026, 12, 1);
        assert_eq!(parse("nit north 2026-12-01", &teams).map(|(t, d)| (t.id, d)), Ok((TeamId(1), day)));
        assert_eq!(parse("NIT South", &teams).map(|(t, d)| (t.id, d)), Ok((TeamId(2), None)));
        assert!(parse("2026-12-01", &teams).unwrap_err().contains("NIT North, NIT South"));
        assert!(parse("Nowhere", &teams).is_err());
        assert_eq!(parse("2026-12-01", &teams[..1]).map(|(t, d)| (t.id, d)), Ok((TeamId(1), day)));
    }
}
