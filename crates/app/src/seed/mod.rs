//! Sample data: a demo organization that looks used (`rapport seed --demo`), and organizations
//! of realistic size for benchmarks (`rapport seed --scale N`). Generated from a fixed seed, so
//! every run produces the same records.

use chrono::{DateTime, Duration, Utc};
use rapport_domain::builtin::COMPANY_SIZES;
use rapport_domain::deal::{DEFAULT_STAGES, DealStatus, StageKey};
use rapport_domain::money::Money;
use rapport_domain::organization::Currency;
use rapport_domain::{CompanyId, ContactId, DealId, OrganizationId, Role, UserId};
use rapport_store::activities::{self as store_activities, NewActivity};
use rapport_store::companies::{self as store_companies, NewCompany};
use rapport_store::contacts::{self as store_contacts, ContactFields};
use rapport_store::deals::{self as store_deals, DealFields};
use rapport_store::leads::{self as store_leads, LeadFields};
use rapport_store::tasks::{self as store_tasks, TaskFields};
use rapport_store::{Db, pipelines, seed, tags};
use serde_json::json;

mod berths;

use crate::organizations::NewOrganizationInput;
use crate::{App, AppResult, RequestMeta};

/// Records written per transaction when there are many.
const BATCH: usize = 5_000;

/// How many records of each kind an organization gets.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub companies: usize,
    pub contacts: usize,
    pub leads: usize,
    pub deals: usize,
    pub tasks: usize,
    /// Berths, a custom object of twenty fields (none: the object is not defined).
    pub berths: usize,
}

impl Size {
    pub const DEMO: Size = Size {
        companies: 180,
        contacts: 1_200,
        leads: 300,
        deals: 420,
        tasks: 320,
        berths: 96,
    };
    /// A busy sales team of a mid-sized business.
    pub const SCALE: Size = Size {
        companies: 1_000,
        contacts: 5_000,
        leads: 2_000,
        deals: 2_000,
        tasks: 1_500,
        berths: 0,
    };
}

/// What was created, to tell the person who ran the command.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub organization: String,
    pub slug: String,
    /// (email, role) of the people who can sign in, with the shared password.
    pub people: Vec<(String, Role)>,
    pub records: usize,
}

/// A small, deterministic random generator (SplitMix64): sample data needs variety, not secrecy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1).max(1) as u64) as i64
    }
}

const FIRST: [&str; 40] = [
    "Marta", "Jordi", "Laia", "Pau", "Núria", "Marc", "Elena", "David", "Sofia", "Hugo", "Clara",
    "Oriol", "Julia", "Tomás", "Irene", "Álex", "Carla", "Sergi", "Lucía", "Nil", "Emma", "Oliver",
    "Chloé", "Lukas", "Anna", "Matteo", "Freya", "Noah", "Ines", "Jonas", "Amélie", "Pedro",
    "Ingrid", "Luca", "Maya", "Erik", "Zoe", "Felix", "Nora", "Samuel",
];
const LAST: [&str; 40] = [
    "Ruiz",
    "Puig",
    "Serra",
    "Vidal",
    "Ferrer",
    "Costa",
    "Soler",
    "Mas",
    "Roca",
    "Font",
    "Martí",
    "Pons",
    "Bosch",
    "Riera",
    "Sala",
    "Vila",
    "Garcia",
    "López",
    "Moreau",
    "Dubois",
    "Rossi",
    "Bianchi",
    "Müller",
    "Schmidt",
    "Jensen",
    "Hansen",
    "Smith",
    "Taylor",
    "Brown",
    "Walsh",
    "Murphy",
    "Silva",
    "Santos",
    "Novak",
    "Kowalski",
    "Lindqvist",
    "Berg",
    "Nieminen",
    "Dupont",
    "Keller",
];
const PREFIX: [&str; 20] = [
    "Blue",
    "North",
    "Harbour",
    "Coral",
    "Anchor",
    "Tide",
    "Seaside",
    "Port",
    "Bay",
    "Reef",
    "Wave",
    "Gull",
    "Keel",
    "Mast",
    "Sail",
    "Pier",
    "Cove",
    "Lighthouse",
    "Marlin",
    "Compass",
];
const SUFFIX: [&str; 12] = [
    "Marine",
    "Yachts",
    "Charters",
    "Boatworks",
    "Logistics",
    "Sailing Club",
    "Shipyard",
    "Fisheries",
    "Ventures",
    "Outfitters",
    "Ferries",
    "Divers",
];
const INDUSTRIES: [&str; 8] = [
    "Marinas",
    "Boat building",
    "Charter",
    "Logistics",
    "Tourism",
    "Fishing",
    "Retail",
    "Insurance",
];
const TITLES: [&str; 9] = [
    "Owner",
    "Operations manager",
    "Harbour master",
    "Purchasing lead",
    "CEO",
    "Fleet manager",
    "Office manager",
    "Skipper",
    "Finance director",
];
const PRODUCTS: [&str; 10] = [
    "Annual berth",
    "Winter storage",
    "Hull cleaning",
    "Engine service",
    "Mooring buoy",
    "Charter package",
    "Sail repair",
    "Dry dock slot",
    "Fuel contract",
    "Marina Wi-Fi",
];
const SOURCES: [&str; 6] = [
    "Website",
    "Referral",
    "Boat show",
    "Cold call",
    "Partner",
    "Newsletter",
];
const COMMENTS: [&str; 8] = [
    "They want to compare with last season's price before signing.",
    "Budget approved on their side, waiting for the purchase order.",
    "Asked for a second quote with the winter discount.",
    "Decision moved to the board meeting next month.",
    "Very interested; wants to visit the marina first.",
    "Competitor offered 10% less, but our location wins.",
    "Sent the revised proposal, follow up on Friday.",
    "Their fleet grows next year: room for an upsell.",
];
const TASKS: [&str; 8] = [
    "Send the revised proposal",
    "Call back about the contract",
    "Prepare the berth plan",
    "Check insurance documents",
    "Book a visit of the marina",
    "Follow up on the invoice",
    "Confirm the delivery date",
    "Ask for references",
];
const OUTCOMES: [&str; 4] = [
    "Interested",
    "Left a message",
    "Call back next week",
    "Not now",
];

impl App {
    /// Creates the demo organization and its people (shared `password`).
    pub async fn seed_demo(&self, password: &str) -> AppResult<Seeded> {
        let people = [
            ("Alex Morgan", "demo@rapport.example", Role::Owner),
            ("Sam Rivera", "sam@rapport.example", Role::Admin),
            ("Jo Lindqvist", "jo@rapport.example", Role::Manager),
            ("Priya Nair", "priya@rapport.example", Role::Member),
            ("Tom Becker", "tom@rapport.example", Role::Member),
        ];
        self.seed_organization(
            "Harbourline Marine",
            "demo",
            &people,
            password,
            Size::DEMO,
            7,
        )
        .await
    }

    /// Creates `n` organizations of `size` (for benchmarks).
    pub async fn seed_scale(&self, n: usize, size: Size, password: &str) -> AppResult<Vec<Seeded>> {
        let mut out = Vec::new();
        let start = self.cli_list_organizations().await?.len();
        for i in 0..n {
            let k = start + i + 1;
            let email = format!("scale-owner-{k}@rapport.example");
            let member = format!("scale-member-{k}@rapport.example");
            out.push(
                self.seed_organization(
                    &format!("Scale Organization {k}"),
                    &format!("scale-{k}"),
                    &[
                        ("Scale Owner", email.as_str(), Role::Owner),
                        ("Scale Member", member.as_str(), Role::Member),
                    ],
                    password,
                    size,
                    1000 + k as u64,
                )
                .await?,
            );
        }
        Ok(out)
    }

    async fn seed_organization(
        &self,
        name: &str,
        slug: &str,
        people: &[(&str, &str, Role)],
        password: &str,
        size: Size,
        seed_value: u64,
    ) -> AppResult<Seeded> {
        let meta = RequestMeta::default();
        let mut users = Vec::new();
        for (person, email, _) in people {
            let user = match self.find_user_id(email).await {
                Ok(id) => id,
                Err(_) => {
                    self.cli_create_user(email, person, password, false)
                        .await?
                        .id
                }
            };
            users.push(user);
        }
        let org = self
            .create_organization_for(
                NewOrganizationInput {
                    name: name.to_owned(),
                    slug: Some(slug.to_owned()),
                    currency: Some("EUR".into()),
                    time_zone: Some("Europe/Madrid".into()),
                },
                people[0].1,
                None,
                &meta,
            )
            .await?;
        for (_, email, role) in &people[1..] {
            self.cli_add_member(slug, email, *role).await?;
        }
        let mut records = fill(&self.db, org.id, &users, size, seed_value).await?;
        if size.berths > 0 {
            records += berths::seed(&self.db, org.id, &users, size.berths, seed_value).await?;
        }
        Ok(Seeded {
            organization: name.to_owned(),
            slug: slug.to_owned(),
            people: people
                .iter()
                .map(|(_, e, r)| ((*e).to_owned(), *r))
                .collect(),
            records,
        })
    }
}

/// A moment `days` (and some hours) ago.
fn days_ago(rng: &mut Rng, days: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(days) - Duration::minutes(rng.between(0, 600))
}

async fn fill(
    db: &Db,
    org: OrganizationId,
    users: &[UserId],
    size: Size,
    seed_value: u64,
) -> AppResult<usize> {
    let mut tx = db.tenant(org).await?;
    let mut rng = Rng(seed_value);
    let mut count = 0;
    let pipeline = pipelines::default(&mut tx)
        .await?
        .ok_or(crate::AppError::NotFound)?;
    let mut tag_ids = Vec::new();
    for (tag, color) in [
        ("VIP", "amber"),
        ("Partner", "green"),
        ("Newsletter", "blue"),
        ("Needs follow-up", "red"),
    ] {
        tag_ids.push(tags::insert(&mut tx, tag, color).await?.id);
    }

    let mut companies: Vec<(CompanyId, String)> = Vec::new();
    for i in 0..size.companies {
        let name = format!(
            "{} {}{}",
            PREFIX[i % PREFIX.len()],
            SUFFIX[(i / PREFIX.len()) % SUFFIX.len()],
            if i >= PREFIX.len() * SUFFIX.len() {
                format!(" {}", i / (PREFIX.len() * SUFFIX.len()) + 1)
            } else {
                String::new()
            }
        );
        let domain = format!("{}.example", name.to_lowercase().replace([' ', '-'], ""));
        let c = store_companies::insert(
            &mut tx,
            &NewCompany {
                owner_id: *rng.pick(users),
                name: name.clone(),
                domain: Some(domain),
                industry: Some((*rng.pick(&INDUSTRIES)).to_owned()),
                size: Some(rng.pick(&COMPANY_SIZES).0.to_owned()),
                address: None,
            },
        )
        .await?;
        let at = {
            let d = rng_days(&mut rng, 400);
            days_ago(&mut rng, d)
        };
        seed::set_created(&mut tx, "companies", c.id.as_uuid(), at).await?;
        if rng.chance(15) {
            tags::set_for(&mut tx, "company", c.id.as_uuid(), &[*rng.pick(&tag_ids)]).await?;
        }
        companies.push((c.id, name));
        count += 1;
    }

    let mut contacts: Vec<(ContactId, Option<CompanyId>)> = Vec::new();
    for i in 0..size.contacts {
        // A million contacts are written in transactions of a few thousand.
        if i > 0 && i % BATCH == 0 {
            tx.commit().await?;
            // Each time the contacts double, so their lookups keep the plans of a table this big.
            if (i / BATCH).is_power_of_two() {
                seed::refresh_statistics(db).await?;
            }
            tx = db.tenant(org).await?;
        }
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i / FIRST.len() + i) % LAST.len()];
        let company =
            (!companies.is_empty() && rng.chance(85)).then(|| rng.pick(&companies).clone());
        let domain = company
            .as_ref()
            .map(|(_, n)| format!("{}.example", n.to_lowercase().replace(' ', "")))
            .unwrap_or_else(|| "mail.example".into());
        let email = format!(
            "{}.{}{}@{domain}",
            ascii(first),
            ascii(last),
            if i >= FIRST.len() * LAST.len() / 4 {
                (i % 97).to_string()
            } else {
                String::new()
            }
        );
        let c = store_contacts::insert(
            &mut tx,
            &ContactFields {
                owner_id: *rng.pick(users),
                company_id: company.as_ref().map(|(id, _)| *id),
                name: format!("{first} {last}"),
                email: Some(email),
                phone: Some(format!(
                    "+34 6{:02} {:03} {:03}",
                    rng.below(100),
                    rng.below(1000),
                    rng.below(1000)
                )),
                title: Some((*rng.pick(&TITLES)).to_owned()),
            },
        )
        .await?;
        let at = {
            let d = rng_days(&mut rng, 365);
            days_ago(&mut rng, d)
        };
        seed::set_created(&mut tx, "contacts", c.id.as_uuid(), at).await?;
        if rng.chance(12) {
            tags::set_for(&mut tx, "contact", c.id.as_uuid(), &[*rng.pick(&tag_ids)]).await?;
        }
        if rng.chance(20) {
            let a = store_activities::insert(
                &mut tx,
                NewActivity {
                    record_type: "contact",
                    record_id: c.id.as_uuid(),
                    author_id: Some(*rng.pick(users)),
                    kind: (*rng.pick(&["call", "email", "meeting"])).to_owned(),
                    payload: json!({"occurred_at": at, "duration_minutes": rng.between(5, 45), "outcome": rng.pick(&OUTCOMES), "notes": rng.pick(&COMMENTS)}),
                },
            )
            .await?;
            seed::set_created(
                &mut tx,
                "activities",
                a.id.as_uuid(),
                at + Duration::days(2),
            )
            .await?;
            count += 1;
        }
        contacts.push((c.id, company.map(|(id, _)| id)));
        count += 1;
    }

    let mut qualified = Vec::new();
    for i in 0..size.leads {
        let first = FIRST[(i * 7) % FIRST.len()];
        let last = LAST[(i * 11 + 3) % LAST.len()];
        let status = *rng.pick(&[
            "new",
            "new",
            "working",
            "working",
            "qualified",
            "disqualified",
        ]);
        let l = store_leads::insert(
            &mut tx,
            &LeadFields {
                owner_id: *rng.pick(users),
                name: format!("{first} {last}"),
                email: Some(format!(
                    "{}.{}{}@lead.example",
                    ascii(first),
                    ascii(last),
                    i
                )),
                phone: None,
                company_name: Some(format!("{} {}", rng.pick(&PREFIX), rng.pick(&SUFFIX))),
                source: Some((*rng.pick(&SOURCES)).to_owned()),
                status: rapport_domain::lead::LeadStatus::parse(status)
                    .unwrap_or(rapport_domain::lead::LeadStatus::New),
                score: rng.between(5, 95),
            },
        )
        .await?;
        let at = {
            let d = rng_days(&mut rng, 120);
            days_ago(&mut rng, d)
        };
        seed::set_created(&mut tx, "leads", l.id.as_uuid(), at).await?;
        if status == "qualified" {
            qualified.push(l.id);
        }
        count += 1;
    }

    let stages: Vec<&str> = pipeline.stages.iter().map(|s| s.key.as_str()).collect();
    let mut deals: Vec<(DealId, UserId)> = Vec::new();
    for _ in 0..size.deals {
        let (contact, company) = if contacts.is_empty() {
            (None, None)
        } else {
            let (c, co) = *rng.pick(&contacts);
            (Some(c), co)
        };
        let company_name = company
            .and_then(|id| companies.iter().find(|(c, _)| *c == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "Private client".into());
        let roll = rng.below(100);
        let (status, stage_index) = match roll {
            0..=44 => (
                DealStatus::InProgress,
                rng.below(stages.len().saturating_sub(1).max(1)),
            ),
            45..=59 => (DealStatus::New, 0),
            60..=84 => (DealStatus::Won, stages.len() - 1),
            _ => (
                DealStatus::Lost,
                rng.below(stages.len().saturating_sub(1).max(1)),
            ),
        };
        let stage = stages.get(stage_index).copied().unwrap_or("qualification");
        let probability = match status {
            DealStatus::Won => 100,
            DealStatus::Lost => 0,
            _ => DEFAULT_STAGES
                .iter()
                .find(|s| s.0 == stage)
                .map(|s| s.2)
                .unwrap_or(10),
        };
        let owner = *rng.pick(users);
        let amount = rng.between(10, 1200) * 5_000;
        let created_days = rng_days(&mut rng, 180);
        let expected = (!status.is_closed())
            .then(|| Utc::now().date_naive() + Duration::days(rng.between(-10, 90)));
        let d = store_deals::insert(
            &mut tx,
            &DealFields {
                pipeline_id: pipeline.id,
                stage: StageKey::from_name(stage),
                contact_id: contact,
                company_id: company,
                owner_id: owner,
                title: format!("{company_name} — {}", rng.pick(&PRODUCTS)),
                amount: Money::new(amount, Currency::DEFAULT),
                status,
                close_probability: probability,
                expected_close_date: expected,
            },
        )
        .await?;
        let created = days_ago(&mut rng, created_days);
        seed::set_created(&mut tx, "deals", d.id.as_uuid(), created).await?;
        let in_stage_days = rng.between(0, created_days.max(1));
        let stage_changed = created + Duration::days(created_days - in_stage_days);
        let closed = status.is_closed().then_some(stage_changed);
        seed::set_deal_times(&mut tx, d.id.as_uuid(), stage_changed, closed).await?;
        // The way here: one stage change per stage passed, then the status.
        for (step, pair) in stages[..=stage_index].windows(2).enumerate() {
            let a = store_activities::insert(
                &mut tx,
                NewActivity {
                    record_type: "deal",
                    record_id: d.id.as_uuid(),
                    author_id: Some(owner),
                    kind: "stage_changed".into(),
                    payload: json!({"from": pair[0], "to": pair[1]}),
                },
            )
            .await?;
            let at = created
                + Duration::days(
                    (step as i64 + 1) * (created_days - in_stage_days).max(1)
                        / (stage_index as i64 + 1),
                );
            seed::set_created(&mut tx, "activities", a.id.as_uuid(), at).await?;
            count += 1;
        }
        if status != DealStatus::New {
            let a = store_activities::insert(
                &mut tx,
                NewActivity {
                    record_type: "deal",
                    record_id: d.id.as_uuid(),
                    author_id: Some(owner),
                    kind: "status_changed".into(),
                    payload: json!({"from": DealStatus::New.as_str(), "to": status.as_str()}),
                },
            )
            .await?;
            seed::set_created(&mut tx, "activities", a.id.as_uuid(), stage_changed).await?;
            count += 1;
        }
        if rng.chance(60) {
            let a = store_activities::insert(
                &mut tx,
                NewActivity {
                    record_type: "deal",
                    record_id: d.id.as_uuid(),
                    author_id: Some(*rng.pick(users)),
                    kind: "comment".into(),
                    payload: json!({"text": rng.pick(&COMMENTS), "mentions": []}),
                },
            )
            .await?;
            seed::set_created(
                &mut tx,
                "activities",
                a.id.as_uuid(),
                created + Duration::hours(rng.between(2, 48)),
            )
            .await?;
            count += 1;
        }
        if rng.chance(10) {
            tags::set_for(&mut tx, "deal", d.id.as_uuid(), &[*rng.pick(&tag_ids)]).await?;
        }
        if !status.is_closed() {
            deals.push((d.id, owner));
        }
        count += 1;
    }

    // Two thirds of the qualified leads were converted, each into a contact with a deal.
    for (i, lead) in qualified.iter().enumerate() {
        if i % 3 == 2 || contacts.is_empty() || deals.is_empty() {
            continue;
        }
        let (contact, company) = *rng.pick(&contacts);
        let (deal, _) = *rng.pick(&deals);
        store_leads::mark_converted(&mut tx, *lead, contact, company, Some(deal)).await?;
    }

    let today = Utc::now().date_naive();
    for i in 0..size.tasks {
        let on_deal = (!deals.is_empty() && rng.chance(70)).then(|| *rng.pick(&deals));
        let assignee = on_deal.map(|(_, o)| o).unwrap_or_else(|| *rng.pick(users));
        let done = rng.chance(35);
        let due = match rng.below(10) {
            0..=2 => Some(today - Duration::days(rng.between(1, 12))),
            3..=4 => Some(today),
            5..=8 => Some(today + Duration::days(rng.between(1, 30))),
            _ => None,
        };
        let t = store_tasks::insert(
            &mut tx,
            assignee,
            &TaskFields {
                deal_id: on_deal.map(|(d, _)| d),
                contact_id: None,
                company_id: None,
                record_id: None,
                assignee_id: assignee,
                title: TASKS[i % TASKS.len()].to_owned(),
                description: None,
                due_date: due,
                is_done: done,
                remind_at: None,
                portal_visible: false,
            },
        )
        .await?;
        seed::set_created(&mut tx, "tasks", t.id.as_uuid(), {
            let d = rng.between(1, 20);
            days_ago(&mut rng, d)
        })
        .await?;
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}

/// A number of days back, weighted towards recent.
fn rng_days(rng: &mut Rng, max: i64) -> i64 {
    let a = rng.between(0, max);
    let b = rng.between(0, max);
    a.min(b)
}

/// Letters for an email address.
fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' => 'a',
            'é' | 'è' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            'Á' => 'a',
            'Ñ' | 'ñ' => 'n',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}
