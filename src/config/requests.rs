//! `config/service_requests.toml`: the request kinds of `001_*` and the
//! transaction kinds of `002_*` as a desk writes them. Every mistake is
//! reported with the file and line.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use strum::VariantNames;

use crate::domain::service::request::{
    Disposition, Field, FieldType, KindPolicy, OrderApprovers, RequestAction, RequestKind, RequestPolicy,
    TransactionKind, TransactionPolicy,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    options: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindFile {
    name: String,
    label: String,
    #[serde(default)]
    action: RequestAction,
    fields: Vec<FieldFile>,
    #[serde(default = "yes")]
    billable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransactionFile {
    name: String,
    label: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproversFile {
    desk: String,
    #[serde(default)]
    agencies: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    horizon_days: u32,
    #[serde(default)]
    approvers: Option<ApproversFile>,
    kinds: Vec<Spanned<KindFile>>,
    transactions: Vec<Spanned<TransactionFile>>,
}

/// Reads and checks a policy; the error is one line naming file and line.
pub fn load(path: &Path) -> Result<RequestPolicy, String> {
    super::load_policy(path, parse)
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn field(f: FieldFile) -> Result<Field, String> {
    if !is_name(&f.name) {
        return Err(format!("field '{}': a name is lowercase letters, digits and _", f.name));
    }
    let kind = match (f.kind.as_str(), f.options.is_empty()) {
        ("text", true) => FieldType::Text,
        ("email", true) => FieldType::Email,
        ("serials", true) => FieldType::Serials,
        ("confirm", true) => FieldType::Confirm,
        ("choice", false) => FieldType::Choice(f.options),
        ("choice", true) => return Err(format!("field '{}': a choice needs options", f.name)),
        (other, _) => {
            return Err(format!(
                "field '{}': '{other}' is not a field type (text, email, serials, confirm, choice with options)",
                f.name
            ));
        }
    };
    Ok(Field { name: f.name, label: f.label, kind })
}

fn kind(k: KindFile) -> Result<KindPolicy, String> {
    if !is_name(&k.name) {
        return Err(format!("kind '{}': a name is lowercase letters, digits and _", k.name));
    }
    let fields = k.fields.into_iter().map(field).collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    if let Some(f) = fields.iter().find(|f| !seen.insert(&f.name)) {
        return Err(format!("kind '{}': field '{}' is named twice", k.name, f.name));
    }
    for read in k.action.reads() {
        if !fields.iter().any(|f| f.name == *read) {
            return Err(format!("kind '{}': a {} request needs a field '{read}'", k.name, k.action));
        }
    }
    if k.action == RequestAction::Decommission {
        let ok = fields.iter().any(|f| {
            f.name == "disposition"
                && matches!(&f.kind, FieldType::Choice(o) if o.iter().all(|v| v.parse::<Disposition>().is_ok()))
        });
        if !ok {
            let known = Disposition::VARIANTS.join(", ");
            return Err(format!("kind '{}': 'disposition' is a choice of {known}", k.name));
        }
    }
    Ok(KindPolicy { name: RequestKind(k.name), label: k.label, action: k.action, fields, billable: k.billable })
}

/// The policy in `text`; errors start with the line (`12: …`).
pub fn parse(text: &str) -> Result<RequestPolicy, String> {
    let file: File = super::from_toml(text)?;
    if file.horizon_days == 0 {
        return Err("1: horizon_days is at least 1".into());
    }
    let mut kinds: Vec<KindPolicy> = Vec::new();
    for k in file.kinds {
        let at = super::line(text, k.span().start);
        let k = kind(k.into_inner()).map_err(|e| format!("{at}: {e}"))?;
        if kinds.iter().any(|o| o.name == k.name) {
            return Err(format!("{at}: kind '{}' is named twice", k.name));
        }
        kinds.push(k);
    }
    let mut transactions: Vec<TransactionPolicy> = Vec::new();
    for t in file.transactions {
        let at = super::line(text, t.span().start);
        let t = t.into_inner();
        if !is_name(&t.name) || transactions.iter().any(|o| o.name.0 == t.name) {
            return Err(format!("{at}: transaction '{}' is not a name, or is named twice", t.name));
        }
        transactions.push(TransactionPolicy { name: TransactionKind(t.name), label: t.label });
    }
    if !transactions.iter().any(|t| t.name == TransactionKind::refresh()) {
        return Err(format!(
            "1: [[transactions]] needs '{}', which completed refreshes record",
            TransactionKind::refresh()
        ));
    }
    let approvers = file.approvers.map(|a| OrderApprovers { desk: a.desk, agencies: a.agencies });
    let approvers = match approvers {
        Some(a) if a.desk.trim().is_empty() => return Err("1: [approvers] desk names a directory group".into()),
        Some(a) => a,
        None if kinds.iter().any(|k| k.action == RequestAction::Order) => {
            return Err("1: an order kind needs [approvers] (the desk's group and each agency's)".into());
        }
        None => OrderApprovers::default(),
    };
    Ok(RequestPolicy { kinds, transactions, approvers, horizon_days: file.horizon_days })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/service_requests.toml");

    #[test]
    fn the_shipped_policy_has_the_three_requests_of_001() {
        let p = parse(SHIPPED).unwrap();
        let names: Vec<&str> = p.kinds.iter().map(|k| k.name.0.as_str()).collect();
        assert_eq!(names, ["order_new_device", "move_reassign_device", "decommission_device"]);
        assert_eq!(p.kind("order_new_device").unwrap().action, RequestAction::Order);
        assert!(p.transaction("hardware_repair").is_ok());
        assert!(p.transaction("fax_repair").unwrap_err().contains("hardware_repair"));
        assert_eq!(p.horizon_days, 120);
    }

    #[test]
    fn mistakes_name_their_line() {
        let bad = |from: &str, to: &str| parse(&SHIPPED.replacen(from, to, 1)).unwrap_err();
        let line_of = |needle: &str| SHIPPED[..SHIPPED.find(needle).unwrap()].matches('\n').count() + 1;
        let e = bad("type = \"email\"", "type = \"phone\"");
        assert!(e.starts_with(&format!("{}: ", line_of("name = \"move_reassign_device\"") - 1)), "{e}");
        assert!(e.contains("'phone' is not a field type"), "{e}");
        let e = bad("{ name = \"new_location\"", "{ name = \"room\"");
        assert!(e.contains("needs a field 'new_location'"), "{e}");
        let e = bad("\"disaster_reserve\", \"surplus\"]", "\"landfill\"]");
        assert!(e.contains("'disposition' is a choice"), "{e}");
        let e = bad("name = \"refresh\"", "name = \"refreshes\"");
        assert!(e.contains("needs 'refresh'"), "{e}");
        let e = bad("[approvers]\ndesk = \"EUC approvers\"", "[approvers]\ndesk = \"\"");
        assert!(e.contains("desk names a directory group"), "{e}");
    }
}
