//! What a customer answers on the refresh page (`000_*`, "Styles" and
//! "Options"): where the refresh happens, which device, which peripherals
//! and software — and whether that needs an approver, which is decided
//! here from the answers, the ticket and its config, never by the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Platform, RefreshTicket, Style};
use crate::domain::{ApprovedModel, RefreshConfig};

/// The longest free text a field takes; longer is refused, not cut.
pub const MAX_TEXT: usize = 200;
/// The longest reason a customer gives.
pub const MAX_REASON: usize = 1000;

/// The device the customer settles on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "choice", rename_all = "snake_case")]
pub enum DeviceChoice {
    /// The proposed model, as it is.
    #[default]
    Proposed,
    /// Another of the config's approved models (*can customize computer*),
    /// instead of the one proposed.
    Model {
        model: String,
        platform: Platform,
        #[serde(default)]
        proposed: Option<String>,
    },
    /// None of the approved models is adequate (*can customize computer*).
    NoneAdequate { reason: String },
    /// The proposed model is not adequate (*can request different device*).
    ProposedNotAdequate { reason: String },
}

/// A customer's answers, as the ticket keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardAnswers {
    /// On-prem: where the system is (confirmed or changed).
    pub location: Option<String>,
    /// Remote: where the vendor ships to.
    pub shipping_address: Option<ShippingAddress>,
    pub device: DeviceChoice,
    pub peripherals: Vec<String>,
    pub software: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub street: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
}

impl std::fmt::Display for ShippingAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}, {} {}", self.street, self.city, self.state, self.postal_code)
    }
}

/// The page's form as posted: every field as typed. `device` is
/// `proposed`, `model:<name>`, `none` or `not_adequate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WizardForm {
    pub location: String,
    pub street: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub device: String,
    pub reason: String,
    pub peripherals: Vec<String>,
    pub software: Vec<String>,
}

/// Every field's problem, by the field's name in the form.
pub type FieldErrors = BTreeMap<&'static str, String>;

impl RefreshConfig {
    /// The model proposed for `ticket`: the config's first approved model
    /// of the existing system's platform.
    pub fn proposed_model(&self, ticket: &RefreshTicket) -> Option<&ApprovedModel> {
        self.approved_models.iter().find(|m| m.platform == ticket.existing.platform)
    }

    /// The models the customer may choose among (beside the proposed one).
    pub fn model_choices(&self, ticket: &RefreshTicket) -> Vec<&ApprovedModel> {
        let o = &self.options;
        if !o.can_customize_computer {
            return Vec::new();
        }
        let platform = ticket.existing.platform;
        self.approved_models.iter().filter(|m| o.can_customize_platform || m.platform == platform).collect()
    }
}

impl WizardForm {
    /// What the form says, checked against what this ticket's customer may
    /// ask for; otherwise every field's problem.
    pub fn answers(&self, ticket: &RefreshTicket, config: &RefreshConfig) -> Result<WizardAnswers, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut text = |field: &'static str, value: &str, max: usize| {
            let v = value.trim();
            if v.is_empty() {
                errors.insert(field, "Please fill this in.".into());
            } else if v.chars().count() > max {
                errors.insert(field, format!("Please keep this under {max} characters."));
            }
            v.to_owned()
        };
        let (location, shipping_address) = match ticket.style {
            Style::OnPrem => (Some(text("location", &self.location, MAX_TEXT)), None),
            Style::UnitSpecifiedLocation => (None, None),
            Style::RemoteCustomer => {
                let address = ShippingAddress {
                    street: text("street", &self.street, MAX_TEXT),
                    city: text("city", &self.city, 100),
                    state: text("state", &self.state, 100),
                    postal_code: text("postal_code", &self.postal_code, 12),
                };
                (None, Some(address))
            }
        };
        if let Some(a) = &shipping_address {
            let ok = a.postal_code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
            if !a.postal_code.is_empty() && !errors.contains_key("postal_code") && !ok {
                errors.insert("postal_code", "Please use letters, digits, spaces and dashes only.".into());
            }
        }
        let device = self.device(ticket, config, &mut errors);
        let peripherals = self.peripherals(config, &mut errors);
        let software = self.chosen("software", &self.software, &config.software, config.options.can_customize_software);
        let software = software.unwrap_or_else(|why| {
            errors.insert("software", why);
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WizardAnswers { location, shipping_address, device, peripherals, software })
    }

    fn device(&self, ticket: &RefreshTicket, config: &RefreshConfig, errors: &mut FieldErrors) -> DeviceChoice {
        let o = &config.options;
        let reason = self.reason.trim();
        let mut with_reason = |choice: fn(String) -> DeviceChoice| {
            if reason.is_empty() {
                errors.insert("reason", "Please say why, for the approver.".into());
            } else if reason.chars().count() > MAX_REASON {
                errors.insert("reason", format!("Please keep this under {MAX_REASON} characters."));
            }
            choice(reason.to_owned())
        };
        match self.device.as_str() {
            "" | "proposed" => DeviceChoice::Proposed,
            "none" if o.can_customize_computer => with_reason(|reason| DeviceChoice::NoneAdequate { reason }),
            "not_adequate" if !o.can_customize_computer && o.can_request_different_device => {
                with_reason(|reason| DeviceChoice::ProposedNotAdequate { reason })
            }
            other => match other.strip_prefix("model:") {
                Some(name) => match config.model_choices(ticket).into_iter().find(|m| m.model == name) {
                    Some(m) if Some(m) == config.proposed_model(ticket) => DeviceChoice::Proposed,
                    Some(m) => DeviceChoice::Model {
                        model: m.model.clone(),
                        platform: m.platform,
                        proposed: config.proposed_model(ticket).map(|p| p.model.clone()),
                    },
                    None => {
                        errors.insert("device", "Please choose one of the models listed.".into());
                        DeviceChoice::Proposed
                    }
                },
                None => {
                    errors.insert("device", "Please choose one of the options listed.".into());
                    DeviceChoice::Proposed
                }
            },
        }
    }

    fn peripherals(&self, config: &RefreshConfig, errors: &mut FieldErrors) -> Vec<String> {
        if !config.options.can_customize_peripherals {
            // Shown, not chosen: the bundle is what comes.
            return config.peripheral_bundle.clone();
        }
        let catalogue: Vec<String> = config.peripheral_bundle.iter().chain(&config.peripherals).cloned().collect();
        self.chosen("peripherals", &self.peripherals, &catalogue, true).unwrap_or_else(|why| {
            errors.insert("peripherals", why);
            Vec::new()
        })
    }

    /// The items picked from `catalogue`, each once, in the catalogue's order.
    fn chosen(
        &self,
        what: &str,
        picked: &[String],
        catalogue: &[String],
        allowed: bool,
    ) -> Result<Vec<String>, String> {
        if !allowed {
            return if picked.is_empty() { Ok(Vec::new()) } else { Err(format!("No {what} can be requested here.")) };
        }
        if let Some(stranger) = picked.iter().find(|p| !catalogue.contains(p)) {
            let shown: String = stranger.chars().take(40).collect();
            return Err(format!("\u{201c}{shown}\u{201d} is not in the catalogue."));
        }
        Ok(catalogue.iter().filter(|c| picked.contains(c)).cloned().collect())
    }
}

impl WizardAnswers {
    /// Whether an approver must agree (`000_*`): another model or platform
    /// than proposed, a device called inadequate, peripherals beyond the
    /// bundle, any software.
    pub fn needs_approval(&self, config: &RefreshConfig) -> bool {
        !matches!(self.device, DeviceChoice::Proposed)
            || self.peripherals.iter().any(|p| !config.peripheral_bundle.contains(p))
            || !self.software.is_empty()
    }

    /// The answers as staff and approvers read them, a line each: what the
    /// customer asked for beyond the proposal first.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match &self.device {
            DeviceChoice::Proposed => lines.push("Device: the proposed model".to_owned()),
            DeviceChoice::Model { model, platform, proposed } => {
                let instead =
                    proposed.as_deref().map_or("the proposed model".to_owned(), |p| format!("the proposed {p}"));
                lines.push(format!("Device: {model} ({platform}) instead of {instead}"));
            }
            DeviceChoice::NoneAdequate { reason } => {
                lines.push(format!("Device: none of the approved models is adequate: \u{201c}{reason}\u{201d}"))
            }
            DeviceChoice::ProposedNotAdequate { reason } => {
                lines.push(format!("Device: the proposed model is not adequate: \u{201c}{reason}\u{201d}"))
            }
        }
        let list = |items: &[String]| if items.is_empty() { "none".to_owned() } else { items.join(", ") };
        lines.push(format!("Peripherals: {}", list(&self.peripherals)));
        lines.push(format!("Software: {}", list(&self.software)));
        if let Some(location) = &self.location {
            lines.push(format!("Location: {location}"));
        }
        if let Some(address) = &self.shipping_address {
            lines.push(format!("Ship to: {address}"));
        }
        lines
    }

    /// The form these answers came from, to show them again for a change.
    pub fn form(&self) -> WizardForm {
        let a = self.shipping_address.clone().unwrap_or_default();
        let (device, reason) = match &self.device {
            DeviceChoice::Proposed => ("proposed".to_owned(), String::new()),
            DeviceChoice::Model { model, .. } => (format!("model:{model}"), String::new()),
            DeviceChoice::NoneAdequate { reason } => ("none".to_owned(), reason.clone()),
            DeviceChoice::ProposedNotAdequate { reason } => ("not_adequate".to_owned(), reason.clone()),
        };
        WizardForm {
            location: self.location.clone().unwrap_or_default(),
            street: a.street,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            device,
            reason,
            peripherals: self.peripherals.clone(),
            software: self.software.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{config, refresh_ticket};
    use crate::domain::{ConfigOptions, PersonId};

    fn catalogue(options: ConfigOptions) -> RefreshConfig {
        let mut c = config(&[PersonId(9)]);
        c.approved_models = vec![
            ApprovedModel { model: "Latitude 7450".into(), platform: Platform::Windows },
            ApprovedModel { model: "Precision 3591".into(), platform: Platform::Windows },
            ApprovedModel { model: "MacBook Air 13".into(), platform: Platform::Mac },
        ];
        c.peripheral_bundle = vec!["Dock".into(), "Monitor".into()];
        c.peripherals = vec!["Second monitor".into()];
        c.software = vec!["SPSS".into()];
        c.options = options;
        c
    }

    fn form(device: &str) -> WizardForm {
        WizardForm { location: "Room 12".into(), device: device.into(), ..WizardForm::default() }
    }

    #[test]
    fn the_proposed_model_and_the_bundle_need_no_approval() {
        let (t, c) = (refresh_ticket(PersonId(1)), catalogue(ConfigOptions::default()));
        let a = form("proposed").answers(&t, &c).unwrap();
        assert_eq!((a.location.as_deref(), a.peripherals.len()), (Some("Room 12"), 2));
        assert!(!a.needs_approval(&c));
        assert_eq!(c.proposed_model(&t).unwrap().model, "Latitude 7450");
    }

    #[test]
    fn choices_follow_the_configs_options() {
        let t = refresh_ticket(PersonId(1));
        let fixed = catalogue(ConfigOptions::default());
        for refused in ["model:Precision 3591", "none", "not_adequate"] {
            assert!(form(refused).answers(&t, &fixed).unwrap_err().contains_key("device"), "{refused}");
        }
        let custom = catalogue(ConfigOptions { can_customize_computer: true, ..ConfigOptions::default() });
        let other = form("model:Precision 3591").answers(&t, &custom).unwrap();
        assert!(other.needs_approval(&custom), "another model needs an approver");
        assert!(form("model:MacBook Air 13").answers(&t, &custom).is_err(), "another platform is not offered");
        let both = ConfigOptions { can_customize_computer: true, can_customize_platform: true, ..Default::default() };
        assert!(form("model:MacBook Air 13").answers(&t, &catalogue(both)).unwrap().needs_approval(&custom));
        let same = form("model:Latitude 7450").answers(&t, &custom).unwrap();
        assert_eq!(same.device, DeviceChoice::Proposed, "choosing the proposed model is no change");
        let errors = form("none").answers(&t, &custom).unwrap_err();
        assert_eq!(errors["reason"], "Please say why, for the approver.");
        let ask = catalogue(ConfigOptions { can_request_different_device: true, ..ConfigOptions::default() });
        let mut f = form("not_adequate");
        f.reason = "I run simulations all day".into();
        assert!(f.answers(&t, &ask).unwrap().needs_approval(&ask));
    }

    #[test]
    fn peripherals_and_software_come_from_the_catalogue() {
        let t = refresh_ticket(PersonId(1));
        let open =
            ConfigOptions { can_customize_peripherals: true, can_customize_software: true, ..Default::default() };
        let c = catalogue(open);
        let mut f = form("proposed");
        f.peripherals = vec!["Dock".into()];
        assert!(!f.answers(&t, &c).unwrap().needs_approval(&c), "less than the bundle is fine");
        f.peripherals.push("Second monitor".into());
        assert!(f.answers(&t, &c).unwrap().needs_approval(&c), "beyond the bundle");
        f.peripherals = vec!["<script>".into()];
        assert!(f.answers(&t, &c).unwrap_err()["peripherals"].contains("not in the catalogue"));
        let mut f = form("proposed");
        f.software = vec!["SPSS".into()];
        assert!(f.answers(&t, &c).unwrap().needs_approval(&c), "any software");
        assert!(f.answers(&t, &catalogue(ConfigOptions::default())).unwrap_err().contains_key("software"));
    }

    #[test]
    fn a_remote_address_is_checked_field_by_field_and_kept() {
        let mut t = refresh_ticket(PersonId(1));
        t.style = Style::RemoteCustomer;
        let c = catalogue(ConfigOptions::default());
        let mut f = WizardForm { street: "1 Main St".into(), postal_code: "48109;DROP".into(), ..Default::default() };
        let errors = f.answers(&t, &c).unwrap_err();
        assert_eq!(errors.keys().copied().collect::<Vec<_>>(), ["city", "postal_code", "state"]);
        (f.city, f.state, f.postal_code) = ("Ann Arbor".into(), "MI".into(), "48109".into());
        let a = f.answers(&t, &c).unwrap();
        assert_eq!(a.shipping_address.as_ref().unwrap().to_string(), "1 Main St, Ann Arbor, MI 48109");
        assert_eq!(a.form().answers(&t, &c).unwrap(), a, "answers shown again read back the same");
        f.street = "x".repeat(MAX_TEXT + 1);
        assert!(f.answers(&t, &c).unwrap_err()["street"].contains("under 200"));
    }
}
