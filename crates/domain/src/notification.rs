//! Kinds of notification and how each person wants to receive them.

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// Someone else assigned a task to me.
    TaskAssigned,
    /// A task of mine is due today or overdue.
    TaskDue,
    /// The reminder I set on a task.
    TaskReminder,
    /// Someone mentioned me in a comment.
    Mention,
    /// Someone else changed a deal I own.
    DealChanged,
    /// Someone else changed, or gave me, a record of a custom object.
    RecordChanged,
    /// Someone accepted an invitation I sent.
    InvitationAccepted,
    /// A webhook endpoint of an organization I administer was turned off.
    WebhookDisabled,
    /// A client wrote on a record I own, in the client portal.
    ClientMessage,
}

/// Whether and when a notification is emailed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailChoice {
    Never,
    /// Right away.
    Immediate,
    /// Gathered in a daily digest.
    Digest,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 9] = [
        NotificationKind::TaskAssigned,
        NotificationKind::TaskDue,
        NotificationKind::TaskReminder,
        NotificationKind::Mention,
        NotificationKind::DealChanged,
        NotificationKind::RecordChanged,
        NotificationKind::InvitationAccepted,
        NotificationKind::WebhookDisabled,
        NotificationKind::ClientMessage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::TaskAssigned => "task_assigned",
            NotificationKind::TaskDue => "task_due",
            NotificationKind::TaskReminder => "task_reminder",
            NotificationKind::Mention => "mention",
            NotificationKind::DealChanged => "deal_changed",
            NotificationKind::RecordChanged => "record_changed",
            NotificationKind::InvitationAccepted => "invitation_accepted",
            NotificationKind::WebhookDisabled => "webhook_disabled",
            NotificationKind::ClientMessage => "client_message",
        }
    }

    pub fn parse(s: &str) -> Option<NotificationKind> {
        NotificationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How the kind is named in settings.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::TaskAssigned => "A task is assigned to me",
            NotificationKind::TaskDue => "A task of mine is due or overdue",
            NotificationKind::TaskReminder => "Reminders I set on tasks",
            NotificationKind::Mention => "Someone mentions me",
            NotificationKind::DealChanged => "Someone else changes a deal I own",
            NotificationKind::RecordChanged => {
                "Someone else changes, or hands me, a record I own (custom objects)"
            }
            NotificationKind::InvitationAccepted => "Someone accepts my invitation",
            NotificationKind::WebhookDisabled => "A webhook is turned off after failures",
            NotificationKind::ClientMessage => "A client writes on a record I own",
        }
    }

    /// The choice of someone who has not chosen: (in the app, by email).
    pub fn default_choice(self) -> (bool, EmailChoice) {
        match self {
            NotificationKind::TaskAssigned
            | NotificationKind::TaskReminder
            | NotificationKind::Mention
            | NotificationKind::WebhookDisabled
            | NotificationKind::ClientMessage => (true, EmailChoice::Immediate),
            NotificationKind::TaskDue
            | NotificationKind::DealChanged
            | NotificationKind::RecordChanged => (true, EmailChoice::Digest),
            NotificationKind::InvitationAccepted => (true, EmailChoice::Never),
        }
    }
}

impl EmailChoice {
    pub const ALL: [EmailChoice; 3] = [
        EmailChoice::Never,
        EmailChoice::Immediate,
        EmailChoice::Digest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailChoice::Never => "never",
            EmailChoice::Immediate => "immediate",
            EmailChoice::Digest => "digest",
        }
    }

    pub fn parse(s: &str) -> Option<EmailChoice> {
        EmailChoice::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            EmailChoice::Never => "No email",
            EmailChoice::Immediate => "Email right away",
            EmailChoice::Digest => "Daily digest",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_choices_read_back_what_they_write() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        for choice in EmailChoice::ALL {
            assert_eq!(EmailChoice::parse(choice.as_str()), Some(choice));
        }
        assert_eq!(NotificationKind::parse("spam"), None);
        assert_eq!(EmailChoice::parse("hourly"), None);
    }
}
