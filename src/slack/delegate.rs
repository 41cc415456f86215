//! `/delegate`: an approver names who decides their approval requests
//! while they are away (`/delegate @dee until 2027-01-08`, optionally
//! `from 2027-01-04`), ends it (`/delegate off`), or, alone, reads their
//! delegation and the requests awaiting them.

use chrono::NaiveDate;

use crate::domain::{Actor, Email, Person, TicketRef};
use crate::http::{AppState, HttpError};

const USAGE: &str = "Usage: /delegate @person until YYYY-MM-DD [from YYYY-MM-DD] | /delegate off | /delegate";

/// What the command asks for.
#[derive(Debug, PartialEq, Eq)]
enum Ask<'a> {
    Status,
    Off,
    /// Someone (a Slack mention or an email) from a day until a day.
    Set {
        who: &'a str,
        from: Option<NaiveDate>,
        until: NaiveDate,
    },
}

fn parse(text: &str) -> Result<Ask<'_>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let day = |w: Option<&&str>| -> Result<NaiveDate, String> {
        let w = w.ok_or(USAGE)?;
        w.parse().map_err(|_| format!("\u{201c}{w}\u{201d} is not a day: write it as YYYY-MM-DD. {USAGE}"))
    };
    match words.as_slice() {
        [] | ["status"] => Ok(Ask::Status),
        ["off"] => Ok(Ask::Off),
        [who, rest @ ..] => {
            let (mut from, mut until) = (None, None);
            let mut i = 0;
            while i < rest.len() {
                match rest[i] {
                    "until" => until = Some(day(rest.get(i + 1))?),
                    "from" => from = Some(day(rest.get(i + 1))?),
                    other => return Err(format!("\u{201c}{other}\u{201d} is not understood. {USAGE}")),
                }
                i += 2;
            }
            Ok(Ask::Set { who, from, until: until.ok_or_else(|| format!("Say until when. {USAGE}"))? })
        }
    }
}

/// The person a mention (`<@U123|dee>`, `<@U123>`) or an email names.
async fn named(state: &AppState, who: &str) -> Result<Result<Person, String>, HttpError> {
    let store = &state.workflow.store;
    let found = match who.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        Some(mention) => store.person_by_slack(mention.split('|').next().unwrap_or_default()).await?,
        None => match Email::parse(who) {
            Ok(email) => store.person_by_email(&email).await?,
            Err(_) => return Ok(Err(format!("Name the delegate as @person or by email. {USAGE}"))),
        },
    };
    Ok(found.ok_or_else(|| format!("deskbell does not know {who}; ask a refresh admin to add them.")))
}

pub async fn command(state: &AppState, who: &Person, text: &str) -> Result<String, HttpError> {
    let w = &state.workflow;
    let ask = match parse(text) {
        Ok(ask) => ask,
        Err(usage) => return Ok(usage),
    };
    let answer = match ask {
        Ask::Status => return status(state, who).await,
        Ask::Off => w.end_delegation(who).await,
        Ask::Set { who: named_as, from, until } => match named(state, named_as).await? {
            Err(unknown) => return Ok(unknown),
            Ok(delegate) => w.delegate(who, &delegate, from, until, &Actor::Person(who.id)).await,
        },
    };
    match answer {
        Ok(text) => Ok(text),
        Err(e) => super::told(e),
    }
}

/// Their delegation, if any, and the requests they may decide now.
async fn status(state: &AppState, who: &Person) -> Result<String, HttpError> {
    let store = &state.workflow.store;
    let mut lines = Vec::new();
    match store.delegations().await?.into_iter().find(|d| d.approver == who.id) {
        Some(d) => {
            let delegate = store.person(d.delegate).await?;
            lines.push(format!("Your approvals go to {} from {} to {}.", delegate.name, d.from, d.until));
        }
        None => lines.push("You have no delegation (/delegate @person until YYYY-MM-DD sets one).".into()),
    }
    let awaiting = store.awaiting_decision(who.id).await?;
    if awaiting.is_empty() {
        lines.push("Nothing awaits your decision.".into());
    } else {
        lines.push(format!("Awaiting your decision ({}):", awaiting.len()));
        lines.extend(awaiting.iter().map(|t| format!("• {}", TicketRef::from(*t))));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_and_refuses_the_rest() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(parse(""), Ok(Ask::Status));
        assert_eq!(parse(" off "), Ok(Ask::Off));
        assert_eq!(
            parse("<@U0DEE0001|dee> until 2027-01-08"),
            Ok(Ask::Set { who: "<@U0DEE0001|dee>", from: None, until: day("2027-01-08") })
        );
        assert_eq!(
            parse("dee@example.edu from 2027-01-04 until 2027-01-08"),
            Ok(Ask::Set { who: "dee@example.edu", from: Some(day("2027-01-04")), until: day("2027-01-08") })
        );
        assert!(parse("<@U1> until next week").unwrap_err().contains("is not a day"));
        assert!(parse("<@U1>").unwrap_err().contains("until when"));
        assert!(parse("<@U1> till 2027-01-08").unwrap_err().contains("not understood"));
    }
}
