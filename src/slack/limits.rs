//! Slack's documented Block Kit limits (api.slack.com/reference/block-kit):
//! a message Slack rejects is a message nobody sees, so every message and
//! modal is fitted to them before it leaves: over-long texts are cut with
//! "…", surplus blocks, buttons and options are dropped with a note of how
//! many were left out.

use serde_json::{Value, json};

/// Blocks in one message, and in one modal or Home view.
pub const MESSAGE_BLOCKS: usize = 50;
pub const VIEW_BLOCKS: usize = 100;
/// A section's text.
pub const SECTION_TEXT: usize = 3000;
const FIELD_TEXT: usize = 2000;
const FIELDS: usize = 10;
const HEADER_TEXT: usize = 150;
const BUTTON_TEXT: usize = 75;
const OPTION_TEXT: usize = 75;
const OPTIONS: usize = 100;
const ACTION_ELEMENTS: usize = 25;
const CONTEXT_ELEMENTS: usize = 10;
const CONTEXT_TEXT: usize = 2000;
const LABEL_TEXT: usize = 2000;
const VIEW_TITLE: usize = 24;
/// The notification text beside the blocks (Slack cuts longer ones itself;
/// deskbell keeps it short).
pub const FALLBACK_TEXT: usize = 3000;

/// `text` cut to `max` characters, the last one an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    text.chars().take(max.saturating_sub(1)).chain(['…']).collect()
}

fn cut_text(obj: &mut Value, max: usize) {
    if let Some(Value::String(s)) = obj.get_mut("text") {
        *s = cut(s, max);
    }
}

fn cut_list(list: Option<&mut Value>, max: usize) -> usize {
    match list {
        Some(Value::Array(items)) if items.len() > max => {
            let left = items.len() - max;
            items.truncate(max);
            left
        }
        _ => 0,
    }
}

/// One block fitted; how many of its buttons or options were left out.
fn fit_block(block: &mut Value) -> usize {
    let mut left = 0;
    match block["type"].as_str() {
        Some("section") => {
            cut_text(&mut block["text"], SECTION_TEXT);
            left += cut_list(block.get_mut("fields"), FIELDS);
            if let Some(Value::Array(fields)) = block.get_mut("fields") {
                fields.iter_mut().for_each(|f| cut_text(f, FIELD_TEXT));
            }
            if let Some(accessory) = block.get_mut("accessory") {
                left += fit_element(accessory);
            }
        }
        Some("header") => cut_text(&mut block["text"], HEADER_TEXT),
        Some("context") => {
            left += cut_list(block.get_mut("elements"), CONTEXT_ELEMENTS);
            if let Some(Value::Array(els)) = block.get_mut("elements") {
                els.iter_mut().for_each(|e| cut_text(e, CONTEXT_TEXT));
            }
        }
        Some("actions") => {
            left += cut_list(block.get_mut("elements"), ACTION_ELEMENTS);
            if let Some(Value::Array(els)) = block.get_mut("elements") {
                left += els.iter_mut().map(fit_element).sum::<usize>();
            }
        }
        Some("input") => {
            cut_text(&mut block["label"], LABEL_TEXT);
            if let Some(element) = block.get_mut("element") {
                left += fit_element(element);
            }
        }
        _ => {}
    }
    left
}

/// A button or a select fitted.
fn fit_element(element: &mut Value) -> usize {
    if element["type"] == "button" {
        cut_text(&mut element["text"], BUTTON_TEXT);
    }
    let mut left = cut_list(element.get_mut("options"), OPTIONS);
    if let Some(Value::Array(groups)) = element.get_mut("option_groups") {
        let mut room = OPTIONS;
        for g in groups.iter_mut() {
            left += cut_list(g.get_mut("options"), room);
            room -= g["options"].as_array().map_or(0, Vec::len);
        }
        groups.retain(|g| g["options"].as_array().is_some_and(|o| !o.is_empty()));
    }
    for option in ["options", "option_groups"] {
        if let Some(Value::Array(items)) = element.get_mut(option) {
            for item in items.iter_mut() {
                cut_text(&mut item["text"], OPTION_TEXT);
                if let Some(Value::Array(inner)) = item.get_mut("options") {
                    inner.iter_mut().for_each(|o| cut_text(&mut o["text"], OPTION_TEXT));
                }
            }
        }
    }
    left
}

/// Fits a message's or view's blocks, at most `max_blocks` of them; what
/// had to go is counted in a last line pointing to `more` (e.g. `deskbell
/// show S-4`).
pub fn fit(blocks: &mut Vec<Value>, max_blocks: usize, more: &str) {
    let mut left = 0;
    if blocks.len() > max_blocks {
        left += blocks.len() - (max_blocks - 1);
        blocks.truncate(max_blocks - 1);
    }
    left += blocks.iter_mut().map(fit_block).sum::<usize>();
    if left > 0 {
        let note = format!("… and {left} more ({more})");
        blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": note }] }));
    }
}

/// A modal or Home view fitted (its title and its blocks).
pub fn fit_view(view: &mut Value, more: &str) {
    for key in ["title", "submit", "close"] {
        cut_text(&mut view[key], VIEW_TITLE);
    }
    if let Some(Value::Array(blocks)) = view.get_mut("blocks") {
        let mut owned = std::mem::take(blocks);
        fit(&mut owned, VIEW_BLOCKS, more);
        *blocks = owned;
    }
}

/// Every limit `blocks` breaks, as words (for tests of worst cases).
pub fn broken(blocks: &[Value], max_blocks: usize) -> Vec<String> {
    let mut fitted = blocks.to_vec();
    fit(&mut fitted, max_blocks, "");
    if fitted == blocks {
        Vec::new()
    } else {
        vec![format!("{} blocks over Slack's limits: {}", blocks.len(), Value::Array(blocks.to_vec()))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_many_blocks_and_buttons_are_cut_with_a_note() {
        let long = "x".repeat(5381);
        let mut blocks: Vec<Value> = (0..60)
            .map(|i| json!({ "type": "section", "text": { "type": "mrkdwn", "text": if i == 0 { long.clone() } else { format!("line {i}") } } }))
            .collect();
        blocks.push(json!({ "type": "actions", "elements": (0..30).map(|i| json!({
            "type": "button", "action_id": format!("b{i}"), "text": { "type": "plain_text", "text": "y".repeat(100) }
        })).collect::<Vec<_>>() }));
        assert!(!broken(&blocks, MESSAGE_BLOCKS).is_empty());
        fit(&mut blocks, MESSAGE_BLOCKS, "deskbell show S-4");
        assert_eq!(blocks.len(), MESSAGE_BLOCKS);
        assert_eq!(blocks[0]["text"]["text"].as_str().unwrap().chars().count(), SECTION_TEXT);
        assert!(blocks[0]["text"]["text"].as_str().unwrap().ends_with('…'));
        let note = blocks.last().unwrap()["elements"][0]["text"].as_str().unwrap();
        assert_eq!(note, "… and 12 more (deskbell show S-4)", "11 sections and the block of buttons left out");
        assert!(broken(&blocks, MESSAGE_BLOCKS).is_empty(), "fitted blocks break nothing");
    }

    #[test]
    fn cutting_counts_characters_not_bytes() {
        assert_eq!(cut("héllo wörld", 5), "héll…");
        assert_eq!(cut("short", 5), "short");
    }
}
