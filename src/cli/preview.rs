//! `deskbell preview`: a message template rendered with sample data or a
//! real ticket's, in each of its forms.

use crate::config::Settings;
use crate::domain::{Template, TicketRef};
use crate::startup::{Resources, load_policy};

pub async fn preview(settings: &Settings, template: &str, ticket: Option<TicketRef>) -> anyhow::Result<()> {
    let template: Template = template.parse()?;
    let templates = load_policy(settings)?.templates;
    let mut ctx = templates.sample(template);
    if let Some(t) = ticket {
        let res = Resources::open(settings).await?;
        let ticket = res.store.ticket_context(t).await?;
        let name = ["delegate", "customer", "contact"]
            .iter()
            .find_map(|k| ticket[k]["name"].as_str())
            .unwrap_or("Preview Recipient")
            .to_owned();
        ctx["ticket"] = ticket;
        ctx["recipient"]["name"] = name.into();
    }
    let (email, slack) = template.forms();
    if email {
        let mail = templates.email(template, &ctx)?;
        println!("Subject: {}\n\n{}\n--- HTML ---\n{}", mail.subject, mail.text, mail.html);
    }
    if slack {
        let msg = templates.slack(template, &ctx)?;
        println!("--- Slack ---\n{}\n{}", msg.text, serde_json::to_string_pretty(&msg.blocks)?);
    }
    Ok(())
}
