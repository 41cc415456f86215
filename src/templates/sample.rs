//! Sample contexts of the shape the store snapshots into outbox rows; used
//! to check templates at start-up and by `deskbell preview` without a ticket.
//! The sample team uses one of the desk's own calendars: nothing here may
//! depend on a calendar or team name of the demo.

use serde_json::{Value, json};

use crate::domain::{Subject, Template};

pub fn sample_context(t: Template, calendar: &str) -> Value {
    let ticket = match t.subject() {
        Subject::RefreshTicket => json!({
            "ref": "R-12", "kind": "refresh", "status": "delivery_scheduled", "style": "on_prem",
            "customer": { "name": "Cara Customer", "email": "cara@example.edu" },
            "delegate": null,
            "team": { "name": "Field Services", "calendar": calendar },
            "config": "LSA Refresh 2026",
            "existing": { "serial": "5CG1234ABC", "model": "Dell Latitude 5400", "platform": "windows" },
            "replacement": { "serial": "5CG9999XYZ", "model": "Dell Latitude 7450", "platform": "windows" },
            "tracking_number": "1Z999AA10123456784",
            "location": null, "shipping_address": null,
            "appointment_at": "2026-11-24T14:00:00+00:00",
            "itsm_request": "TDX-482913",
            "approval": {
                "rule": "all", "overdue": false, "awaiting": ["Ann Approver"], "deciders": [1, 2],
                "asks": [
                    { "approver": "Ann Approver", "approver_id": 1, "with": ["Dee Delegate"], "with_ids": [2], "via": "delegate", "decision": null, "by": null },
                    { "approver": "Bob Approver", "approver_id": 3, "with": ["Bob Approver"], "with_ids": [3], "via": "approver", "decision": "approved", "by": "Bob Approver" },
                ],
                "lines": [":hourglass: Ann Approver: with Dee Delegate, their delegate", ":white_check_mark: Bob Approver approved"],
                "list": ":hourglass: Ann Approver: with Dee Delegate, their delegate\n:white_check_mark: Bob Approver approved",
            },
            "asked": ["Device: none of the approved models is adequate: \u{201c}I edit video all day\u{201d}", "Peripherals: Dock, Second monitor", "Software: Adobe Premiere"],
        }),
        Subject::ServiceTicket => json!({
            "ref": "S-45", "kind": "incident", "priority": "P1", "vip": false,
            "summary": "Nobody on floor 3 can log in", "issue_type": "User Admin", "subtype": "User - Troubleshooting",
            "status": "assigned", "tier": 2,
            "contact": { "name": "Cara Customer", "email": "cara@example.edu" },
            "assignee": { "name": "Ed Engineer", "email": "ed@example.edu" },
            "team": { "name": "Field Services", "calendar": calendar },
            "agency": "LSA",
            "request": {
                "kind": "order_new_device", "action": "order", "label": "order new device", "pending": "desk", "deciders": [2],
                "fields": ["items: Standard laptop", "replaces: 5CG1234ABC", "cost approved: yes"],
                "sanitized": false, "steps": ":white_check_mark: agency approved · :hourglass: desk awaited",
            },
        }),
        Subject::Digest => json!({
            "ref": "digest", "tickets": [
                { "ref": "R-12", "status": "requires_approval", "customer": "Cara Customer", "model": "Dell Latitude 7450", "asked": ["Software: SPSS"] },
                { "ref": "R-14", "status": "pending_ordering", "customer": "Rita Remote", "model": "MacBook Air 13", "asked": [] },
            ],
        }),
        Subject::Reply => json!({ "ref": "R-12" }),
        Subject::Home => json!({ "ref": "home" }),
        Subject::Kpis => json!({
            "ref": "kpi", "day": "2026-11-23",
            "kpis": { "closed": 14, "closed_within_sla": 12, "carried_over": 5, "pending": 9, "breaches": 2,
                "onsite_completed": 6, "onsite_rescheduled": 1, "transactions": 9 },
        }),
        Subject::Lifecycle => json!({
            "ref": "lifecycle", "team": "Field Services", "count": 2, "horizon_days": 120,
        }),
        Subject::Delivery => json!({
            "ref": "R-12", "dedupe_key": "R-12/customer_begin", "channel": "email",
            "recipient": "cara@example.edu", "template": Template::CustomerBegin, "error": "550 mailbox unavailable", "attempts": 1,
            "hint": null,
        }),
    };
    let recipient = match t.subject() {
        Subject::RefreshTicket | Subject::ServiceTicket => "Cara Customer",
        Subject::Digest | Subject::Delivery | Subject::Reply | Subject::Kpis | Subject::Home | Subject::Lifecycle => {
            "Ann Arbor"
        }
    };
    let awaiting = json!({
        "ref": "R-12", "customer": { "name": "Cara Customer" }, "config": "LSA Refresh 2026",
        "existing": { "serial": "5CG1234ABC", "model": "Dell Latitude 5400" },
        "asked": ["Software: Adobe Premiere"],
        "approval": { "list": ":hourglass: Ann Approver", "deciders": [2] },
    });
    let home = json!({
        "known": true, "staff": true,
        "commands": ["`/ticket R-12`: Show a ticket"],
        "approver": { "awaiting": [awaiting], "more": 0, "units": [{ "name": "LSA Refresh 2026", "counts": "requires approval 1 · pending ordering 3" }] },
        "problems": {
            "itsm": [{ "ref": "R-14", "customer": "Rita Remote" }], "location": [{ "ref": "R-15", "customer": "Cara Customer" }],
            "bounced": ["R-16"], "dead": 2, "unmatched": 1,
            "teams": [{ "name": "Field Services", "counts": "delivery scheduled 4" }],
        },
        "queue": [{ "ref": "S-45", "priority": "P1", "summary": "Nobody on floor 3 can log in", "status": "new", "state": "due in 12 min", "assignee": null }],
    });
    let mut ctx = json!({
        "home": home,
        "ticket": ticket,
        "recipient": { "name": recipient, "id": 2 },
        "step": { "minutes": 20, "chain": "unassigned", "number": 2 },
        "change": {
            "by": "Ann Approver", "at": "2026-11-24T15:42:00+00:00", "audits": { "status": "pending_ordering" },
            "decision": "approved",
        },
        "reply": { "text": "R-12 was already approved by Ann Approver.", "from": "cara@example.edu", "subject": "Re: [R-12] Pick a time" },
        "slots": [
            { "id": 7, "starts_at": "2026-11-30T14:00:00+00:00" },
            { "id": 8, "starts_at": "2026-11-30T15:00:00+00:00" },
        ],
        "links": {
            "pick_slot": "https://deskbell.example.edu/pick/R-12?token=0123456789abcdef",
            "refresh": "https://deskbell.example.edu/refresh/R-12?token=0123456789abcdef",
        },
    });
    // Only the lifecycle message carries a file: the dispatcher shares one
    // wherever a payload has it.
    if t.subject() == Subject::Lifecycle {
        ctx["attachment"] = json!({
            "name": "field-services-refresh-2027-03-31.csv",
            "content": "serial,platform,style,team,config\n5CG1234ABC,windows,on_prem,Field Services,LSA Refresh 2026\n",
        });
    }
    ctx
}
