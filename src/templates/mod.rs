//! Message templates, loaded from disk so admins edit them without a
//! rebuild: `templates/email/NAME.subject.txt` and `NAME.html` for email (the
//! plain-text part is derived from the HTML, so each email has one source),
//! `templates/slack/NAME.json` for a Block Kit message with its `text`
//! fallback. Undefined variables are errors, reported with file and line.

mod sample;

use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value as Jv, path_loader};
use serde_json::Value;
use strum::IntoEnumIterator;

pub use sample::sample_context;

use crate::config::{Calendars, one_line};
use crate::domain::{SlackAction, Template};
use crate::slack::limits;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderedSlack {
    /// The notification and accessibility fallback.
    pub text: String,
    pub blocks: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

fn err(e: minijinja::Error) -> TemplateError {
    let mut msg = one_line(&e.to_string());
    if let (Some(name), Some(line)) = (e.name(), e.line())
        && !msg.contains(name)
    {
        msg = format!("{name}:{line}: {msg}");
    }
    TemplateError(msg)
}

/// Text as Slack's mrkdwn shows it literally: `&`, `<` and `>` escaped,
/// the three characters Slack's formatting reference says to escape.
pub fn mrkdwn_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A context with every string escaped for mrkdwn.
fn mrkdwn_escaped(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(mrkdwn_escape(s)),
        Value::Array(items) => Value::Array(items.iter().map(mrkdwn_escaped).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), mrkdwn_escaped(v))).collect()),
        other => other.clone(),
    }
}

pub struct Templates {
    env: Environment<'static>,
    calendars: Arc<Calendars>,
}

impl Templates {
    /// Templates under `dir`; `local_time` formats an RFC 3339 instant in a
    /// calendar's zone: `{{ ticket.appointment_at | local_time(ticket.team.calendar) }}`
    /// (in UTC for the empty name, the sample team's when no calendar is configured).
    pub fn load(dir: &Path, calendars: Arc<Calendars>) -> Self {
        let mut env = Environment::new();
        env.set_loader(path_loader(dir));
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let cals = calendars.clone();
        env.add_filter("local_time", move |at: String, calendar: String| -> Result<String, minijinja::Error> {
            let bad = |why: String| minijinja::Error::new(ErrorKind::InvalidOperation, why);
            let at = DateTime::parse_from_rfc3339(&at).map_err(|e| bad(format!("'{at}' is not a time: {e}")))?;
            let tz = match calendar.as_str() {
                "" => chrono_tz::UTC,
                name => cals.get(name).ok_or_else(|| bad(format!("unknown calendar '{name}'")))?.tz,
            };
            Ok(at.with_timezone(&tz).format("%A, %B %-d at %-I:%M %p %Z").to_string())
        });
        Self { env, calendars }
    }

    /// A sample context for `t` whose team uses one of the configured calendars.
    pub fn sample(&self, t: Template) -> Value {
        sample_context(t, self.calendars.names().first().copied().unwrap_or_default())
    }

    pub fn email(&self, name: Template, ctx: &Value) -> Result<RenderedEmail, TemplateError> {
        let (subject, html) = self.email_parts(name, ctx)?;
        let text =
            html2text::from_read(html.as_bytes(), 78).map_err(|e| TemplateError(format!("email/{name}.html: {e}")))?;
        Ok(RenderedEmail { subject, text, html })
    }

    /// An email's subject; the body is rendered too (so a broken one is an
    /// error) but not turned into plain text. For `deskbell simulate`.
    pub fn email_subject(&self, name: Template, ctx: &Value) -> Result<String, TemplateError> {
        Ok(self.email_parts(name, ctx)?.0)
    }

    fn email_parts(&self, name: Template, ctx: &Value) -> Result<(String, String), TemplateError> {
        let ctx = Jv::from(minijinja::value::Serde(ctx));
        let subject =
            self.env.get_template(&format!("email/{name}.subject.txt")).map_err(err)?.render(&ctx).map_err(err)?;
        let html = self.env.get_template(&format!("email/{name}.html")).map_err(err)?.render(&ctx).map_err(err)?;
        Ok((one_line(&subject), html))
    }

    /// A Slack message. Every value of the context is text from outside
    /// (names, summaries, replies, reasons): it is escaped for mrkdwn
    /// first, so no value can mention `<!channel>` or hide a link.
    pub fn slack(&self, name: Template, ctx: &Value) -> Result<RenderedSlack, TemplateError> {
        self.slack_within(name, ctx, limits::MESSAGE_BLOCKS)
    }

    /// A person's App Home (`views.publish`), fitted to a view's 100 blocks.
    pub fn home(&self, ctx: &Value) -> Result<Value, TemplateError> {
        let rendered = self.slack_within(Template::AppHome, ctx, limits::VIEW_BLOCKS)?;
        Ok(serde_json::json!({ "type": "home", "blocks": rendered.blocks }))
    }

    fn slack_within(&self, name: Template, ctx: &Value, max_blocks: usize) -> Result<RenderedSlack, TemplateError> {
        let file = format!("slack/{name}.json");
        let mut ctx = mrkdwn_escaped(ctx);
        ctx["actions"] = SlackAction::iter().map(|a| (a.to_string(), Value::from(a.to_string()))).collect();
        let json =
            self.env.get_template(&file).map_err(err)?.render(Jv::from(minijinja::value::Serde(&ctx))).map_err(err)?;
        let msg: Value = serde_json::from_str(&json)
            .map_err(|e| TemplateError(format!("{file}: not valid JSON after rendering: {e}")))?;
        let text = msg["text"].as_str().filter(|t| !t.trim().is_empty());
        let text = text.ok_or_else(|| TemplateError(format!("{file}: needs a non-empty \"text\" fallback")))?;
        let mut blocks = match &msg["blocks"] {
            Value::Array(blocks) => blocks.clone(),
            Value::Null => Vec::new(),
            _ => return Err(TemplateError(format!("{file}: \"blocks\" must be a list"))),
        };
        let more = match name {
            Template::AppHome => "/ticket shows any of them".to_owned(),
            _ => format!("deskbell show {}", ctx["ticket"]["ref"].as_str().unwrap_or("the ticket")),
        };
        limits::fit(&mut blocks, max_blocks, &more);
        Ok(RenderedSlack { text: limits::cut(text, limits::FALLBACK_TEXT), blocks })
    }

    /// A web page (`templates/web/NAME.html`), e.g. the slot-picking page.
    pub fn page(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        self.env
            .get_template(&format!("web/{name}.html"))
            .map_err(err)?
            .render(Jv::from(minijinja::value::Serde(ctx)))
            .map_err(err)
    }

    /// Renders every form of every template with a sample context: a file
    /// that is missing, does not parse or uses an unknown variable is
    /// reported with its name and line.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for t in Template::iter() {
            let (email, slack) = t.forms();
            let ctx = self.sample(t);
            if email && let Err(e) = self.email(t, &ctx) {
                problems.push(e.0);
            }
            if slack && let Err(e) = self.slack(t, &ctx) {
                problems.push(e.0);
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped() -> Templates {
        let mut cals = Calendars::default();
        cals.insert(crate::calendar::BusinessCalendar::standard("umich", chrono_tz::America::Detroit));
        Templates::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates")), Arc::new(cals))
    }

    #[test]
    fn every_shipped_template_renders_its_forms() {
        shipped().check().unwrap();
    }

    #[test]
    fn the_check_uses_the_desks_own_calendar_or_none() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates"));
        let mut cals = Calendars::default();
        cals.insert(crate::calendar::BusinessCalendar::standard("acme-hq", chrono_tz::Europe::Berlin));
        let t = Templates::load(dir, Arc::new(cals));
        t.check().unwrap();
        assert_eq!(t.sample(Template::SlotReminder)["ticket"]["team"]["calendar"], "acme-hq");
        let mail = t.email(Template::SlotReminder, &t.sample(Template::SlotReminder)).unwrap();
        assert!(mail.text.contains("CET"), "rendered in the desk's zone: {}", mail.text);
        Templates::load(dir, Arc::new(Calendars::default())).check().unwrap();
    }

    #[test]
    fn customer_mail_has_subject_html_and_text() {
        let mail = shipped().email(Template::CustomerBegin, &sample_context(Template::CustomerBegin, "umich")).unwrap();
        assert!(mail.subject.contains("R-12"), "{}", mail.subject);
        assert!(mail.html.contains("<html") && mail.html.contains("Cara"));
        assert!(mail.text.contains("Cara") && !mail.text.contains("<p>"));
    }

    #[test]
    fn the_dispatchers_close_notice_says_what_happened() {
        let t = shipped();
        let mut ctx = sample_context(Template::DispatcherCloseNotice, "umich");
        ctx["step"] = json!({ "minutes": 96 * 60, "chain": "waiting_on_client", "number": 3 });
        let msg = t.slack(Template::DispatcherCloseNotice, &ctx).unwrap();
        assert_eq!(msg.text, "S-45: the client has not answered for 96 hours");
        assert!(!serde_json::to_string(&msg.blocks).unwrap().contains("three attempts"));
        assert!(one_line(&t.email(Template::DispatcherCloseNotice, &ctx).unwrap().text).contains("96 hours"));
    }

    #[test]
    fn the_customer_is_told_why_a_refresh_was_denied() {
        let t = shipped();
        let mut ctx = sample_context(Template::RefreshDenied, "umich");
        ctx["change"]["audits"] =
            json!({ "status": "cancelled", "denied": "The current laptop is under two years old." });
        let text = one_line(&t.email(Template::RefreshDenied, &ctx).unwrap().text);
        assert!(text.contains("The reason given: The current laptop is under two years old."), "{text}");
    }

    #[test]
    fn a_delegate_is_told_whose_computer_it_is() {
        let t = shipped();
        let mut ctx = sample_context(Template::CustomerBegin, "umich");
        let own = t.email(Template::CustomerBegin, &ctx).unwrap();
        assert!(own.subject.starts_with("Your new computer") && own.text.contains("Your computer"), "{}", own.text);
        ctx["ticket"]["delegate"] = json!({ "name": "Dan Delegate", "email": "dan@example.edu" });
        ctx["recipient"]["name"] = "Dan Delegate".into();
        let mail = t.email(Template::CustomerBegin, &ctx).unwrap();
        assert!(mail.subject.starts_with("Cara Customer's new computer"), "{}", mail.subject);
        let text = one_line(&mail.text);
        assert!(text.contains("Cara Customer's computer") && !text.contains("Your computer"), "{text}");
        assert!(text.contains("as Cara Customer's delegate"), "{text}");
        let reminder = one_line(&t.email(Template::WizardReminder, &ctx).unwrap().text);
        assert!(reminder.contains("replacing Cara Customer's computer"), "{reminder}");
    }

    #[test]
    fn slot_reminders_stress_a_unit_specified_location() {
        let t = shipped();
        let mut ctx = sample_context(Template::SlotReminder, "umich");
        let on_prem = one_line(&t.email(Template::SlotReminder, &ctx).unwrap().text);
        ctx["ticket"]["style"] = "unit_specified_location".into();
        ctx["ticket"]["location"] = "Angell Hall 1010".into();
        let unit = one_line(&t.email(Template::SlotReminder, &ctx).unwrap().text);
        assert!(unit.contains("Angell Hall 1010") && unit.contains("must be there"), "{unit}");
        assert!(!on_prem.contains("must be there"));
        assert!(on_prem.contains("Tuesday, November 24 at 9:00 AM EST"), "{on_prem}");
    }

    #[test]
    fn values_are_escaped_for_their_format() {
        let t = shipped();
        let mut ctx = sample_context(Template::ApprovalRequest, "umich");
        ctx["ticket"]["customer"]["name"] = "<script>\"Bobby\" & co</script>".into();
        let html = t.email(Template::ApprovalRequest, &ctx).unwrap().html;
        assert!(!html.contains("<script>"));
        let slack = t.slack(Template::ApprovalRequest, &ctx).unwrap();
        assert!(
            slack.text.contains("&lt;script&gt;\"Bobby\" &amp; co"),
            "JSON-escaped and mrkdwn-escaped, not mangled: {}",
            slack.text
        );
    }

    /// Every string a sample context holds, but for times, calendars and
    /// references and decisions the templates compute with, replaced by `with`.
    fn replace_strings(v: &mut Value, with: &str) {
        match v {
            Value::String(s) if DateTime::parse_from_rfc3339(s).is_err() && s != "umich" && !s.starts_with("R-") => {
                *s = with.into()
            }
            Value::Array(items) => items.iter_mut().for_each(|v| replace_strings(v, with)),
            Value::Object(map) => map
                .iter_mut()
                .filter(|(k, _)| !["ref", "decision"].contains(&k.as_str()))
                .for_each(|(_, v)| replace_strings(v, with)),
            _ => {}
        }
    }

    #[test]
    fn no_slack_template_lets_outside_text_mention_or_link() {
        let t = shipped();
        for template in Template::iter().filter(|t| t.forms().1) {
            let mut ctx = sample_context(template, "umich");
            replace_strings(&mut ctx, "<!channel> <!here> <https://evil.example|your ticket> <@U0BOSS001> Tom & Jerry");
            let msg = t.slack(template, &ctx).unwrap();
            let all = format!("{} {}", msg.text, serde_json::to_string(&msg.blocks).unwrap());
            for live in ["<!channel>", "<!here>", "<https://evil", "<@U0BOSS001>"] {
                assert!(!all.contains(live), "{template}: {live} is live in {all}");
            }
            assert!(all.contains("Tom &amp; Jerry") || !all.contains("Tom"), "{template}: {all}");
        }
    }

    #[test]
    fn every_slack_template_stays_within_slacks_limits_at_worst_case_sizes() {
        let t = shipped();
        for template in Template::iter().filter(|t| t.forms().1) {
            let mut ctx = sample_context(template, "umich");
            replace_strings(&mut ctx, &"W".repeat(5000));
            ctx["slots"] = (0..60).map(|i| json!({ "id": i, "starts_at": "2026-11-30T14:00:00+00:00" })).collect();
            let msg = t.slack(template, &ctx).unwrap();
            assert!(msg.text.chars().count() <= limits::FALLBACK_TEXT, "{template}: text");
            assert_eq!(limits::broken(&msg.blocks, limits::MESSAGE_BLOCKS), Vec::<String>::new(), "{template}");
        }
    }

    #[test]
    fn a_missing_variable_is_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("slack")).unwrap();
        std::fs::write(dir.path().join("slack/kpi_digest.json"), "{\n\"text\": {{ ticket.nope }}\n}").unwrap();
        let t = Templates::load(dir.path(), Arc::new(Calendars::default()));
        let e = t.slack(Template::KpiDigest, &serde_json::json!({"ticket": {}})).unwrap_err().0;
        assert!(e.contains("slack/kpi_digest.json") && e.contains('2'), "{e}");
        let e = t.email(Template::CustomerBegin, &serde_json::json!({})).unwrap_err().0;
        assert!(e.contains("email/customer_begin.subject.txt"), "{e}");
    }
}
