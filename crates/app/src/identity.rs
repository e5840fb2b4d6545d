//! The identity cache: who a credential belongs to, which organization a request names and the
//! caller's role there, kept in memory for a short while so that most requests ask the database
//! nothing before their own work.
//!
//! It is never the authority. Every transaction that changes what it holds marks the change
//! ([`rapport_store::Tx::changed`]); when such a transaction commits, this server forgets the
//! entries the change touches and tells the other servers through the live bus
//! ([`crate::live::Bus::publish_identity`]) before the request that made the change answers. A
//! server that cannot hear the others (its bus subscription is down, or was never started, as in
//! a command-line process) caches nothing, and every entry expires after
//! `RAPPORT_IDENTITY_CACHE_SECS` whatever happens. A lookup that started before a change and
//! ends after it never stores its stale answer: each change moves an epoch, and an answer is kept
//! only if the epoch it started under is still current.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rapport_domain::{OrganizationId, TokenFamilyId, UserId};
use rapport_store::Changed;
use rapport_store::api_keys::ApiKey;
use rapport_store::auth::Session;
use rapport_store::memberships::UserOrganization;
use rapport_store::organizations::Organization;

use crate::Actor;

/// Entries kept per kind before the oldest-fashioned remedy applies: the kind is emptied.
const MAX_ENTRIES: usize = 100_000;

/// How a request named its organization.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrganizationKey {
    Id(OrganizationId),
    Slug(String),
    Domain(String),
}

/// A permission to store what a lookup found, taken before the lookup started.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

struct Entry<V> {
    value: V,
    until: Instant,
    user: Option<UserId>,
    organization: Option<OrganizationId>,
    /// Other organizations whose change touches it (a person's list of organizations).
    also: Vec<OrganizationId>,
}

impl<V> Entry<V> {
    fn touched_by(&self, change: &Changed) -> bool {
        match change {
            Changed::User(id) => self.user == Some(*id),
            Changed::Organization(id) => self.organization == Some(*id) || self.also.contains(id),
        }
    }
}

struct Shelf<K, V> {
    entries: HashMap<K, Entry<V>>,
}

impl<K: Eq + Hash, V: Clone> Shelf<K, V> {
    fn new() -> Self {
        Shelf {
            entries: HashMap::new(),
        }
    }

    fn get(&self, key: &K, now: Instant) -> Option<V> {
        self.entries
            .get(key)
            .filter(|e| e.until > now)
            .map(|e| e.value.clone())
    }

    fn put(&mut self, key: K, entry: Entry<V>, now: Instant) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, e| e.until > now);
            if self.entries.len() >= MAX_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, entry);
    }

    fn forget(&mut self, change: &Changed) {
        self.entries.retain(|_, e| !e.touched_by(change));
    }
}

/// A browser session and the person it signs in.
#[derive(Clone, Debug)]
pub struct CachedSession {
    pub session: Session,
    pub actor: Actor,
}

/// An API key, its creator, and the creator's role in the key's organization.
#[derive(Clone, Debug)]
pub struct CachedKey {
    pub key: ApiKey,
    pub creator: Actor,
    pub creator_access: crate::roles::Access,
    /// The key's own role, before the creator's cap.
    pub own: crate::roles::Access,
}

struct Shelves {
    /// Access tokens: the person of a live sign-in (token family).
    families: Shelf<TokenFamilyId, Actor>,
    /// Browser sessions by the keyed hash of their token.
    sessions: Shelf<Vec<u8>, CachedSession>,
    /// API keys by the keyed hash of their secret.
    keys: Shelf<Vec<u8>, CachedKey>,
    /// Organizations by id, slug or custom domain. `None`: no organization has this domain.
    organizations: Shelf<OrganizationKey, Option<Organization>>,
    /// Members' roles.
    roles: Shelf<(OrganizationId, UserId), crate::roles::Access>,
    /// The organizations each person belongs to, with their role (the organizations menu).
    memberships: Shelf<UserId, Vec<UserOrganization>>,
}

/// See the module documentation.
pub struct IdentityCache {
    ttl: Duration,
    epoch: AtomicU64,
    listening: AtomicBool,
    shelves: RwLock<Shelves>,
}

impl IdentityCache {
    /// A cache whose entries live `ttl` at most; `Duration::ZERO` turns it off. It starts deaf
    /// (caching nothing) unless `listening`: a server turns it on once it hears the others.
    pub fn new(ttl: Duration, listening: bool) -> IdentityCache {
        IdentityCache {
            ttl,
            epoch: AtomicU64::new(0),
            listening: AtomicBool::new(listening),
            shelves: RwLock::new(Shelves {
                families: Shelf::new(),
                sessions: Shelf::new(),
                keys: Shelf::new(),
                organizations: Shelf::new(),
                roles: Shelf::new(),
                memberships: Shelf::new(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.listening.load(Ordering::Acquire)
    }

    /// Whether this server hears the others' changes.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Whether this server hears the others' changes (and so caches).
    pub fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        // Whatever changed while deaf, and whatever was looked up meanwhile, is unknown.
        self.clear();
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut shelves = self.write();
        shelves.families.entries.clear();
        shelves.sessions.entries.clear();
        shelves.keys.entries.clear();
        shelves.organizations.entries.clear();
        shelves.roles.entries.clear();
        shelves.memberships.entries.clear();
    }

    /// Forgets every entry the changes touch. A change to an organization also forgets which
    /// domains belong to no organization (it may have just taken one).
    pub fn forget(&self, changes: &[Changed]) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut shelves = self.write();
        for change in changes {
            shelves.families.forget(change);
            shelves.sessions.forget(change);
            shelves.keys.forget(change);
            shelves.organizations.forget(change);
            shelves.roles.forget(change);
            shelves.memberships.forget(change);
            if matches!(change, Changed::Organization(_)) {
                shelves
                    .organizations
                    .entries
                    .retain(|_, e| e.value.is_some());
            }
        }
    }

    /// Taken before a lookup whose answer is to be stored; `None` when nothing is cached now.
    pub fn ticket(&self) -> Option<Ticket> {
        self.enabled()
            .then(|| Ticket(self.epoch.load(Ordering::Acquire)))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Shelves> {
        self.shelves.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Shelves> {
        self.shelves.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lookup<T>(&self, pick: impl FnOnce(&Shelves, Instant) -> Option<T>) -> Option<T> {
        if !self.enabled() {
            return None;
        }
        pick(&self.read(), Instant::now())
    }

    /// Stores under the ticket's epoch only: a change since the lookup began voids it.
    fn store(
        &self,
        ticket: Option<Ticket>,
        user: Option<UserId>,
        organization: Option<OrganizationId>,
        put: impl FnOnce(&mut Shelves, EntryMeta, Instant),
    ) {
        let Some(Ticket(epoch)) = ticket else { return };
        if !self.enabled() {
            return;
        }
        let mut shelves = self.write();
        // Checked under the lock that `forget` takes after moving the epoch.
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        let now = Instant::now();
        put(
            &mut shelves,
            EntryMeta {
                until: now + self.ttl,
                user,
                organization,
                also: Vec::new(),
            },
            now,
        );
    }

    pub fn family(&self, family: TokenFamilyId) -> Option<Actor> {
        self.lookup(|s, now| s.families.get(&family, now))
    }

    pub fn put_family(&self, ticket: Option<Ticket>, family: TokenFamilyId, actor: &Actor) {
        self.store(ticket, Some(actor.user_id), None, |s, meta, now| {
            s.families.put(family, meta.entry(actor.clone()), now)
        });
    }

    pub fn session(&self, token_hash: &[u8]) -> Option<CachedSession> {
        self.lookup(|s, now| s.sessions.get(&token_hash.to_vec(), now))
    }

    pub fn put_session(&self, ticket: Option<Ticket>, token_hash: Vec<u8>, found: &CachedSession) {
        self.store(ticket, Some(found.actor.user_id), None, |s, meta, now| {
            s.sessions.put(token_hash, meta.entry(found.clone()), now)
        });
    }

    /// Records, in this server's copy only, that a session was just seen (the row was updated).
    pub fn session_seen(&self, token_hash: &[u8], at: chrono::DateTime<chrono::Utc>) {
        if let Some(entry) = self.write().sessions.entries.get_mut(token_hash) {
            entry.value.session.last_seen_at = at;
        }
    }

    pub fn key(&self, key_hash: &[u8]) -> Option<CachedKey> {
        self.lookup(|s, now| s.keys.get(&key_hash.to_vec(), now))
    }

    pub fn put_key(&self, ticket: Option<Ticket>, key_hash: Vec<u8>, found: &CachedKey) {
        self.store(
            ticket,
            Some(found.key.created_by),
            Some(found.key.organization_id),
            |s, meta, now| s.keys.put(key_hash, meta.entry(found.clone()), now),
        );
    }

    /// Records, in this server's copy only, that a key was just used (the row was updated).
    pub fn key_used(&self, key_hash: &[u8], at: chrono::DateTime<chrono::Utc>) {
        if let Some(entry) = self.write().keys.entries.get_mut(key_hash) {
            entry.value.key.last_used_at = Some(at);
        }
    }

    /// `Some(None)`: known to name no organization.
    pub fn organization(&self, key: &OrganizationKey) -> Option<Option<Organization>> {
        self.lookup(|s, now| s.organizations.get(key, now))
    }

    /// Stores an organization found, or (for a domain only) that none has it.
    pub fn put_organization(
        &self,
        ticket: Option<Ticket>,
        key: OrganizationKey,
        found: Option<&Organization>,
    ) {
        if found.is_none() && !matches!(key, OrganizationKey::Domain(_)) {
            return;
        }
        self.store(ticket, None, found.map(|o| o.id), |s, meta, now| {
            s.organizations.put(key, meta.entry(found.cloned()), now)
        });
    }

    /// What a member may do in an organization (their role and its permissions).
    pub fn access(
        &self,
        organization: OrganizationId,
        user: UserId,
    ) -> Option<crate::roles::Access> {
        self.lookup(|s, now| s.roles.get(&(organization, user), now))
    }

    pub fn put_access(
        &self,
        ticket: Option<Ticket>,
        organization: OrganizationId,
        user: UserId,
        access: &crate::roles::Access,
    ) {
        self.store(ticket, Some(user), Some(organization), |s, meta, now| {
            s.roles
                .put((organization, user), meta.entry(access.clone()), now)
        });
    }

    /// The organizations a person belongs to, with their role in each.
    pub fn memberships(&self, user: UserId) -> Option<Vec<UserOrganization>> {
        self.lookup(|s, now| s.memberships.get(&user, now))
    }

    /// Stores a person's organizations: forgotten when the person changes, when they join one
    /// (a new membership marks its person changed) or when any of these organizations changes.
    pub fn put_memberships(
        &self,
        ticket: Option<Ticket>,
        user: UserId,
        found: &[UserOrganization],
    ) {
        self.store(ticket, Some(user), None, |s, mut meta, now| {
            meta.also = found.iter().map(|o| o.id).collect();
            s.memberships.put(user, meta.entry(found.to_vec()), now)
        });
    }
}

struct EntryMeta {
    until: Instant,
    user: Option<UserId>,
    organization: Option<OrganizationId>,
    also: Vec<OrganizationId>,
}

impl EntryMeta {
    fn entry<V>(self, value: V) -> Entry<V> {
        Entry {
            value,
            until: self.until,
            user: self.user,
            organization: self.organization,
            also: self.also,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(user: UserId) -> Actor {
        Actor {
            user_id: user,
            email: "ann@example.com".into(),
            name: "Ann".into(),
            is_instance_admin: false,
            two_factor: false,
            created_at: chrono::Utc::now(),
            api_key: None,
            sign_in: None,
            confined_to: None,
        }
    }

    #[test]
    fn a_change_forgets_what_it_touches_and_nothing_else() {
        let cache = IdentityCache::new(Duration::from_secs(60), true);
        let (ann, bob) = (UserId::new(), UserId::new());
        let (ann_family, bob_family) = (TokenFamilyId::new(), TokenFamilyId::new());
        let org = OrganizationId::new();
        cache.put_family(cache.ticket(), ann_family, &actor(ann));
        cache.put_family(cache.ticket(), bob_family, &actor(bob));
        cache.put_access(
            cache.ticket(),
            org,
            ann,
            &crate::roles::Access::system(rapport_domain::Role::Admin),
        );
        cache.forget(&[Changed::User(ann)]);
        assert!(cache.family(ann_family).is_none());
        assert!(
            cache.access(org, ann).is_none(),
            "a role is the member's too"
        );
        assert_eq!(cache.family(bob_family).map(|a| a.user_id), Some(bob));
        cache.put_access(
            cache.ticket(),
            org,
            bob,
            &crate::roles::Access::system(rapport_domain::Role::Viewer),
        );
        cache.forget(&[Changed::Organization(org)]);
        assert!(cache.access(org, bob).is_none());
        assert!(cache.family(bob_family).is_some());
    }

    #[test]
    fn a_person_s_organizations_are_forgotten_when_any_of_them_or_the_person_changes() {
        let cache = IdentityCache::new(Duration::from_secs(60), true);
        let ann = UserId::new();
        let (harbour, agency, other) = (
            OrganizationId::new(),
            OrganizationId::new(),
            OrganizationId::new(),
        );
        let membership = |id, name: &str| UserOrganization {
            id,
            name: name.into(),
            slug: name.to_lowercase(),
            role: rapport_domain::Role::Member,
            role_key: None,
            two_factor_required: false,
            created_at: chrono::Utc::now(),
        };
        let list = [membership(harbour, "Harbour"), membership(agency, "Agency")];
        let names = |cache: &IdentityCache| {
            cache
                .memberships(ann)
                .map(|l| l.into_iter().map(|o| o.name).collect::<Vec<_>>())
        };
        cache.put_memberships(cache.ticket(), ann, &list);
        cache.forget(&[Changed::Organization(other)]);
        assert_eq!(
            names(&cache),
            Some(vec!["Harbour".to_owned(), "Agency".to_owned()]),
            "another organization's change leaves the list"
        );
        cache.forget(&[Changed::Organization(agency)]);
        assert_eq!(
            names(&cache),
            None,
            "renamed, left or suspended: read again"
        );
        cache.put_memberships(cache.ticket(), ann, &list);
        // Joining an organization marks the person changed.
        cache.forget(&[Changed::User(ann)]);
        assert_eq!(names(&cache), None);
    }

    #[test]
    fn an_answer_looked_up_across_a_change_is_not_kept() {
        let cache = IdentityCache::new(Duration::from_secs(60), true);
        let ann = UserId::new();
        let family = TokenFamilyId::new();
        let ticket = cache.ticket();
        // The lookup is under way when another request revokes the sign-in.
        cache.forget(&[Changed::User(ann)]);
        cache.put_family(ticket, family, &actor(ann));
        assert!(cache.family(family).is_none());
        cache.put_family(cache.ticket(), family, &actor(ann));
        assert!(cache.family(family).is_some());
    }

    #[test]
    fn a_deaf_or_disabled_cache_keeps_nothing() {
        let deaf = IdentityCache::new(Duration::from_secs(60), false);
        let family = TokenFamilyId::new();
        assert!(deaf.ticket().is_none());
        deaf.put_family(deaf.ticket(), family, &actor(UserId::new()));
        assert!(deaf.family(family).is_none());
        deaf.set_listening(true);
        deaf.put_family(deaf.ticket(), family, &actor(UserId::new()));
        assert!(deaf.family(family).is_some());
        deaf.set_listening(false);
        assert!(
            deaf.family(family).is_none(),
            "going deaf forgets everything"
        );

        let off = IdentityCache::new(Duration::ZERO, true);
        off.put_family(off.ticket(), family, &actor(UserId::new()));
        assert!(off.family(family).is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = IdentityCache::new(Duration::from_millis(20), true);
        let family = TokenFamilyId::new();
        cache.put_family(cache.ticket(), family, &actor(UserId::new()));
        assert!(cache.family(family).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.family(family).is_none());
    }

    #[test]
    fn unknown_domains_are_remembered_until_any_organization_changes() {
        let cache = IdentityCache::new(Duration::from_secs(60), true);
        let key = OrganizationKey::Domain("crm.harbour.example".into());
        cache.put_organization(cache.ticket(), key.clone(), None);
        assert!(matches!(cache.organization(&key), Some(None)));
        cache.forget(&[Changed::Organization(OrganizationId::new())]);
        assert!(cache.organization(&key).is_none());
        // Unknown ids and slugs are never remembered.
        let slug = OrganizationKey::Slug("nobody".into());
        cache.put_organization(cache.ticket(), slug.clone(), None);
        assert!(cache.organization(&slug).is_none());
    }
}
