//! A ticket as people read it: its state, what is scheduled next, its
//! history and every message sent about it (the delivery log), with times
//! in its team's zone. Used by `deskbell show` and `/ticket`.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Calendars;
use crate::domain::TicketRef;
use crate::domain::service::{ServiceTicket, Sla};
use crate::store::{Result, Store};

pub async fn show(store: &Store, calendars: &Calendars, ticket: TicketRef, now: DateTime<Utc>) -> Result<String> {
    let ctx = store.ticket_context(ticket).await?;
    let tz = ctx["team"]["calendar"].as_str().and_then(|c| calendars.get(c)).map_or(chrono_tz::UTC, |c| c.tz);
    let local = |at: DateTime<Utc>| at.with_timezone(&tz).format("%a %b %-d %Y %H:%M %Z").to_string();
    let mut out = String::new();
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned).unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "{ticket}  {}  ({})", s(&ctx["status"]), s(&ctx["team"]["name"]));
    match ticket {
        TicketRef::Refresh(_) => {
            let who = if ctx["delegate"].is_null() { &ctx["customer"] } else { &ctx["delegate"] };
            let contact = match who["name"].as_str() {
                Some(name) => format!("{name} <{}>", s(&who["email"])),
                None => "none (no customer)".into(),
            };
            let _ = writeln!(out, "  style       {}", s(&ctx["style"]));
            let _ = writeln!(out, "  contact     {contact}");
            let _ = writeln!(out, "  existing    {} {}", s(&ctx["existing"]["serial"]), s(&ctx["existing"]["model"]));
            let _ = writeln!(out, "  replacement {}", s(&ctx["replacement"]["serial"]));
            let _ = writeln!(out, "  appointment {}", s(&ctx["appointment_at"]));
            let _ = writeln!(out, "  TDX         {}", s(&ctx["itsm_request"]));
            for line in ctx["asked"].as_array().into_iter().flatten().filter_map(|l| l.as_str()) {
                let _ = writeln!(out, "  asked       {line}");
            }
            if let Some(rule) = ctx["approval"]["rule"].as_str() {
                let _ = writeln!(out, "  approval    rule: {rule}");
                for line in ctx["approval"]["lines"].as_array().into_iter().flatten().filter_map(|l| l.as_str()) {
                    let _ = writeln!(out, "              {line}");
                }
            }
        }
        TicketRef::Service(_) => {
            let _ = writeln!(
                out,
                "  {} {} tier {}: {}",
                s(&ctx["kind"]),
                s(&ctx["priority"]),
                ctx["tier"],
                s(&ctx["summary"])
            );
            let _ = writeln!(out, "  contact     {} <{}>", s(&ctx["contact"]["name"]), s(&ctx["contact"]["email"]));
            let _ = writeln!(out, "  assignee    {}", s(&ctx["assignee"]["name"]));
            if let Some(agency) = ctx["agency"].as_str() {
                let _ = writeln!(out, "  agency      {agency}");
            }
            let r = &ctx["request"];
            if !r.is_null() {
                let _ = writeln!(out, "  request     {}", s(&r["kind"]));
                for field in r["fields"].as_array().into_iter().flatten().filter_map(|f| f.as_str()) {
                    let _ = writeln!(out, "              {field}");
                }
                if let Some(steps) = r["steps"].as_str().filter(|s| !s.is_empty()) {
                    let _ = writeln!(out, "  approval    {steps}");
                }
                if r["sanitized"] == true {
                    let _ = writeln!(out, "  sanitized   yes");
                }
            }
            if let TicketRef::Service(id) = ticket {
                let _ = writeln!(out, "  SLA         {}", sla_line(&store.load_service(id).await?.value, now, tz));
            }
        }
    }
    let _ = writeln!(out, "\nScheduled");
    for t in store.timers_of(ticket).await? {
        let when = if t.paused { format!("{} (paused: on hold)", local(t.due_at)) } else { local(t.due_at) };
        let _ = writeln!(out, "  {when:<28}  {} {}", t.kind, t.step);
    }
    for m in store.outbox_of(ticket).await?.into_iter().filter(|m| m.status == "pending" && m.not_before > now) {
        let _ =
            writeln!(out, "  {:<28}  {} to {} (held for business hours)", local(m.not_before), m.template, m.recipient);
    }
    let _ = writeln!(out, "\nHistory");
    for a in store.audits(ticket).await? {
        let change = match (&a.change.from, &a.change.to) {
            (Some(f), Some(t)) => format!("{f} → {t}"),
            (None, Some(t)) => t.clone(),
            (Some(f), None) => format!("{f} → (none)"),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "  {}  {:<14} {:<12} {change}", local(a.at), a.actor, a.change.what);
    }
    let events = store.events(ticket).await?;
    if !events.is_empty() {
        let _ = writeln!(out, "\nSeen in other systems");
        for e in events {
            let _ = writeln!(out, "  {}  {:<6} {:<10} {}", local(e.at), e.source, e.kind, e.detail);
        }
    }
    let _ = writeln!(out, "\nMessages");
    for m in store.outbox_of(ticket).await? {
        let _ = writeln!(out, "  {:<9} {:<24} {:<6} {}", m.status, m.template, m.channel, m.recipient);
    }
    let _ = writeln!(out, "\nDelivery log");
    for d in store.deliveries(ticket).await? {
        let detail = d.error.or(d.external_id).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  #{} {:<8} {:<24} {} {}  {detail}",
            local(d.at),
            d.attempt,
            d.outcome,
            d.template,
            d.channel,
            d.recipient
        );
    }
    Ok(out)
}

/// The client-response target as people read it, in the team's zone.
pub fn sla_line(t: &ServiceTicket, now: DateTime<Utc>, tz: Tz) -> String {
    let at = |d: DateTime<Utc>| d.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    match t.sla(now) {
        None => "no target".into(),
        Some(Sla::Due(due)) => format!("client response due {}", at(due)),
        Some(Sla::Met { on_time: true }) => "client response met".into(),
        Some(Sla::Met { on_time: false }) => "client response met late (breached)".into(),
        Some(Sla::Breached) => {
            format!("client response breached (was due {})", t.response_due_at.map(at).unwrap_or_default())
        }
        Some(Sla::Paused) => "paused (on hold)".into(),
    }
}
