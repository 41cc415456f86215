//! Slack through slack-morphism's Web API client. The API base URL comes
//! from config so tests and staging point it at a local server. Without a
//! bot token (the demo) messages are appended to a JSON-lines file instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::SendError;
use crate::domain::{Email, SlackUserId as DeskbellSlackUserId};
use crate::templates::RenderedSlack;

type Client = slack_morphism::SlackClient<SlackClientHyperHttpsConnector>;

pub enum SlackChannel {
    Api {
        client: Arc<Client>,
        token: SlackApiToken,
        /// User id → DM channel id, so each DM is opened once.
        dms: Mutex<HashMap<String, SlackChannelId>>,
    },
    Log(PathBuf),
}

/// Slack error codes that no retry can fix.
const PERMANENT: &[&str] = &[
    "channel_not_found",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "is_archived",
    "not_in_channel",
    "user_not_found",
    "users_not_found",
    "cannot_dm_bot",
    "missing_scope",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "restricted_action",
];

fn classify(e: SlackClientError) -> SendError {
    match e {
        SlackClientError::RateLimitError(r) => {
            SendError::RateLimited { retry_after: r.retry_after.unwrap_or(Duration::from_secs(1)) }
        }
        SlackClientError::ApiError(api) if PERMANENT.contains(&api.code.as_str()) => SendError::Permanent(api.code),
        SlackClientError::ApiError(api) => SendError::Transient(api.code),
        SlackClientError::HttpError(h) if h.status_code.is_client_error() => {
            SendError::Permanent(format!("HTTP {}", h.status_code))
        }
        other => SendError::Transient(other.to_string()),
    }
}

impl SlackChannel {
    /// A client for `api_url` (https in production, http for a local server).
    pub fn api(api_url: &str, bot_token: &str) -> Self {
        // The crypto provider named, not the process default: another crate
        // in the build may enable a second one (net.rs does the same).
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports rustls' default protocol versions")
            .https_or_http()
            .enable_http1()
            .build();
        let connector = SlackClientHyperConnector::from(https).with_slack_api_url(api_url.trim_end_matches('/'));
        Self::Api {
            client: Arc::new(slack_morphism::SlackClient::new(connector)),
            token: SlackApiToken::new(bot_token.into()),
            dms: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the token works (`auth.test`): the workspace and bot it names.
    pub async fn check(&self) -> Result<String, SendError> {
        match self {
            Self::Api { client, token, .. } => {
                let me = client.open_session(token).auth_test().await.map_err(classify)?;
                Ok(format!("ok: {} in {}", me.user.unwrap_or_default(), me.team))
            }
            Self::Log(path) => Ok(format!("not configured: messages go to {}", path.display())),
        }
    }

    /// Posts to a channel id, or to a user's DM for a user id. Returns
    /// `channel:ts`, what `chat.update` needs to edit the message later.
    /// Posts `msg` to a channel or a person's DM; `key` (the outbox row's
    /// dedupe key) rides along as message metadata, so a message posted
    /// twice is recognisably the same one.
    pub async fn post(&self, to: &str, msg: &RenderedSlack, key: &str) -> Result<String, SendError> {
        let (client, token, dms) = match self {
            Self::Api { client, token, dms } => (client, token, dms),
            Self::Log(path) => return log(path, "post", to, msg).await,
        };
        let session = client.open_session(token);
        let channel = conversation(&session, dms, to).await?;
        let mut content = content(msg)?;
        content.metadata = Some(SlackMessageMetadata {
            event_type: "deskbell_message".into(),
            event_payload: Some([("key".to_owned(), key.to_owned())].into()),
        });
        let req = SlackApiChatPostMessageRequest::new(channel, content);
        let resp = session.chat_post_message(&req).await.map_err(classify)?;
        Ok(crate::domain::SlackMessageRef { channel: resp.channel.to_string(), ts: resp.ts.to_string() }.to_string())
    }

    /// Shares `file` in a channel or a person's DM with `msg` as its message
    /// (files.getUploadURLExternal, the upload, files.completeUploadExternal).
    /// Returns `file:ID`.
    pub async fn share(&self, to: &str, msg: &RenderedSlack, file: &Attachment) -> Result<String, SendError> {
        let (client, token, dms) = match self {
            Self::Api { client, token, dms } => (client, token, dms),
            // The log keeps the file's name and text after the message's.
            Self::Log(path) => {
                let shared =
                    RenderedSlack { text: format!("{}\n[{}]\n{}", msg.text, file.name, file.content), ..msg.clone() };
                return log(path, "share", to, &shared).await;
            }
        };
        let session = client.open_session(token);
        let channel = conversation(&session, dms, to).await?;
        let bytes = file.content.as_bytes();
        let asked = SlackApiFilesGetUploadUrlExternalRequest::new(file.name.clone(), bytes.len());
        let place = session.get_upload_url_external(&asked).await.map_err(classify)?;
        let upload = SlackApiFilesUploadViaUrlRequest::new(place.upload_url, bytes.to_vec(), "text/csv".into());
        session.files_upload_via_url(&upload).await.map_err(classify)?;
        let shared = SlackApiFilesComplete::new(place.file_id.clone()).with_title(file.name.clone());
        let blocks = content(msg)?.blocks.unwrap_or_default();
        let req =
            SlackApiFilesCompleteUploadExternalRequest::new(vec![shared]).with_channel_id(channel).with_blocks(blocks);
        session.files_complete_upload_external(&req).await.map_err(classify)?;
        Ok(format!("file:{}", place.file_id))
    }

    /// Replaces a posted message in place (`chat.update`), e.g. an approval
    /// request once someone decided it.
    pub async fn update(&self, channel: &str, ts: &str, msg: &RenderedSlack) -> Result<(), SendError> {
        let (client, token) = match self {
            Self::Api { client, token, .. } => (client, token),
            Self::Log(path) => return log(path, "update", channel, msg).await.map(drop),
        };
        let req = SlackApiChatUpdateRequest::new(channel.into(), content(msg)?, ts.into());
        client.open_session(token).chat_update(&req).await.map_err(classify)?;
        Ok(())
    }

    /// Answers an interaction through its `response_url`.
    pub async fn respond(
        &self,
        response_url: &str,
        msg: &RenderedSlack,
        replace_original: bool,
    ) -> Result<(), SendError> {
        let client = match self {
            Self::Api { client, .. } => client,
            Self::Log(path) => return log(path, "respond", response_url, msg).await.map(drop),
        };
        let url = response_url.parse().map_err(|e| SendError::Permanent(format!("bad response_url: {e}")))?;
        let req = SlackApiPostWebhookMessageRequest::new(content(msg)?).with_replace_original(replace_original);
        client.respond_to_event(&SlackResponseUrl::new(url), &req).await.map_err(classify)?;
        Ok(())
    }

    /// Opens a modal (`views.open`) for the interaction `trigger_id` came
    /// with; Slack honours it for three seconds, so this is called inline.
    pub async fn open_view(&self, trigger_id: &str, view: &serde_json::Value) -> Result<(), SendError> {
        let mut view = view.clone();
        crate::slack::limits::fit_view(&mut view, "see the ticket with /ticket");
        let view = &view;
        let (client, token) = match self {
            Self::Api { client, token, .. } => (client, token),
            Self::Log(path) => {
                let msg = RenderedSlack { text: "modal".into(), blocks: vec![view.clone()] };
                return log(path, "views.open", trigger_id, &msg).await.map(drop);
            }
        };
        let req = SlackApiViewsOpenRequest::new(trigger_id.into(), block_kit(view)?);
        client.open_session(token).views_open(&req).await.map_err(classify)?;
        Ok(())
    }

    /// Publishes a person's App Home (`views.publish`).
    pub async fn publish_home(&self, user: &str, view: &serde_json::Value) -> Result<(), SendError> {
        let (client, token) = match self {
            Self::Api { client, token, .. } => (client, token),
            Self::Log(path) => {
                let msg = RenderedSlack { text: "home".into(), blocks: vec![view.clone()] };
                return log(path, "views.publish", user, &msg).await.map(drop);
            }
        };
        let req = SlackApiViewsPublishRequest::new(SlackUserId::new(user.into()), block_kit(view)?);
        client.open_session(token).views_publish(&req).await.map_err(classify)?;
        Ok(())
    }

    /// The Slack user with this email, to map staff to Slack ids.
    pub async fn lookup_by_email(&self, email: &Email) -> Result<Option<DeskbellSlackUserId>, SendError> {
        let Self::Api { client, token, .. } = self else {
            return Ok(None);
        };
        let req = SlackApiUsersLookupByEmailRequest::new(EmailAddress(email.to_string()));
        match client.open_session(token).users_lookup_by_email(&req).await {
            Ok(resp) => Ok(DeskbellSlackUserId::parse(resp.user.id.as_ref()).ok()),
            Err(SlackClientError::ApiError(api)) if api.code == "users_not_found" => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }
}

/// A file a message carries (the lifecycle job's refresh batch).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content: String,
}

/// The channel to post to: a channel id as given, a user's DM (opened
/// once, then remembered).
async fn conversation(
    session: &SlackClientSession<'_, SlackClientHyperHttpsConnector>,
    dms: &Mutex<HashMap<String, SlackChannelId>>,
    to: &str,
) -> Result<SlackChannelId, SendError> {
    if !to.starts_with(['U', 'W']) {
        return Ok(SlackChannelId::new(to.into()));
    }
    if let Some(c) = dms.lock().await.get(to).cloned() {
        return Ok(c);
    }
    let req = SlackApiConversationsOpenRequest::new().with_users(vec![SlackUserId::new(to.into())]);
    let opened = session.conversations_open(&req).await.map_err(classify)?;
    dms.lock().await.insert(to.to_owned(), opened.channel.id.clone());
    Ok(opened.channel.id)
}

/// A view as the Web API types it; one that is not Block Kit cannot be sent.
fn block_kit(view: &serde_json::Value) -> Result<SlackView, SendError> {
    serde_json::from_value(view.clone())
        .map_err(|e| SendError::Permanent(format!("view does not match Block Kit: {e}")))
}

/// The demo's stand-in for Slack: one JSON line per call.
async fn log(path: &Path, action: &str, to: &str, msg: &RenderedSlack) -> Result<String, SendError> {
    let line =
        serde_json::json!({ "action": action, "to": to, "text": msg.text, "blocks": msg.blocks }).to_string() + "\n";
    let fail = |e: std::io::Error| SendError::Transient(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(fail)?;
    }
    let mut f = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await.map_err(fail)?;
    f.write_all(line.as_bytes()).await.map_err(fail)?;
    tracing::info!(action, to, text = %msg.text, "slack message (log only: no bot token configured)");
    Ok(format!("log:{to}"))
}

fn content(msg: &RenderedSlack) -> Result<SlackMessageContent, SendError> {
    let blocks: Vec<SlackBlock> = serde_json::from_value(serde_json::Value::Array(msg.blocks.clone()))
        .map_err(|e| SendError::Permanent(format!("blocks do not match Block Kit: {e}")))?;
    Ok(SlackMessageContent::new().with_text(msg.text.clone()).with_blocks(blocks))
}
