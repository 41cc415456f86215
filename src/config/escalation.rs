//! `config/escalation.toml`: the SLA targets and escalation chains as
//! admins write them. Every mistake is reported with the file and line: a
//! bad delay, an unknown role, a step out of order, a missing priority.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Duration, NaiveTime};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::domain::Template;
use crate::domain::service::Priority;
use crate::domain::service::policy::{ChainStep, Clock, EscalationPolicy, Targets, Who};

/// A delay as people write it: `15m`, `2h`, `1h 30m`, `4d`.
#[derive(Debug, Clone, Copy)]
struct Delay(Duration);

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let std = humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("'{text}' is not a delay such as \"15m\" or \"2h\": {e}")))?;
        Duration::from_std(std).map(Delay).map_err(|_| serde::de::Error::custom(format!("'{text}' is too long")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hours {
    start: NaiveTime,
    end: NaiveTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    internal_response: Delay,
    client_response: Delay,
    threshold: Delay,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    priorities: Vec<Priority>,
    after: Delay,
    notify: Vec<Who>,
    #[serde(default)]
    clock: Clock,
    #[serde(default = "ping")]
    template: Template,
}

fn ping() -> Template {
    Template::EscalationPing
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    business_hours: Spanned<Hours>,
    targets: BTreeMap<Priority, TargetsFile>,
    #[serde(default)]
    unassigned: Vec<Spanned<StepFile>>,
    #[serde(default)]
    unacknowledged: Vec<Spanned<StepFile>>,
    #[serde(default)]
    waiting_on_client: Vec<Spanned<StepFile>>,
    #[serde(default)]
    status_updates: BTreeMap<Priority, Delay>,
}

/// Reads and checks a policy; the error is one line naming file and line.
pub fn load(path: &Path) -> Result<EscalationPolicy, String> {
    super::load_policy(path, parse)
}

/// The policy in `text`; errors start with the line (`12: …`).
pub fn parse(text: &str) -> Result<EscalationPolicy, String> {
    let file: File = super::from_toml(text)?;
    let hours_line = super::line(text, file.business_hours.span().start);
    let hours = file.business_hours.into_inner();
    if hours.start >= hours.end {
        return Err(format!("{hours_line}: business_hours start must be before end"));
    }
    let mut targets = Vec::new();
    for p in [Priority::P1, Priority::P2, Priority::P3, Priority::P4, Priority::P5] {
        let t = file.targets.get(&p).ok_or_else(|| format!("1: [targets] has no {p}"))?;
        targets.push(Targets {
            internal_response: t.internal_response.0,
            client_response: t.client_response.0,
            threshold: t.threshold.0,
        });
    }
    let targets: [Targets; 5] = targets.try_into().expect("five priorities");
    Ok(EscalationPolicy {
        business_hours: (hours.start, hours.end),
        targets,
        unassigned: chain(text, "unassigned", file.unassigned)?,
        unacknowledged: chain(text, "unacknowledged", file.unacknowledged)?,
        waiting_on_client: chain(text, "waiting_on_client", file.waiting_on_client)?,
        status_updates: file.status_updates.into_iter().map(|(p, d)| (p, d.0)).collect(),
    })
}

/// A chain's steps, each later than the one before for every priority it
/// shares with it: steps fire in the order they are written.
fn chain(text: &str, name: &str, steps: Vec<Spanned<StepFile>>) -> Result<Vec<ChainStep>, String> {
    let mut out: Vec<ChainStep> = Vec::new();
    for spanned in steps {
        let at = super::line(text, spanned.span().start);
        let s = spanned.into_inner();
        if s.notify.is_empty() || s.priorities.is_empty() {
            return Err(format!("{at}: a [[{name}]] step needs priorities and someone to notify"));
        }
        if s.after.0 <= Duration::zero() {
            return Err(format!("{at}: a [[{name}]] step needs a delay after zero"));
        }
        let (email, slack) = s.template.forms();
        if !(email || slack) {
            return Err(format!("{at}: {} cannot be sent", s.template));
        }
        if let Some(before) = out.iter().rev().find(|b| b.priorities.iter().any(|p| s.priorities.contains(p)))
            && before.after >= s.after.0
        {
            return Err(format!("{at}: [[{name}]] steps must come in order of their delay"));
        }
        out.push(ChainStep {
            priorities: s.priorities,
            clock: s.clock,
            after: s.after.0,
            notify: s.notify,
            template: s.template,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/escalation.toml");

    #[test]
    fn the_shipped_policy_has_the_tables_of_004() {
        let p = parse(SHIPPED).unwrap();
        let p1 = p.targets(Priority::P1);
        assert_eq!(
            (p1.internal_response, p1.client_response, p1.threshold),
            (Duration::minutes(30), Duration::hours(1), Duration::hours(2))
        );
        assert_eq!(p.targets(Priority::P4).threshold, Duration::hours(96));
        let minutes = |c: &[ChainStep]| {
            c.iter().filter(|s| s.priorities.contains(&Priority::P1)).map(|s| s.after.num_minutes()).collect::<Vec<_>>()
        };
        assert_eq!(minutes(&p.unassigned), [15, 20, 30]);
        assert_eq!(minutes(&p.unacknowledged), [15, 30, 45, 60]);
        assert_eq!(minutes(&p.waiting_on_client), [24 * 60, 72 * 60, 96 * 60]);
        assert_eq!(p.status_update_every(Priority::P2), Some(Duration::hours(2)));
        assert_eq!(p.status_update_every(Priority::P3), None);
    }

    #[test]
    fn mistakes_name_their_line() {
        let bad = |from: &str, to: &str| parse(&SHIPPED.replacen(from, to, 1)).unwrap_err();
        let line_of = |needle: &str| SHIPPED[..SHIPPED.find(needle).unwrap()].matches('\n').count() + 1;
        let l = line_of("notify = [\"dispatcher\", \"team_channel\"]");
        let e = bad("notify = [\"dispatcher\", \"team_channel\"]", "notify = [\"janitor\"]");
        assert!(e.starts_with(&format!("{l}: ")) && e.contains("janitor"), "{e}");
        let e = bad("after = \"15m\"", "after = \"-15m\"");
        assert!(e.contains("'-15m' is not a delay"), "{e}");
        let e = bad("after = \"20m\"", "after = \"10m\"");
        assert!(e.ends_with("steps must come in order of their delay"), "{e}");
        let e = bad("P5 = {", "# P5 = {");
        assert!(e.contains("no P5"), "{e}");
    }
}
