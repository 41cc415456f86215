//! The modals deskbell opens, as Block Kit JSON. Each carries the ticket
//! in `private_metadata`, so its submission knows what it is about.

use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::domain::service::request::{FieldType, KindPolicy, MAX_FIELD};
use crate::domain::{ScheduleSlot, TicketRef};

pub const DENY: &str = "deny";
pub const RESCHEDULE: &str = "reschedule";
pub const LOCATION: &str = "location";
pub const REQUEST: &str = "request";

/// The inputs of the modals; each is its block's and its element's id, as
/// the submission handler reads them back.
pub const REASON: &str = "reason";
pub const SLOT: &str = "slot";
pub const ASK_CUSTOMER: &str = "ask_customer";
/// The request modal's own inputs; a kind's fields are `field.NAME`.
pub const CONTACT_NAME: &str = "contact_name";
pub const CONTACT_EMAIL: &str = "contact_email";
pub const TEAM: &str = "team";
pub const AGENCY: &str = "agency";
pub const SUMMARY: &str = "summary";
pub const FIELD_PREFIX: &str = "field.";
/// Slack cuts a modal's title at 24 characters.
const TITLE_CHARS: usize = 24;

/// Slack allows at most 100 options in one select.
const MAX_OPTIONS: usize = 100;

fn plain(text: &str) -> Value {
    json!({ "type": "plain_text", "text": text })
}

/// Asks an approver why they deny.
pub fn deny(ticket: TicketRef) -> Value {
    json!({
        "type": "modal",
        "callback_id": DENY,
        "private_metadata": ticket.to_string(),
        "title": plain(&format!("Deny {ticket}")),
        "submit": plain("Deny"),
        "close": plain("Cancel"),
        "blocks": [{
            "type": "input",
            "block_id": REASON,
            "label": plain("Why is this request denied? The customer is told."),
            "element": { "type": "plain_text_input", "action_id": REASON, "multiline": true, "max_length": 500 },
        }],
    })
}

/// Staff give the location (or, at home, the shipping address) of a ticket
/// whose customer did not answer, as the customer's page would.
pub fn location(ticket: TicketRef, remote: bool, unit_location: Option<&str>) -> Value {
    let (label, hint) = match (remote, unit_location) {
        (true, _) => ("Shipping address", "Street, city, state and ZIP code"),
        (false, Some(_)) => ("Location", "The unit's location, or where else the customer will be"),
        (false, None) => ("Location", "Building and room"),
    };
    let mut element =
        json!({ "type": "plain_text_input", "action_id": LOCATION, "max_length": 200, "placeholder": plain(hint) });
    if let Some(at) = unit_location {
        element["initial_value"] = at.into();
    }
    json!({
        "type": "modal",
        "callback_id": LOCATION,
        "private_metadata": ticket.to_string(),
        "title": plain(&format!("Location of {ticket}")),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [{ "type": "input", "block_id": LOCATION, "label": plain(label), "element": element }],
    })
}

fn text_input(id: &str, label: &str, multiline: bool) -> Value {
    json!({
        "type": "input", "block_id": id, "label": plain(label),
        "element": { "type": "plain_text_input", "action_id": id, "multiline": multiline, "max_length": MAX_FIELD },
    })
}

fn select(id: &str, label: &str, values: &[String]) -> Value {
    let options: Vec<Value> =
        values.iter().take(MAX_OPTIONS).map(|v| json!({ "text": plain(v), "value": v })).collect();
    json!({
        "type": "input", "block_id": id, "label": plain(label),
        "element": { "type": "static_select", "action_id": id, "options": options },
    })
}

/// A request of `kind` taken by phone (`/request KIND`): who asks, for
/// which team and agency, and the kind's own fields. The kind's name rides
/// in `private_metadata`.
pub fn request(kind: &KindPolicy, teams: &[String]) -> Value {
    let mut blocks = vec![
        text_input(CONTACT_NAME, "Requester's name", false),
        text_input(CONTACT_EMAIL, "Requester's email", false),
        text_input(AGENCY, "Client agency billed", false),
        select(TEAM, "Support team", teams),
        text_input(SUMMARY, "Summary", false),
    ];
    for f in &kind.fields {
        let id = format!("{FIELD_PREFIX}{}", f.name);
        blocks.push(match &f.kind {
            FieldType::Choice(options) => select(&id, &f.label, options),
            FieldType::Confirm => json!({
                "type": "input", "block_id": id, "label": plain(&f.label),
                "element": { "type": "checkboxes", "action_id": id, "options": [{ "text": plain("Yes"), "value": "yes" }] },
            }),
            FieldType::Serials => text_input(&id, &f.label, true),
            FieldType::Text | FieldType::Email => text_input(&id, &f.label, false),
        });
    }
    json!({
        "type": "modal",
        "callback_id": REQUEST,
        "private_metadata": kind.name.0,
        "title": plain(&crate::slack::limits::cut(&kind.label, TITLE_CHARS)),
        "submit": plain("Open"),
        "close": plain("Cancel"),
        "blocks": blocks,
    })
}

/// The team's free slots grouped by local day, or asking the customer to
/// pick again.
pub fn reschedule(ticket: TicketRef, free: &[ScheduleSlot], tz: Tz) -> Value {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for slot in free.iter().filter(|s| s.is_free()).take(MAX_OPTIONS) {
        let local = slot.starts_at.with_timezone(&tz);
        let day = local.format("%a %b %-d").to_string();
        let seats = slot.capacity - slot.booked;
        let option = json!({
            "text": plain(&format!("{} ({seats} of {} free)", local.format("%-I:%M %p"), slot.capacity)),
            "value": slot.id.to_string(),
        });
        match groups.last_mut() {
            Some((d, options)) if *d == day => options.push(option),
            _ => groups.push((day, vec![option])),
        }
    }
    let mut blocks = Vec::new();
    if groups.is_empty() {
        blocks.push(json!({ "type": "section", "text": plain("The team has no free slot in the next five weeks.") }));
    } else {
        let option_groups: Vec<Value> =
            groups.into_iter().map(|(day, options)| json!({ "label": plain(&day), "options": options })).collect();
        blocks.push(json!({
            "type": "input", "block_id": SLOT, "optional": true, "label": plain("New appointment"),
            "element": { "type": "static_select", "action_id": SLOT, "placeholder": plain("Pick a slot"), "option_groups": option_groups },
        }));
    }
    blocks.push(json!({
        "type": "input", "block_id": ASK_CUSTOMER, "optional": true, "label": plain("Or"),
        "element": { "type": "checkboxes", "action_id": ASK_CUSTOMER, "options": [
            { "text": plain("Ask the customer to pick again"), "value": "yes" },
        ]},
    }));
    json!({
        "type": "modal",
        "callback_id": RESCHEDULE,
        "private_metadata": ticket.to_string(),
        "title": plain(&format!("Reschedule {ticket}")),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SlotId, TeamId};
    use chrono::DateTime;
    use slack_morphism::prelude::SlackView;

    fn slot(id: i64, day: u32, hour: u32, booked: u32) -> ScheduleSlot {
        let starts_at = DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T{hour:02}:00:00Z")).unwrap().into();
        ScheduleSlot { id: SlotId(id), team: TeamId(1), starts_at, ends_at: starts_at, capacity: 2, booked }
    }

    #[test]
    fn reschedule_groups_free_slots_by_local_day_and_parses_as_a_slack_view() {
        let tz = chrono_tz::America::Detroit;
        let free = [slot(1, 30, 14, 0), slot(2, 30, 15, 2), slot(3, 30, 16, 1)];
        let view = reschedule(TicketRef::parse("R-7").unwrap(), &free, tz);
        let groups = &view["blocks"][0]["element"]["option_groups"];
        assert_eq!(groups.as_array().unwrap().len(), 1, "{view}");
        assert_eq!(groups[0]["label"]["text"], "Mon Nov 30");
        let options: Vec<&str> =
            groups[0]["options"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()).collect();
        assert_eq!(options, ["1", "3"], "the full slot 2 is not offered");
        assert_eq!(groups[0]["options"][1]["text"]["text"], "11:00 AM (1 of 2 free)");
        serde_json::from_value::<SlackView>(view).expect("Block Kit");
        serde_json::from_value::<SlackView>(deny(TicketRef::parse("R-7").unwrap())).expect("Block Kit");
        let policy =
            crate::config::requests::parse(include_str!("../../config/service_requests.toml")).expect("shipped policy");
        for kind in &policy.kinds {
            let form = request(kind, &["NIT North".into()]);
            serde_json::from_value::<SlackView>(form).expect("Block Kit");
        }
        let empty = reschedule(TicketRef::parse("R-7").unwrap(), &[], tz);
        assert_eq!(empty["blocks"][0]["type"], "section");
    }
}
