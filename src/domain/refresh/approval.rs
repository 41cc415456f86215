//! Approvals that keep moving: each approver's request is with someone who
//! can decide it now (the approver, their delegate, or the config's
//! fallback while they are away or once the request is overdue), and the
//! config's rule says when the decisions made are the decision.
//!
//! [`Approvers`] is what the directory says at one instant; [`route`]
//! works out, purely, who holds each approver's request from it, so the
//! same answer comes from a decision, a delegation, a Slack status or the
//! midnight check.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, PersonId};

vocabulary! {
    /// When the decisions made are the decision.
    #[derive(Default)]
    pub enum ApprovalRule {
        /// The first decision wins.
        #[default]
        Any,
        /// Every approver approves; one denial denies.
        All,
        /// More than half approve; denied once they no longer can.
        Majority,
    }
}

vocabulary! {
    /// Why a request is with whom it is with.
    pub enum Via {
        Approver,
        Delegate,
        /// The approver (or their delegate) is away: with the fallback.
        Away,
        /// Nobody decided within the fallback days: with the fallback.
        Fallback,
    }
}

/// A config's approval settings (directory file: `approval = { … }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalSettings {
    pub rule: ApprovalRule,
    /// Business days after the request at which its holders are reminded.
    pub reminder_days: Vec<u32>,
    /// Business days after which the request goes to the fallback.
    pub fallback_days: u32,
    /// How far a delegation may be passed on (a delegate's own delegate).
    pub delegation_hops: u8,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self { rule: ApprovalRule::Any, reminder_days: vec![2, 5], fallback_days: 7, delegation_hops: 1 }
    }
}

impl ApprovalSettings {
    pub fn check(&self) -> Result<(), String> {
        if self.fallback_days == 0 || self.reminder_days.iter().any(|d| *d == 0 || *d >= self.fallback_days) {
            return Err(format!(
                "approval reminder days {:?} must each be at least 1 and before the fallback day {}",
                self.reminder_days, self.fallback_days
            ));
        }
        Ok(())
    }
}

/// An approver away from `from` to `until` (both days included) names
/// who decides for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub approver: PersonId,
    pub delegate: PersonId,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl Delegation {
    pub fn runs_on(&self, day: NaiveDate) -> bool {
        (self.from..=self.until).contains(&day)
    }

    /// Refused: to oneself or ending before it starts or before `today`.
    pub fn check(&self, today: NaiveDate) -> Result<(), String> {
        if self.approver == self.delegate {
            return Err("You cannot delegate to yourself.".into());
        }
        if self.until < today || self.until < self.from {
            return Err(format!("{} is in the past: name a day from {today} on.", self.until));
        }
        Ok(())
    }
}

/// What the directory says about one config's approvers at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvers {
    pub settings: ApprovalSettings,
    pub people: Vec<PersonId>,
    /// A named person or a group's members; may be empty.
    pub fallback: Vec<PersonId>,
    pub delegations: Vec<Delegation>,
    /// People whose Slack status says they are away.
    pub away: HashSet<PersonId>,
}

/// Who holds one approver's request and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub with: Vec<PersonId>,
    pub via: Via,
}

impl Approvers {
    /// Who holds `approver`'s request on `day`: the approver; else along
    /// their delegations (at most `delegation_hops`); a chain ending with
    /// someone away, or going further than allowed, ends at the fallback.
    /// Without a fallback the request stays with the approver. Overdue
    /// requests are with the fallback.
    pub fn route(&self, approver: PersonId, day: NaiveDate, overdue: bool) -> Route {
        let fallback = |via| match self.fallback.is_empty() {
            true => Route { with: vec![approver], via: Via::Approver },
            false => Route { with: self.fallback.clone(), via },
        };
        if overdue {
            return fallback(Via::Fallback);
        }
        let delegate_of =
            |p: PersonId| self.delegations.iter().find(|d| d.approver == p && d.runs_on(day)).map(|d| d.delegate);
        let (mut at, mut hops) = (approver, 0);
        loop {
            match delegate_of(at) {
                Some(d) if hops < self.settings.delegation_hops => (at, hops) = (d, hops + 1),
                Some(_) => return fallback(Via::Away),
                None if self.away.contains(&at) => return fallback(Via::Away),
                None => {
                    let via = if hops == 0 { Via::Approver } else { Via::Delegate };
                    return Route { with: vec![at], via };
                }
            }
        }
    }
}

/// What in a Slack status says its person is away (desk settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwayStatus {
    /// Status emoji, as Slack writes them (`:palm_tree:`).
    pub emoji: Vec<String>,
    /// Words in the status text, matched without regard to case.
    pub words: Vec<String>,
}

impl AwayStatus {
    /// The status as kept when it says away (`:palm_tree: Vacation`), or
    /// `None` when it does not (or is cleared).
    pub fn away(&self, emoji: &str, text: &str) -> Option<String> {
        let lower = text.to_lowercase();
        let says = self.emoji.iter().any(|e| e == emoji)
            || self.words.iter().any(|w| !w.is_empty() && lower.contains(&w.to_lowercase()));
        says.then(|| format!("{emoji} {text}").trim().to_owned())
    }
}

/// One approver's decision, by them or by whoever held their request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub approve: bool,
    /// `None`: the desk's operator, deciding for everyone.
    pub by: Option<PersonId>,
}

/// One approver's request: with whom it is and what was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub approver: PersonId,
    pub with: Vec<PersonId>,
    pub via: Via,
    pub vote: Option<Vote>,
}

impl Ask {
    /// The approver decides their own request wherever it is; its holders
    /// decide it for them.
    pub fn may_decide(&self, p: PersonId) -> bool {
        self.approver == p || self.with.contains(&p)
    }
}

/// A ticket's approval: the rule it is decided by and every approver's
/// request. `round` counts its changes (it keys the edits of messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub rule: ApprovalRule,
    pub asks: Vec<Ask>,
    /// The fallback step fired: what is undecided is with the fallback.
    pub overdue: bool,
    pub round: u32,
}

impl Approval {
    /// Everyone who may decide something now.
    pub fn deciders(&self) -> Vec<PersonId> {
        let mut people: Vec<PersonId> = self
            .asks
            .iter()
            .filter(|a| a.vote.is_none())
            .flat_map(|a| std::iter::once(a.approver).chain(a.with.iter().copied()))
            .collect();
        people.sort();
        people.dedup();
        people
    }

    /// Whether `p` has a part in this approval at all (decided or not).
    pub fn involves(&self, p: PersonId) -> bool {
        self.asks.iter().any(|a| a.may_decide(p))
    }

    /// Records `by`'s decision on every undecided request they hold (the
    /// operator, `None`, on all of them).
    pub fn vote(&mut self, by: Option<PersonId>, approve: bool) -> Result<(), DomainError> {
        let mut any = false;
        for ask in self.asks.iter_mut().filter(|a| a.vote.is_none()) {
            if by.is_none_or(|p| ask.may_decide(p)) {
                ask.vote = Some(Vote { approve, by });
                any = true;
            }
        }
        if !any {
            return Err(DomainError::Invalid("you have already decided; the other approvers are awaited".into()));
        }
        self.round += 1;
        Ok(())
    }

    /// The decision, once the rule has one: approved (`true`) or denied.
    pub fn outcome(&self) -> Option<bool> {
        let n = self.asks.len();
        let yes = self.asks.iter().filter(|a| a.vote.as_ref().is_some_and(|v| v.approve)).count();
        let no = self.asks.iter().filter(|a| a.vote.as_ref().is_some_and(|v| !v.approve)).count();
        match self.rule {
            ApprovalRule::Any if no > 0 => Some(false),
            ApprovalRule::Any => (yes > 0).then_some(true),
            ApprovalRule::All if no > 0 => Some(false),
            ApprovalRule::All => (yes == n && n > 0).then_some(true),
            ApprovalRule::Majority if yes * 2 > n => Some(true),
            ApprovalRule::Majority => (no * 2 >= n && n > 0).then_some(false),
        }
    }

    /// The approval as routed by `approvers` on `day`: decided requests
    /// stay as they were; undecided ones of people no longer approvers
    /// are withdrawn; the others go where [`Approvers::route`] says.
    pub fn routed(&self, approvers: &Approvers, day: NaiveDate) -> Self {
        let mut asks: Vec<Ask> =
            self.asks.iter().filter(|a| a.vote.is_some() && !approvers.people.contains(&a.approver)).cloned().collect();
        for p in &approvers.people {
            let old = self.asks.iter().find(|a| a.approver == *p);
            match old {
                Some(a) if a.vote.is_some() => asks.push(a.clone()),
                _ => {
                    let Route { with, via } = approvers.route(*p, day, self.overdue);
                    asks.push(Ask { approver: *p, with, via, vote: None });
                }
            }
        }
        asks.sort_by_key(|a| a.approver);
        Self { asks, ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 1, d).unwrap()
    }

    fn approvers(people: &[i64], fallback: &[i64]) -> Approvers {
        Approvers {
            people: people.iter().map(|p| PersonId(*p)).collect(),
            fallback: fallback.iter().map(|p| PersonId(*p)).collect(),
            ..Approvers::default()
        }
    }

    fn delegation(approver: i64, delegate: i64, from: u32, until: u32) -> Delegation {
        Delegation { approver: PersonId(approver), delegate: PersonId(delegate), from: day(from), until: day(until) }
    }

    #[test]
    fn a_delegation_holds_only_within_its_days_and_one_hop() {
        let mut a = approvers(&[1], &[9]);
        a.delegations = vec![delegation(1, 2, 4, 8)];
        assert_eq!(a.route(PersonId(1), day(3), false), Route { with: vec![PersonId(1)], via: Via::Approver });
        assert_eq!(a.route(PersonId(1), day(4), false), Route { with: vec![PersonId(2)], via: Via::Delegate });
        assert_eq!(a.route(PersonId(1), day(8), false).via, Via::Delegate);
        assert_eq!(a.route(PersonId(1), day(9), false).via, Via::Approver);
        // The delegate delegates on: beyond one hop, the fallback.
        a.delegations.push(delegation(2, 3, 1, 31));
        assert_eq!(a.route(PersonId(1), day(5), false), Route { with: vec![PersonId(9)], via: Via::Away });
        a.settings.delegation_hops = 2;
        assert_eq!(a.route(PersonId(1), day(5), false).with, vec![PersonId(3)]);
    }

    #[test]
    fn away_goes_to_the_fallback_and_overdue_too() {
        let mut a = approvers(&[1, 2], &[9]);
        a.away.insert(PersonId(1));
        assert_eq!(a.route(PersonId(1), day(4), false).via, Via::Away);
        assert_eq!(a.route(PersonId(2), day(4), false).via, Via::Approver);
        assert_eq!(a.route(PersonId(2), day(4), true), Route { with: vec![PersonId(9)], via: Via::Fallback });
        // A delegate who is away falls through to the fallback as well.
        a.delegations = vec![delegation(2, 1, 1, 31)];
        assert_eq!(a.route(PersonId(2), day(4), false).with, vec![PersonId(9)]);
        // Without a fallback nothing moves.
        let mut alone = approvers(&[1], &[]);
        alone.away.insert(PersonId(1));
        assert_eq!(alone.route(PersonId(1), day(4), true).with, vec![PersonId(1)]);
    }

    fn approval(rule: ApprovalRule, n: i64) -> Approval {
        let base = Approval { rule, asks: vec![], overdue: false, round: 0 };
        base.routed(&approvers(&(1..=n).collect::<Vec<_>>(), &[9]), day(4))
    }

    #[test]
    fn rules_decide_when_they_should() {
        let mut any = approval(ApprovalRule::Any, 3);
        any.vote(Some(PersonId(2)), true).unwrap();
        assert_eq!(any.outcome(), Some(true));

        let mut all = approval(ApprovalRule::All, 3);
        all.vote(Some(PersonId(1)), true).unwrap();
        all.vote(Some(PersonId(2)), true).unwrap();
        assert_eq!(all.outcome(), None);
        assert!(all.vote(Some(PersonId(2)), true).is_err(), "a second vote is refused");
        all.vote(Some(PersonId(3)), false).unwrap();
        assert_eq!(all.outcome(), Some(false));

        let mut majority = approval(ApprovalRule::Majority, 4);
        majority.vote(Some(PersonId(1)), true).unwrap();
        majority.vote(Some(PersonId(2)), true).unwrap();
        assert_eq!(majority.outcome(), None, "2 of 4 is no majority");
        majority.vote(Some(PersonId(3)), false).unwrap();
        assert_eq!(majority.outcome(), None);
        majority.vote(Some(PersonId(4)), false).unwrap();
        assert_eq!(majority.outcome(), Some(false), "a tie cannot become a majority");
        assert_eq!(majority.round, 4);
    }

    #[test]
    fn the_fallback_decides_everything_still_open_and_removed_approvers_leave() {
        let mut all = approval(ApprovalRule::All, 3);
        all.vote(Some(PersonId(1)), true).unwrap();
        all.overdue = true;
        let all = all.routed(&approvers(&[1, 2, 3], &[9]), day(5));
        assert_eq!(all.deciders(), vec![PersonId(2), PersonId(3), PersonId(9)]);
        let mut decided = all.clone();
        decided.vote(Some(PersonId(9)), true).unwrap();
        assert_eq!(decided.outcome(), Some(true));
        assert_eq!(decided.asks[2].vote, Some(Vote { approve: true, by: Some(PersonId(9)) }));

        let fewer = all.routed(&approvers(&[1, 3], &[9]), day(5));
        assert_eq!(fewer.asks.iter().map(|a| a.approver.0).collect::<Vec<_>>(), vec![1, 3]);
        let without_voter = all.routed(&approvers(&[2, 3], &[9]), day(5));
        assert_eq!(without_voter.asks.len(), 3, "a decision already made stays on record");
    }

    #[test]
    fn a_status_says_away_by_emoji_or_word() {
        let away = AwayStatus { emoji: vec![":palm_tree:".into()], words: vec!["OOO".into(), "vacation".into()] };
        assert_eq!(away.away(":palm_tree:", ""), Some(":palm_tree:".into()));
        assert_eq!(away.away("", "On VACATION until Jan 8"), Some("On VACATION until Jan 8".into()));
        assert_eq!(away.away(":ooo:", "ooo"), Some(":ooo: ooo".into()));
        assert_eq!(away.away(":coffee:", "in a meeting"), None);
        assert_eq!(away.away("", ""), None);
    }

    #[test]
    fn delegations_to_oneself_or_the_past_are_refused() {
        assert!(delegation(1, 1, 4, 8).check(day(4)).unwrap_err().contains("yourself"));
        assert!(delegation(1, 2, 1, 3).check(day(4)).unwrap_err().contains("past"));
        assert!(delegation(1, 2, 4, 4).check(day(4)).is_ok());
    }
}
