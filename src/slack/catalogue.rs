//! The slash-command catalogue (`commands/commands.toml`), built into the
//! binary: the Slack app manifest and `/deskbell help` are made from it, so
//! what Slack offers, what help says and what deskbell answers agree.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub command: String,
    pub usage: String,
    pub description: String,
    pub who: Who,
    /// Slack sends mentions in the text as user ids (`<@U123|dee>`).
    #[serde(default)]
    pub mentions: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    Staff,
    RefreshManagers,
    Approvers,
}

#[derive(Deserialize)]
struct Catalogue {
    command: Vec<Entry>,
}

pub static COMMANDS: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let c: Catalogue =
        toml::from_str(include_str!("../../commands/commands.toml")).expect("commands/commands.toml is valid");
    c.command
});

/// `/deskbell help`, as mrkdwn.
pub fn help() -> String {
    let lines: Vec<String> = COMMANDS
        .iter()
        .map(|c| {
            let who = match c.who {
                Who::Staff => "",
                Who::RefreshManagers => " _(refresh managers and admins)_",
                Who::Approvers => " _(approvers)_",
            };
            format!("• `{} {}`: {}{who}", c.command, c.usage, c.description)
        })
        .collect();
    format!(
        "*deskbell commands*\n{}\nApproval requests, slot invitations and escalation pings carry their own buttons.",
        lines.join("\n")
    )
}

/// The Slack app manifest for a deskbell reachable at `public_url`, or,
/// with `socket_mode` (an app token configured), reached over Socket Mode
/// with no request URLs at all.
pub fn manifest(public_url: &str, socket_mode: bool) -> String {
    #[derive(Serialize)]
    struct SlashCommand<'a> {
        command: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        description: &'a str,
        usage_hint: &'a str,
        should_escape: bool,
    }
    let base = public_url.trim_end_matches('/');
    let at = |path: &str| (!socket_mode).then(|| format!("{base}{path}"));
    let commands: Vec<SlashCommand> = COMMANDS
        .iter()
        .map(|c| SlashCommand {
            command: &c.command,
            url: at("/slack/commands"),
            description: &c.description,
            usage_hint: &c.usage,
            should_escape: c.mentions,
        })
        .collect();
    let mut manifest = json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": "deskbell",
            "description": "Device refresh and service desk notifications, approvals and escalations",
        },
        "features": {
            "bot_user": { "display_name": "deskbell", "always_online": true },
            "app_home": { "home_tab_enabled": true, "messages_tab_enabled": true, "messages_tab_read_only_enabled": true },
            "slash_commands": commands,
        },
        "oauth_config": {
            "scopes": { "bot": ["chat:write", "chat:write.public", "commands", "im:write", "users:read", "users:read.email"] },
        },
        "settings": {
            "event_subscriptions": { "bot_events": ["app_home_opened", "team_join", "user_change"] },
            "interactivity": { "is_enabled": true },
            "org_deploy_enabled": false,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": false,
        },
    });
    if let (Some(events), Some(clicks)) = (at("/slack/events"), at("/slack/interactions")) {
        manifest["settings"]["event_subscriptions"]["request_url"] = events.into();
        manifest["settings"]["interactivity"]["request_url"] = clicks.into();
    }
    let header = "# Generated from commands/commands.toml by `deskbell manifest`; do not edit.\n";
    header.to_owned() + &serde_norway::to_string(&manifest).expect("the manifest serializes")
}

/// The URL the checked-in manifest is generated for; admins generate their
/// own with `deskbell manifest --public-url`.
pub const EXAMPLE_URL: &str = "https://deskbell.example.edu";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_manifest_is_generated_from_the_catalogue() {
        let shipped = include_str!("../../commands/manifest.yml");
        assert!(
            shipped == manifest(EXAMPLE_URL, false),
            "commands/manifest.yml is stale: run `cargo run -- manifest --public-url {EXAMPLE_URL} > commands/manifest.yml`"
        );
        let parsed: serde_json::Value = serde_norway::from_str(shipped).unwrap();
        let commands = parsed["features"]["slash_commands"].as_array().unwrap();
        assert_eq!(commands.len(), COMMANDS.len());
        assert_eq!(commands[0]["url"], "https://deskbell.example.edu/slack/commands");
    }

    #[test]
    fn with_socket_mode_the_manifest_has_no_request_urls() {
        let text = manifest(EXAMPLE_URL, true);
        assert!(!text.contains("https://"), "{text}");
        let parsed: serde_json::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(parsed["settings"]["socket_mode_enabled"], true);
        assert_eq!(parsed["features"]["slash_commands"].as_array().unwrap().len(), COMMANDS.len());
    }

    #[test]
    fn help_lists_every_command() {
        let help = help();
        for c in COMMANDS.iter() {
            assert!(help.contains(&format!("`{} {}`", c.command, c.usage)), "{help}");
        }
    }
}
