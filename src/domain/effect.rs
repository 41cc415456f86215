//! What a transition asks the world to do. The store commits all of a
//! transition's effects in the transaction that saves the new state, so a
//! change and its messages and timers exist together or not at all.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::service::request::TransactionKind;
use super::{Change, PersonId, Role, SlotId, TeamId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Audit(Change),
    Notify(Notification),
    Itsm(ItsmRequest),
    SetTimer(Timer),
    /// Cancel the ticket's pending timers of these kinds.
    CancelTimers(Vec<TimerKind>),
    /// The step that just fired is used up.
    TimerDone {
        kind: TimerKind,
        step: u16,
    },
    /// Take one seat of a slot; refused if the slot is full.
    Book(SlotId),
    /// Give a seat back (the appointment moved).
    Unbook(SlotId),
    /// Stop every pending timer of the ticket (on hold) ...
    PauseTimers,
    /// ... and start them again, shifted by the time spent paused.
    ResumeTimers,
    /// Change a managed device's record.
    Device(crate::domain::devices::DeviceChange),
    /// Record a transaction for the desk's invoice (`002_*`), billed to
    /// the agency, or else to the agency of the device with this serial.
    Transaction {
        kind: TransactionKind,
        minutes: u32,
        agency: Option<String>,
        device: Option<String>,
    },
}

vocabulary! {
    /// Every message template deskbell sends. Each has an email form, a Slack
    /// form or both (`templates/email/NAME.*`, `templates/slack/NAME.json`).
    pub enum Template {
        CustomerBegin,
        WizardReminder,
        LocationInfoNeeded,
        ApprovalRequest,
        ApprovalDigest,
        RefreshDenied,
        SlotInvitation,
        SlotReminder,
        RescheduleConfirmation,
        TrackingNumber,
        MacMdmRequest,
        TeamTdxAlert,
        TicketReceived,
        TechnicianAssigned,
        EngineerAssigned,
        EscalatedToTier,
        WaitingOnClientReminder,
        ClosingNotice,
        DispatcherCloseNotice,
        StatusUpdateReminder,
        EscalationPing,
        DeliveryDead,
        /// Replaces every approver's approval request once someone decided.
        ApprovalDecided,
        /// A request still undecided after the configured business days.
        ApprovalReminder,
        /// Tells an approver their request went to the fallback.
        ApprovalFallback,
        /// An answer to one person's click or command, through its `response_url`.
        InteractionReply,
        /// Yesterday's service desk KPIs, to the configured channel.
        KpiDigest,
        /// An order's approval step, to each person who may decide it.
        RequestApproval,
        /// The customer's order was denied.
        RequestDenied,
        /// A service request created or closed, to the asset team's channel.
        AssetTeamNotice,
        /// Devices whose term ends soon, to the refresh admins.
        LifecycleDue,
        /// A customer's emailed reply, to the people working the ticket (or,
        /// matching no ticket, to the help desk).
        CustomerReply,
        /// A person's App Home in Slack: what awaits them, by role.
        AppHome,
    }
}

vocabulary! {
    /// How an outbox row leaves deskbell; stored as its snake_case name.
    pub enum Channel {
        Email,
        /// A new Slack message to a channel or a person (DM).
        Slack,
        /// An edit of a Slack message deskbell posted (`channel:ts`).
        SlackUpdate,
        /// An answer through an interaction's `response_url`.
        SlackResponse,
        /// A person's App Home (`views.publish`), built when it is sent.
        SlackHome,
        /// A call to the ITSM system.
        Tdx,
    }
}

impl Channel {
    /// Whether Slack's Web API delivers it.
    pub fn is_slack(self) -> bool {
        matches!(self, Self::Slack | Self::SlackUpdate | Self::SlackResponse | Self::SlackHome)
    }
}

/// What a template is about, which decides the context it is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    RefreshTicket,
    ServiceTicket,
    /// The Friday list of an approver's open tickets.
    Digest,
    /// An outbox row that could not be delivered.
    Delivery,
    /// A short answer to a Slack interaction.
    Reply,
    /// A day's KPIs.
    Kpis,
    /// A person's App Home.
    Home,
    /// A team's devices whose term ends soon.
    Lifecycle,
}

/// The forms a template must have: `(email, slack)`.
impl Template {
    pub fn forms(self) -> (bool, bool) {
        use Template::*;
        match self {
            CustomerBegin
            | WizardReminder
            | ApprovalDigest
            | RefreshDenied
            | SlotReminder
            | RescheduleConfirmation
            | TrackingNumber
            | MacMdmRequest
            | TicketReceived
            | TechnicianAssigned
            | ClosingNotice => (true, false),
            LocationInfoNeeded | TeamTdxAlert | ApprovalDecided | InteractionReply | KpiDigest | CustomerReply
            | AppHome | AssetTeamNotice => (false, true),
            RequestDenied => (true, false),
            RequestApproval | LifecycleDue => (true, true),
            SlotInvitation => (true, true),
            ApprovalRequest
            | ApprovalReminder
            | ApprovalFallback
            | EngineerAssigned
            | EscalatedToTier
            | WaitingOnClientReminder
            | DispatcherCloseNotice
            | StatusUpdateReminder
            | EscalationPing
            | DeliveryDead => (true, true),
        }
    }

    /// Customers who are in the Slack workspace get this one as a DM (its
    /// buttons pick a slot); every other customer message is an email.
    pub fn reaches_customers_in_slack(self) -> bool {
        self == Template::SlotInvitation
    }

    pub fn subject(self) -> Subject {
        use Template::*;
        match self {
            ApprovalDigest => Subject::Digest,
            DeliveryDead => Subject::Delivery,
            InteractionReply | CustomerReply => Subject::Reply,
            KpiDigest => Subject::Kpis,
            AppHome => Subject::Home,
            LifecycleDue => Subject::Lifecycle,
            RequestApproval
            | RequestDenied
            | AssetTeamNotice
            | TicketReceived
            | TechnicianAssigned
            | EngineerAssigned
            | EscalatedToTier
            | WaitingOnClientReminder
            | ClosingNotice
            | DispatcherCloseNotice
            | StatusUpdateReminder
            | EscalationPing => Subject::ServiceTicket,
            _ => Subject::RefreshTicket,
        }
    }
}

/// Who a message is for, before the directory resolves it to addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// A customer or delegate: always by email.
    Customer(PersonId),
    /// A staff member: Slack DM when they have a Slack id, else email.
    Staff(PersonId),
    /// One person asked to approve (or reminded): reached as staff, mail
    /// held to business hours.
    Approver(PersonId),
    /// A support team's Slack channel.
    TeamChannel(TeamId),
    /// Everyone holding a role, such as the dispatchers.
    Role(Role),
    /// The Mac engineering team's mailbox, from config.
    MacEngineering,
    /// The approval requests already posted in Slack for this ticket,
    /// edited in place; those not yet sent are withdrawn.
    ApprovalMessages,
    /// The asset team's Slack channel, from config.
    AssetTeam,
    /// An escalation step: the assignee and everyone holding one of the
    /// roles, each once however many of them they hold, and the team channel.
    Escalation { roles: Vec<Role>, assignee: Option<PersonId>, team: Option<TeamId> },
}

/// Which step of which chain a ping is, for its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PingStep {
    pub chain: String,
    /// From 1.
    pub number: u16,
    /// How long after the chain started the step is due.
    pub minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub template: Template,
    pub to: Recipient,
    /// Unique per message ever: `R-12/wizard_reminder/1`. A second enqueue
    /// with the same key is ignored, whatever crashed or retried.
    pub dedupe_key: String,
    pub step: Option<PingStep>,
}

/// A call to the ITSM system (TDX), queued like a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ItsmRequest {
    /// Look the replacement system up until TDX knows it.
    LookupSystem { serial: String },
    /// Create the delivery request with its Depot and NIT tasks (remote
    /// tickets have no slot).
    CreateRequest { slot: Option<SlotId> },
    /// Move the request's appointment to a new slot.
    UpdateAppointment { slot: SlotId },
    /// Windows remote refreshes are prestaged by the vendor.
    ClosePrestageTask,
    /// The customer gave another location than TDX's: a ticket for the
    /// support team to confirm TDX's location data (`000_*`).
    ConfirmLocation { from: String, to: String },
}

vocabulary! {
    /// The kinds of [`ItsmRequest`], as the outbox row and its key name them.
    pub enum ItsmAction {
        LookupSystem,
        CreateRequest,
        UpdateAppointment,
        ClosePrestageTask,
        ConfirmLocation,
    }
}

impl ItsmRequest {
    pub fn action(&self) -> ItsmAction {
        match self {
            Self::LookupSystem { .. } => ItsmAction::LookupSystem,
            Self::CreateRequest { .. } => ItsmAction::CreateRequest,
            Self::UpdateAppointment { .. } => ItsmAction::UpdateAppointment,
            Self::ClosePrestageTask => ItsmAction::ClosePrestageTask,
            Self::ConfirmLocation { .. } => ItsmAction::ConfirmLocation,
        }
    }
}

/// What an outbox row carries, stored by name in its `template` column: a
/// message rendered from a template, or (on the `tdx` channel) an ITSM call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Message(Template),
    Itsm(ItsmAction),
}

impl Content {
    pub fn name(self) -> &'static str {
        match self {
            Self::Message(t) => t.into(),
            Self::Itsm(a) => a.into(),
        }
    }

    /// Reads back the name stored for a row of `channel`.
    pub fn parse(channel: Channel, name: &str) -> Option<Self> {
        match channel {
            Channel::Tdx => name.parse().ok().map(Self::Itsm),
            _ => name.parse().ok().map(Self::Message),
        }
    }

    /// The template of a message; `None` for an ITSM call.
    pub fn template(self) -> Option<Template> {
        match self {
            Self::Message(t) => Some(t),
            Self::Itsm(_) => None,
        }
    }
}

impl From<Template> for Content {
    fn from(t: Template) -> Self {
        Self::Message(t)
    }
}

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

vocabulary! {
    pub enum TimerKind {
        CustomerBegin,
        WizardReminder,
        WizardExpired,
        SlotReminder,
        /// Escalation chains of service tickets (`004_*`): the step is the
        /// index of the policy step; the threshold's step is the tier.
        Unassigned,
        Unacknowledged,
        WaitingOnClient,
        Threshold,
        /// The n-th status-update reminder of an open P1/P2 incident.
        StatusUpdate,
        /// The n-th reminder of an undecided approval request.
        ApprovalReminder,
        /// An approval still undecided goes to the config's fallback.
        ApprovalFallback,
    }
}

/// A pending step: unique per ticket, kind and step, due at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub kind: TimerKind,
    pub step: u16,
    pub due_at: DateTime<Utc>,
}
