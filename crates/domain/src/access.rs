//! Roles as data: what each role may do to each kind of record, and how far each permission
//! reaches. An organization's roles are its five system roles (the [`Role`] levels, whose
//! permissions it may tune, the owner's excepted) and the custom roles it adds; every role has a
//! level, which decides administration (settings, members, roles, the audit log), and a
//! permission matrix ([`Grants`]), which decides records.
//!
//! The matrix gives each record kind (built-in or custom, by its object key) and each action a
//! [`Scope`]: none, own (the records the member owns or is assigned), team (the records of
//! everyone who shares a team with them too) or all. A kind the matrix does not name (a custom object added after the role was
//! last changed) gets the role's default for new kinds.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Ownership, Role, UserId};

/// How far a permission reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    None,
    Own,
    Team,
    All,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::None, Scope::Own, Scope::Team, Scope::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::None => "none",
            Scope::Own => "own",
            Scope::Team => "team",
            Scope::All => "all",
        }
    }

    /// What people read in the matrix.
    pub fn label(self) -> &'static str {
        match self {
            Scope::None => "None",
            Scope::Own => "Own",
            Scope::Team => "Team",
            Scope::All => "All",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether it reaches a record the actor relates to as `ownership`.
    pub fn reaches(self, ownership: Ownership) -> bool {
        match self {
            Scope::None => false,
            Scope::All => true,
            Scope::Own => matches!(ownership, Ownership::Own | Ownership::NotApplicable),
            Scope::Team => matches!(
                ownership,
                Ownership::Own | Ownership::Team | Ownership::NotApplicable
            ),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a role may do to a kind of record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordAction {
    View,
    Create,
    Edit,
    Delete,
    Export,
    /// A deal's own: move it to another stage, or win, lose or reopen it.
    ChangeStage,
    /// A lead's own: convert it into a contact, a company and a deal.
    Convert,
}

impl RecordAction {
    /// Every kind's actions, in the matrix's order.
    pub const COMMON: [RecordAction; 5] = [
        RecordAction::View,
        RecordAction::Create,
        RecordAction::Edit,
        RecordAction::Delete,
        RecordAction::Export,
    ];

    pub const ALL: [RecordAction; 7] = [
        RecordAction::View,
        RecordAction::Create,
        RecordAction::Edit,
        RecordAction::Delete,
        RecordAction::Export,
        RecordAction::ChangeStage,
        RecordAction::Convert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordAction::View => "view",
            RecordAction::Create => "create",
            RecordAction::Edit => "edit",
            RecordAction::Delete => "delete",
            RecordAction::Export => "export",
            RecordAction::ChangeStage => "change_stage",
            RecordAction::Convert => "convert",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RecordAction::View => "View",
            RecordAction::Create => "Create",
            RecordAction::Edit => "Edit",
            RecordAction::Delete => "Delete",
            RecordAction::Export => "Export",
            RecordAction::ChangeStage => "Change stage",
            RecordAction::Convert => "Convert",
        }
    }

    pub fn parse(text: &str) -> Option<RecordAction> {
        RecordAction::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The actions a kind has: every kind's, and its own.
    pub fn of_kind(kind: &str) -> Vec<RecordAction> {
        let mut actions = RecordAction::COMMON.to_vec();
        match kind {
            "deal" => actions.push(RecordAction::ChangeStage),
            "lead" => actions.push(RecordAction::Convert),
            _ => {}
        }
        actions
    }

    /// Whether a reach short of "all" means anything for it. Creating makes a record of one's
    /// own, so it is allowed or not; every other action reaches some records: viewing and
    /// exporting narrow every list, board, search, figure and export to the records in reach.
    pub fn is_scoped(self) -> bool {
        self != RecordAction::Create
    }

    /// The scopes the matrix offers for it.
    pub fn scopes(self) -> &'static [Scope] {
        if self.is_scoped() {
            &Scope::ALL
        } else {
            &[Scope::None, Scope::All]
        }
    }
}

impl From<crate::Action> for RecordAction {
    fn from(action: crate::Action) -> Self {
        match action {
            crate::Action::View => RecordAction::View,
            crate::Action::Create => RecordAction::Create,
            crate::Action::Edit => RecordAction::Edit,
            crate::Action::Delete => RecordAction::Delete,
            crate::Action::Export => RecordAction::Export,
        }
    }
}

/// The records of a kind a list may show: every one, or those some people own (for a task: are
/// assigned, or own its record). Found from a [`Scope`] and who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    All,
    Owners(Vec<UserId>),
}

impl Reach {
    /// The owners a list is narrowed to, or `None` when it shows every record.
    pub fn owners(&self) -> Option<&[UserId]> {
        match self {
            Reach::All => None,
            Reach::Owners(owners) => Some(owners),
        }
    }

    /// Whether a record owned by `owner` is in reach.
    pub fn includes(&self, owner: UserId) -> bool {
        match self {
            Reach::All => true,
            Reach::Owners(owners) => owners.contains(&owner),
        }
    }
}

/// One kind's row of the matrix: a scope per action.
pub type KindGrants = BTreeMap<RecordAction, Scope>;

/// How a role may treat one field of the records it sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldAccess {
    Editable,
    /// Shown, never changed.
    ReadOnly,
    /// Never shown, never changed: absent from every answer, page, list, export, search,
    /// event and audit view the role reads.
    Hidden,
}

impl FieldAccess {
    pub const ALL: [FieldAccess; 3] = [
        FieldAccess::Editable,
        FieldAccess::ReadOnly,
        FieldAccess::Hidden,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldAccess::Editable => "editable",
            FieldAccess::ReadOnly => "read_only",
            FieldAccess::Hidden => "hidden",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FieldAccess::Editable => "Editable",
            FieldAccess::ReadOnly => "Read-only",
            FieldAccess::Hidden => "Hidden",
        }
    }

    pub fn parse(text: &str) -> Option<FieldAccess> {
        FieldAccess::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// A rule on one field for a role: read-only or hidden. A read-only rule may hold at some
/// stages only (a deal's stages, as `{pipeline id}/{stage key}` or as a stage key in every
/// pipeline, or the options of a custom object's board field); a hidden
/// field is hidden at every stage, since a value seen at one stage cannot be unseen at the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRule {
    pub access: FieldAccess,
    /// Empty: at every stage.
    pub stages: Vec<String>,
}

impl FieldRule {
    /// What the rule leaves the field at a record's stage (`None`: the kind has no stages).
    pub fn at(&self, stage: Option<&str>) -> FieldAccess {
        let holds = |s: &str| {
            self.stages.iter().any(|x| {
                x == s
                    || s.rsplit_once('/')
                        .is_some_and(|(_, key)| !x.contains('/') && x == key)
            })
        };
        if self.stages.is_empty() || stage.is_some_and(holds) {
            self.access
        } else {
            FieldAccess::Editable
        }
    }

    /// The stricter of two rules: hidden over read-only; read-only always over read-only at
    /// some stages; stages joined.
    fn stricter(&self, other: &FieldRule) -> FieldRule {
        match self.access.cmp(&other.access) {
            std::cmp::Ordering::Greater => self.clone(),
            std::cmp::Ordering::Less => other.clone(),
            std::cmp::Ordering::Equal => {
                if self.stages.is_empty() || other.stages.is_empty() {
                    FieldRule {
                        access: self.access,
                        stages: Vec::new(),
                    }
                } else {
                    let mut stages = self.stages.clone();
                    for s in &other.stages {
                        if !stages.contains(s) {
                            stages.push(s.clone());
                        }
                    }
                    FieldRule {
                        access: self.access,
                        stages,
                    }
                }
            }
        }
    }
}

/// One kind's field rules, by field key; a field without one is editable.
pub type KindFieldRules = BTreeMap<String, FieldRule>;

/// A role's permission matrix over record kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grants {
    /// What the role may do to a kind not named in `kinds`.
    pub default: KindGrants,
    /// By object key (`company`, `deal`, `berth`…).
    pub kinds: BTreeMap<String, KindGrants>,
    /// Field rules by object key.
    pub fields: BTreeMap<String, KindFieldRules>,
}

/// Why a matrix sent in was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantsError {
    #[error("`{0}` is not an action (view, create, edit, delete, export, change_stage, convert)")]
    UnknownAction(String),
    #[error("`{0}` is not a scope (none, own, team, all)")]
    UnknownScope(String),
    #[error("{action} can only be none or all")]
    Unscoped { action: &'static str },
    #[error("must be an object of actions and scopes")]
    Shape,
    #[error("`{0}` is not a field access (editable, read_only, hidden)")]
    UnknownFieldAccess(String),
    #[error("field rules must be an object of kinds, each an object of fields and rules")]
    FieldShape,
    #[error("a hidden field is hidden at every stage: only read-only rules take stages")]
    HiddenAtStages,
}

impl Grants {
    /// The matrix a system role starts with: the API contract's table.
    pub fn system(level: Role) -> Grants {
        let mut row = KindGrants::new();
        for action in RecordAction::ALL {
            let scope = match level {
                Role::Owner | Role::Admin | Role::Manager => Scope::All,
                Role::Member => match action {
                    RecordAction::View | RecordAction::Create | RecordAction::Export => Scope::All,
                    _ => Scope::Own,
                },
                Role::Viewer => match action {
                    RecordAction::View => Scope::All,
                    _ => Scope::None,
                },
            };
            row.insert(action, scope);
        }
        Grants {
            default: row,
            kinds: BTreeMap::new(),
            fields: BTreeMap::new(),
        }
    }

    /// How the role may treat `field` of a `kind` record at `stage`.
    pub fn field_access(&self, kind: &str, field: &str, stage: Option<&str>) -> FieldAccess {
        self.fields
            .get(kind)
            .and_then(|rules| rules.get(field))
            .map_or(FieldAccess::Editable, |rule| rule.at(stage))
    }

    /// The fields of `kind` the role never sees.
    pub fn hidden_fields(&self, kind: &str) -> impl Iterator<Item = &str> {
        self.fields.get(kind).into_iter().flat_map(|rules| {
            rules
                .iter()
                .filter(|(_, r)| r.access == FieldAccess::Hidden)
                .map(|(k, _)| k.as_str())
        })
    }

    /// Whether the role has any rule on a field of `kind`.
    pub fn has_field_rules(&self, kind: &str) -> bool {
        self.fields.get(kind).is_some_and(|r| !r.is_empty())
    }

    /// Sets one field's rule; `Editable` removes it.
    pub fn set_field(&mut self, kind: &str, field: &str, rule: FieldRule) {
        if rule.access == FieldAccess::Editable {
            if let Some(rules) = self.fields.get_mut(kind) {
                rules.remove(field);
                if rules.is_empty() {
                    self.fields.remove(kind);
                }
            }
        } else {
            self.fields
                .entry(kind.to_owned())
                .or_default()
                .insert(field.to_owned(), rule);
        }
    }

    /// The scope of `action` on `kind`.
    pub fn scope(&self, kind: &str, action: RecordAction) -> Scope {
        self.kinds
            .get(kind)
            .and_then(|row| row.get(&action))
            .or_else(|| self.default.get(&action))
            .copied()
            .unwrap_or(Scope::None)
    }

    /// Whether `action` on a record of `kind` the actor relates to as `ownership` is allowed.
    /// Nothing reaches further than viewing: a record the role may not see, it may not act on.
    pub fn allows(&self, kind: &str, action: RecordAction, ownership: Ownership) -> bool {
        self.effective(kind, action).reaches(ownership)
    }

    /// How far `action` reaches in effect on kinds the matrix does not name.
    pub fn default_effective(&self, action: RecordAction) -> Scope {
        let of = |a: RecordAction| self.default.get(&a).copied().unwrap_or(Scope::None);
        match action {
            RecordAction::View => of(action),
            _ => of(action).min(of(RecordAction::View)),
        }
    }

    /// How far `action` on `kind` reaches in effect: its cell, no further than viewing.
    pub fn effective(&self, kind: &str, action: RecordAction) -> Scope {
        match action {
            RecordAction::View => self.scope(kind, action),
            _ => self
                .scope(kind, action)
                .min(self.scope(kind, RecordAction::View)),
        }
    }

    /// Sets one cell; a kind's row starts as a copy of the default.
    pub fn set(&mut self, kind: &str, action: RecordAction, scope: Scope) {
        let scope = if action.is_scoped() || scope == Scope::None {
            scope
        } else {
            Scope::All
        };
        let default = self.default.clone();
        self.kinds
            .entry(kind.to_owned())
            .or_insert(default)
            .insert(action, scope);
    }

    /// The lesser of two matrices, cell by cell: what an API key may do when its creator may
    /// do less than its role.
    pub fn at_most(&self, cap: &Grants) -> Grants {
        let mut out = Grants {
            default: KindGrants::new(),
            kinds: BTreeMap::new(),
            fields: self.fields.clone(),
        };
        for (kind, rules) in &cap.fields {
            for (field, rule) in rules {
                let merged = match out.fields.get(kind).and_then(|r| r.get(field)) {
                    Some(mine) => mine.stricter(rule),
                    None => rule.clone(),
                };
                out.fields
                    .entry(kind.clone())
                    .or_default()
                    .insert(field.clone(), merged);
            }
        }
        for action in RecordAction::ALL {
            let a = self.default.get(&action).copied().unwrap_or(Scope::None);
            let b = cap.default.get(&action).copied().unwrap_or(Scope::None);
            out.default.insert(action, a.min(b));
        }
        for kind in self.kinds.keys().chain(cap.kinds.keys()) {
            for action in RecordAction::ALL {
                let scope = self.scope(kind, action).min(cap.scope(kind, action));
                out.kinds
                    .entry(kind.clone())
                    .or_default()
                    .insert(action, scope);
            }
        }
        out
    }

    /// What an export sees: each row's view narrowed to its export scope, so that reading
    /// the list it writes out reaches no record the role may not export.
    pub fn exporting(&self) -> Grants {
        let narrow = |row: &KindGrants| {
            let mut row = row.clone();
            let view = row.get(&RecordAction::View).copied().unwrap_or(Scope::None);
            let export = row
                .get(&RecordAction::Export)
                .copied()
                .unwrap_or(Scope::None);
            row.insert(RecordAction::View, view.min(export));
            row
        };
        Grants {
            default: narrow(&self.default),
            kinds: self
                .kinds
                .iter()
                .map(|(k, r)| (k.clone(), narrow(r)))
                .collect(),
            fields: self.fields.clone(),
        }
    }

    /// As stored and as the API shows it: `{"default": {...}, "kinds": {"deal": {...}},
    /// "fields": {"deal": {"commission": "hidden", "deposit": {"access": "read_only",
    /// "stages": [...]}}}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let row = |r: &KindGrants| -> serde_json::Value {
            r.iter()
                .map(|(a, s)| (a.as_str().to_owned(), serde_json::json!(s.as_str())))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        serde_json::json!({
            "default": row(&self.default),
            "kinds": self.kinds.iter().map(|(k, r)| (k.clone(), row(r))).collect::<serde_json::Map<_, _>>(),
            "fields": self.fields.iter().map(|(k, rules)| {
                let rules = rules.iter().map(|(f, rule)| {
                    let value = if rule.stages.is_empty() {
                        serde_json::json!(rule.access.as_str())
                    } else {
                        serde_json::json!({"access": rule.access.as_str(), "stages": rule.stages})
                    };
                    (f.clone(), value)
                }).collect::<serde_json::Map<_, _>>();
                (k.clone(), serde_json::Value::Object(rules))
            }).collect::<serde_json::Map<_, _>>(),
        })
    }

    /// Reads what [`Grants::to_json`] wrote; cells it does not name keep `base`'s.
    pub fn from_json(value: &serde_json::Value, base: &Grants) -> Result<Grants, GrantsError> {
        let mut grants = base.clone();
        let object = value.as_object().ok_or(GrantsError::Shape)?;
        if let Some(default) = object.get("default") {
            for (action, scope) in parse_row(default)? {
                grants.default.insert(action, scope);
            }
        }
        if let Some(kinds) = object.get("kinds") {
            for (kind, row) in kinds.as_object().ok_or(GrantsError::Shape)? {
                for (action, scope) in parse_row(row)? {
                    grants.set(kind, action, scope);
                }
            }
        }
        if let Some(fields) = object.get("fields") {
            for (kind, rules) in fields.as_object().ok_or(GrantsError::FieldShape)? {
                for (field, rule) in rules.as_object().ok_or(GrantsError::FieldShape)? {
                    grants.set_field(kind, field, parse_field_rule(rule)?);
                }
            }
        }
        Ok(grants)
    }
}

/// One field's rule as sent in: `"hidden"`, `"read_only"`, `"editable"` (or `null`: no rule),
/// or `{"access": "read_only", "stages": [...]}`.
pub fn parse_field_rule(value: &serde_json::Value) -> Result<FieldRule, GrantsError> {
    let access = |text: &str| {
        FieldAccess::parse(text).ok_or_else(|| GrantsError::UnknownFieldAccess(text.to_owned()))
    };
    let rule = match value {
        serde_json::Value::Null => FieldRule {
            access: FieldAccess::Editable,
            stages: Vec::new(),
        },
        serde_json::Value::String(text) => FieldRule {
            access: access(text)?,
            stages: Vec::new(),
        },
        serde_json::Value::Object(o) => {
            let text = o
                .get("access")
                .and_then(|a| a.as_str())
                .ok_or(GrantsError::FieldShape)?;
            let stages = match o.get("stages") {
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::Array(items)) => {
                    let mut stages: Vec<String> = Vec::new();
                    for item in items {
                        let s = item.as_str().ok_or(GrantsError::FieldShape)?;
                        if !stages.iter().any(|x| x == s) {
                            stages.push(s.to_owned());
                        }
                    }
                    stages
                }
                Some(_) => return Err(GrantsError::FieldShape),
            };
            FieldRule {
                access: access(text)?,
                stages,
            }
        }
        _ => return Err(GrantsError::FieldShape),
    };
    if rule.access == FieldAccess::Hidden && !rule.stages.is_empty() {
        return Err(GrantsError::HiddenAtStages);
    }
    Ok(rule)
}

/// One row of actions and scopes as sent in.
pub fn parse_row(value: &serde_json::Value) -> Result<Vec<(RecordAction, Scope)>, GrantsError> {
    let object = value.as_object().ok_or(GrantsError::Shape)?;
    let mut row = Vec::new();
    for (action, scope) in object {
        let action = RecordAction::parse(action)
            .ok_or_else(|| GrantsError::UnknownAction(action.clone()))?;
        let text = scope.as_str().ok_or(GrantsError::Shape)?;
        let scope = Scope::parse(text).ok_or_else(|| GrantsError::UnknownScope(text.to_owned()))?;
        if !action.is_scoped() && !matches!(scope, Scope::None | Scope::All) {
            return Err(GrantsError::Unscoped {
                action: action.as_str(),
            });
        }
        row.push((action, scope));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_matrices_say_what_the_contract_says() {
        let member = Grants::system(Role::Member);
        assert!(member.allows("deal", RecordAction::View, Ownership::Others));
        assert!(member.allows("deal", RecordAction::Edit, Ownership::Own));
        assert!(!member.allows("deal", RecordAction::Edit, Ownership::Others));
        assert!(!member.allows("berth", RecordAction::Delete, Ownership::Others));
        let viewer = Grants::system(Role::Viewer);
        for action in RecordAction::ALL {
            assert_eq!(
                viewer.allows("contact", action, Ownership::Own),
                action == RecordAction::View,
                "{action:?}"
            );
        }
        let manager = Grants::system(Role::Manager);
        assert!(manager.allows("deal", RecordAction::Delete, Ownership::Others));
    }

    #[test]
    fn a_kinds_row_overrides_the_default_and_starts_from_it() {
        let mut g = Grants::system(Role::Member);
        g.set("invoice", RecordAction::View, Scope::None);
        assert_eq!(g.scope("invoice", RecordAction::View), Scope::None);
        assert_eq!(g.scope("invoice", RecordAction::Edit), Scope::Own);
        assert_eq!(g.scope("deal", RecordAction::View), Scope::All);
        // Creating is allowed or not: "own" means allowed.
        g.set("deal", RecordAction::Create, Scope::Own);
        assert_eq!(g.scope("deal", RecordAction::Create), Scope::All);
        // Viewing reaches some records.
        g.set("deal", RecordAction::View, Scope::Own);
        assert_eq!(g.scope("deal", RecordAction::View), Scope::Own);
        let teamed = Grants::from_json(
            &serde_json::json!({"kinds": {"deal": {"edit": "team"}}}),
            &g,
        )
        .expect("team scope");
        assert_eq!(teamed.scope("deal", RecordAction::Edit), Scope::Team);
    }

    #[test]
    fn no_action_reaches_further_than_viewing() {
        let mut g = Grants::system(Role::Manager);
        g.set("deal", RecordAction::View, Scope::Own);
        assert!(g.allows("deal", RecordAction::Edit, Ownership::Own));
        assert!(!g.allows("deal", RecordAction::Edit, Ownership::Others));
        assert!(!g.allows("deal", RecordAction::Delete, Ownership::Others));
        assert!(g.allows("deal", RecordAction::Create, Ownership::NotApplicable));
        g.set("deal", RecordAction::View, Scope::None);
        assert!(!g.allows("deal", RecordAction::Create, Ownership::NotApplicable));
    }

    #[test]
    fn an_export_sees_no_further_than_its_scope() {
        let mut g = Grants::system(Role::Member);
        g.set("deal", RecordAction::Export, Scope::Own);
        g.set("contact", RecordAction::Export, Scope::None);
        let e = g.exporting();
        assert_eq!(e.scope("deal", RecordAction::View), Scope::Own);
        assert_eq!(e.scope("contact", RecordAction::View), Scope::None);
        assert_eq!(e.scope("company", RecordAction::View), Scope::All);
        let mut g = Grants::system(Role::Member);
        g.set("deal", RecordAction::View, Scope::Own);
        assert_eq!(g.exporting().scope("deal", RecordAction::View), Scope::Own);
    }

    #[test]
    fn team_scope_reaches_own_and_team_records_only() {
        assert!(Scope::Team.reaches(Ownership::Own));
        assert!(Scope::Team.reaches(Ownership::Team));
        assert!(!Scope::Team.reaches(Ownership::Others));
        assert!(!Scope::Own.reaches(Ownership::Team));
        assert!(!Scope::None.reaches(Ownership::NotApplicable));
        assert!(Scope::All.reaches(Ownership::Others));
    }

    #[test]
    fn the_matrix_round_trips_through_json_and_refuses_nonsense() {
        let mut g = Grants::system(Role::Member);
        g.set("expense", RecordAction::Delete, Scope::None);
        g.set("deal", RecordAction::ChangeStage, Scope::None);
        let back = Grants::from_json(&g.to_json(), &Grants::system(Role::Viewer)).expect("json");
        assert_eq!(back, g);
        let base = Grants::system(Role::Member);
        assert_eq!(
            Grants::from_json(
                &serde_json::json!({"kinds": {"deal": {"fly": "all"}}}),
                &base
            ),
            Err(GrantsError::UnknownAction("fly".into()))
        );
        assert_eq!(
            Grants::from_json(
                &serde_json::json!({"kinds": {"deal": {"edit": "most"}}}),
                &base
            ),
            Err(GrantsError::UnknownScope("most".into()))
        );
        assert_eq!(
            Grants::from_json(
                &serde_json::json!({"kinds": {"deal": {"create": "own"}}}),
                &base
            ),
            Err(GrantsError::Unscoped { action: "create" })
        );
    }

    #[test]
    fn field_rules_hold_at_their_stages_round_trip_and_cap_to_the_stricter() {
        let mut g = Grants::system(Role::Member);
        let base = g.clone();
        g = Grants::from_json(
            &serde_json::json!({"fields": {"deal": {
                "commission": "hidden",
                "deposit": {"access": "read_only", "stages": ["signed", "won", "signed"]},
                "notes": "read_only",
            }}}),
            &g,
        )
        .expect("rules");
        assert_eq!(
            g.field_access("deal", "commission", None),
            FieldAccess::Hidden
        );
        assert_eq!(
            g.field_access("deal", "deposit", Some("signed")),
            FieldAccess::ReadOnly
        );
        assert_eq!(
            g.field_access("deal", "deposit", Some("lead_in")),
            FieldAccess::Editable
        );
        // A stage key holds in every pipeline; a pipeline's own stage only there.
        assert_eq!(
            g.field_access("deal", "deposit", Some("p1/signed")),
            FieldAccess::ReadOnly
        );
        let mut pinned = g.clone();
        pinned.set_field(
            "deal",
            "deposit",
            FieldRule {
                access: FieldAccess::ReadOnly,
                stages: vec!["p1/signed".into()],
            },
        );
        assert_eq!(
            pinned.field_access("deal", "deposit", Some("p1/signed")),
            FieldAccess::ReadOnly
        );
        assert_eq!(
            pinned.field_access("deal", "deposit", Some("p2/signed")),
            FieldAccess::Editable
        );
        assert_eq!(
            g.field_access("deal", "deposit", None),
            FieldAccess::Editable
        );
        assert_eq!(
            g.field_access("deal", "notes", Some("lead_in")),
            FieldAccess::ReadOnly
        );
        assert_eq!(
            g.field_access("contact", "notes", None),
            FieldAccess::Editable
        );
        assert_eq!(g.hidden_fields("deal").collect::<Vec<_>>(), ["commission"]);
        assert_eq!(
            g.fields["deal"]["deposit"].stages,
            ["signed".to_owned(), "won".to_owned()]
        );
        let back = Grants::from_json(&g.to_json(), &base).expect("round trip");
        assert_eq!(back, g);
        // "editable" removes a rule; a kind left without rules goes.
        let cleared = Grants::from_json(
            &serde_json::json!({"fields": {"deal": {"commission": "editable", "deposit": null, "notes": "editable"}}}),
            &g,
        )
        .expect("cleared");
        assert!(cleared.fields.is_empty());
        assert_eq!(
            Grants::from_json(
                &serde_json::json!({"fields": {"deal": {"commission": {"access": "hidden", "stages": ["won"]}}}}),
                &base
            ),
            Err(GrantsError::HiddenAtStages)
        );
        assert_eq!(
            Grants::from_json(
                &serde_json::json!({"fields": {"deal": {"commission": "secret"}}}),
                &base
            ),
            Err(GrantsError::UnknownFieldAccess("secret".into()))
        );
        // An API key's rules are the stricter of its role's and its creator's.
        let mut creator = base.clone();
        creator.set_field(
            "deal",
            "deposit",
            FieldRule {
                access: FieldAccess::ReadOnly,
                stages: vec!["lead_in".into()],
            },
        );
        creator.set_field(
            "deal",
            "notes",
            FieldRule {
                access: FieldAccess::Hidden,
                stages: Vec::new(),
            },
        );
        let capped = g.at_most(&creator);
        assert_eq!(
            capped.field_access("deal", "deposit", Some("lead_in")),
            FieldAccess::ReadOnly
        );
        assert_eq!(
            capped.field_access("deal", "deposit", Some("won")),
            FieldAccess::ReadOnly
        );
        assert_eq!(
            capped.field_access("deal", "notes", None),
            FieldAccess::Hidden
        );
        assert_eq!(
            capped.field_access("deal", "commission", None),
            FieldAccess::Hidden
        );
        assert_eq!(g.exporting().fields, g.fields);
    }

    #[test]
    fn a_capped_matrix_is_the_lesser_of_both_in_every_cell() {
        let mut key = Grants::system(Role::Manager);
        key.set("berth", RecordAction::Edit, Scope::All);
        let mut creator = Grants::system(Role::Member);
        creator.set("deal", RecordAction::View, Scope::None);
        let capped = key.at_most(&creator);
        assert_eq!(capped.scope("deal", RecordAction::View), Scope::None);
        assert_eq!(capped.scope("berth", RecordAction::Edit), Scope::Own);
        assert_eq!(capped.scope("contact", RecordAction::Delete), Scope::Own);
        assert_eq!(capped.scope("contact", RecordAction::View), Scope::All);
    }
}
