//! Leads: how far along they are.

/// Where a lead stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeadStatus {
    New,
    Working,
    Qualified,
    Disqualified,
}

/// A lead status read back that is not one of [`LeadStatus::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown lead status {0:?}")]
pub struct UnknownLeadStatus(pub String);

impl TryFrom<String> for LeadStatus {
    type Error = UnknownLeadStatus;
    fn try_from(s: String) -> Result<Self, UnknownLeadStatus> {
        LeadStatus::parse(&s).map_err(|_| UnknownLeadStatus(s))
    }
}

impl serde::Serialize for LeadStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 4] = [
        LeadStatus::New,
        LeadStatus::Working,
        LeadStatus::Qualified,
        LeadStatus::Disqualified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Working => "working",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Disqualified => "disqualified",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LeadStatus::New => "New",
            LeadStatus::Working => "Working",
            LeadStatus::Qualified => "Qualified",
            LeadStatus::Disqualified => "Disqualified",
        }
    }

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or("must be one of new, working, qualified, disqualified")
    }
}
