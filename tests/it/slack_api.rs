//! The Slack channel's Web API calls against the fake Slack, in Slack's JSON.

use deskbell::channels::SendError;
use deskbell::channels::slack::SlackChannel;
use deskbell::domain::Email;
use deskbell::templates::RenderedSlack;
use serde_json::json;

use crate::support::fake_slack::{FakeSlack, TOKEN};

fn msg(text: &str) -> RenderedSlack {
    RenderedSlack {
        text: text.into(),
        blocks: vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})],
    }
}

#[tokio::test]
async fn post_update_respond_and_lookup() {
    let fake = FakeSlack::start().await;
    let slack = SlackChannel::api(&fake.url, TOKEN);

    let id = slack.post("C0NORTH01", &msg("Approval needed: R-1"), "R-1/approval_request/1").await.unwrap();
    assert_eq!(fake.posted()[0].key.as_deref(), Some("R-1/approval_request/1"), "the key rides as metadata");
    let (channel, ts) = id.split_once(':').unwrap();
    slack.update(channel, ts, &msg("Approved by Ann at 10:42")).await.unwrap();
    assert_eq!(fake.updated(), [(channel.to_owned(), ts.to_owned(), "Approved by Ann at 10:42".to_owned())]);

    slack.respond(&fake.response_url("T1"), &msg("Done"), true).await.unwrap();
    let responses = fake.responses();
    assert_eq!((responses[0]["text"].as_str(), responses[0]["replace_original"].as_bool()), (Some("Done"), Some(true)));

    let ann = slack.lookup_by_email(&Email::parse("ann@example.edu").unwrap()).await.unwrap();
    assert_eq!(ann.unwrap().as_str(), "UANN00001");
    assert_eq!(slack.lookup_by_email(&Email::parse("nobody@example.edu").unwrap()).await.unwrap(), None);
}

#[tokio::test]
async fn a_bad_token_is_a_permanent_error() {
    let fake = FakeSlack::start().await;
    let slack = SlackChannel::api(&fake.url, "xoxb-wrong");
    assert_eq!(slack.post("C0NORTH01", &msg("hi"), "k").await, Err(SendError::Permanent("not_authed".into())));
}
