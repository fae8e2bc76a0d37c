//! Synthetic children with a plausible history, written straight into a
//! server's database through the server library: what `bothy-load
//! --children N` seeds and the outcomes report tests and times run over.
//!
//! Each child, over `years` years up to `today`: a plan with a reason, needs
//! and actions, a review every six months (most on time, some late) at which
//! the lead professional and sometimes another agency rate the eight
//! indicators (the ratings drift up or down by a little; now and then one
//! is rated again between reviews), now and then the
//! young person's or the family's views; a date of birth from 0 to 17 years
//! before `today`, so some are 15 or over, with a transition plan in place by
//! 15, made late, or missing; a team record with a visit a week (seen, seen
//! alone or not), family voice now and then, some visits in an agency's own
//! record; and for some children a request for help, accepted after a few
//! days or not yet answered.
//!
//! Each plan's actions are updated at every review (under way, then done or
//! not), and about one visit in thirteen goes into the chronology.
//!
//! Everything comes from one seed (printed by the callers), so a run can be
//! made again exactly. Each document is written as the changes that made it
//! ([`replay`]): created by the server, then a change per review, rating,
//! action update, view, visit (and another when it is finalised), family
//! voice and chronology entry, in date order, each by the device of the
//! person who made it, so its Automerge history is as long as a real one.
//! Requests for help stay one change each.

pub mod replay;

use std::collections::BTreeMap;

use bothy_server::directory::{self, server_actor};
use bothy_server::storage::{ChildRecord, NewDocument, PersonRecord, RequestRecord, Storage};
use bothy_shared::docs::{
    AboutChild, Action, ActionStatus, ChildDetails, ChronologyEntry, DocKey, FamilyVoice, Impact,
    Indicator, IsoDate, Need, PersonRef, PlanDoc, Rating, RecordDoc, RequestDoc, RequestStep,
    ReviewMeeting, SCHEMA_VERSION, Sharing, Significance, StepKind, Text, Timestamp,
    TransitionPlan, ViewEntry, Visit, VisitKind, VoiceOf, new_document,
};
use bothy_shared::ids::{Agency, ChildId, ItemId, PersonId, RequestId};
use bothy_shared::policy::{PersonKind, TeamMember, TeamRole};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::Result;

/// What to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryOptions {
    pub children: usize,
    /// Years of history before `today` (at least 1).
    pub years: u32,
    /// The last day of the history.
    pub today: IsoDate,
    pub seed: u64,
}

/// What was made (the sizes `bothy-load --children` prints).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Made {
    pub children: usize,
    pub practitioners: usize,
    pub documents: usize,
    pub ratings: usize,
    pub reviews: usize,
    pub needs: usize,
    pub visits: usize,
    pub family_voices: usize,
    pub views: usize,
    pub fifteen_or_over: usize,
    pub requests: usize,
    /// Changes stored, in every document.
    pub changes: usize,
    /// Bytes of the stored changes (before sealing).
    pub change_bytes: usize,
    /// Bytes of the same documents each saved whole (`Automerge::save`,
    /// compressed): what a compacted copy of them takes.
    pub compressed_bytes: usize,
    /// Chronology entries.
    pub chronology: usize,
}

/// The agencies practitioners in the synthetic partnership come from.
const AGENCIES: [Agency; 5] = [
    Agency::SocialWork,
    Agency::Health,
    Agency::Education,
    Agency::ThirdSector,
    Agency::Police,
];

/// Practitioners per agency.
const PER_AGENCY: usize = 8;

/// The synthetic partnership's practitioners, made once per database.
#[derive(Debug, Clone)]
pub struct Practitioners(Vec<PersonRef>);

impl Practitioners {
    /// `PER_AGENCY` practitioners per agency (not stored).
    pub fn make(rng: &mut ChaCha8Rng) -> Practitioners {
        let mut out = Vec::new();
        for agency in AGENCIES {
            for n in 0..PER_AGENCY {
                out.push(PersonRef {
                    person: PersonId(uuid(rng)),
                    name: format!("Synthetic {} worker {n}", agency.label()),
                    agency,
                    role_title: "Practitioner".into(),
                });
            }
        }
        Practitioners(out)
    }

    /// Add `PER_AGENCY` practitioners per agency to the directory.
    pub fn add(storage: &dyn Storage, rng: &mut ChaCha8Rng) -> Result<Practitioners> {
        let made = Practitioners::make(rng);
        for person in &made.0 {
            storage.add_person(&PersonRecord {
                id: person.person,
                name: person.name.clone(),
                kind: PersonKind::Practitioner,
                agency: Some(person.agency),
            })?;
        }
        Ok(made)
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> &PersonRef {
        &self.0[rng.gen_range(0..self.0.len())]
    }

    fn of(&self, agency: Agency, rng: &mut ChaCha8Rng) -> &PersonRef {
        let of: Vec<_> = self.0.iter().filter(|p| p.agency == agency).collect();
        of[rng.gen_range(0..of.len())]
    }
}

fn uuid(rng: &mut ChaCha8Rng) -> Uuid {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

fn item(rng: &mut ChaCha8Rng) -> ItemId {
    ItemId(uuid(rng))
}

/// Noon UTC of a day, as a [`Timestamp`].
fn noon(day: IsoDate) -> Timestamp {
    hours_later(Timestamp::from_datetime(day.0.midnight().assume_utc()), 12)
}

fn hours_later(t: Timestamp, hours: i64) -> Timestamp {
    Timestamp(t.0.saturating_add(hours * 3_600_000))
}

/// The day someone born on `born` turns 15 (29 February: 1 March).
pub fn fifteenth_birthday(born: IsoDate) -> IsoDate {
    let year = born.0.year() + 15;
    IsoDate::from_ymd(year, born.0.month() as u8, born.0.day())
        .or_else(|_| IsoDate::from_ymd(year, 3, 1))
        .unwrap_or(born)
}

/// One synthetic child's documents, and what they hold.
#[derive(Debug, Clone)]
pub struct ChildHistory {
    pub id: ChildId,
    pub name: String,
    pub lead: PersonRef,
    pub plan: PlanDoc,
    pub record: RecordDoc,
    pub agency_records: Vec<RecordDoc>,
    /// Requests for help accepted for this child: the request and its document.
    pub requests: Vec<(RequestRecord, RequestDoc)>,
}

/// Make one child's history (no storage: the caller writes it).
pub fn child_history(
    rng: &mut ChaCha8Rng,
    people: &Practitioners,
    n: usize,
    today: IsoDate,
    years: u32,
) -> ChildHistory {
    let id = ChildId(uuid(rng));
    let name = format!("Synthetic child {n}");
    let start = today.plus_days(-365 * i64::from(years.max(1)));
    let born = today.plus_days(-rng.gen_range(30..18 * 365));
    let lead = people.pick(rng).clone();
    let other = (rng.gen_bool(0.6)).then(|| people.pick(rng).clone());
    let mut plan = PlanDoc::new(
        id,
        ChildDetails {
            name: name.clone(),
            preferred_name: String::new(),
            date_of_birth: Some(born),
            pronouns: String::new(),
            communication_needs: Text::default(),
        },
    );
    plan.lead_professional = Some(lead.clone());
    plan.team.insert(lead.person, lead.clone());
    if let Some(o) = &other {
        plan.team.insert(o.person, o.clone());
    }
    plan.reason = Text::with_value("Worries about school and home.");
    for _ in 0..rng.gen_range(1..=3) {
        let need_id = item(rng);
        let mut actions = BTreeMap::new();
        for _ in 0..rng.gen_range(1..=2) {
            let a = item(rng);
            actions.insert(
                a,
                Action {
                    id: a,
                    what: Text::with_value("Meet every fortnight."),
                    owner: Some(lead.clone()),
                    due: Some(start.plus_days(rng.gen_range(30..365))),
                    status: [
                        ActionStatus::NotStarted,
                        ActionStatus::InProgress,
                        ActionStatus::Done,
                    ][rng.gen_range(0..3)],
                    progress: Text::default(),
                },
            );
        }
        plan.needs.insert(
            need_id,
            Need {
                id: need_id,
                need: Text::with_value("Needs help to get to school."),
                indicators: vec![Indicator::ALL[rng.gen_range(0..8)]],
                desired_outcome: Text::with_value("Goes to school most days."),
                evidence: Text::with_value("Attendance."),
                actions,
                created_by: lead.person,
                created_at: noon(start),
                closed: None,
            },
        );
    }

    // Reviews every six months, most on time; ratings given at each.
    let mut scores: BTreeMap<Indicator, u8> = Indicator::ALL
        .iter()
        .map(|i| (*i, rng.gen_range(2..=9)))
        .collect();
    let mut due = start;
    let mut first = true;
    loop {
        let held = if first {
            start
        } else if rng.gen_bool(0.8) {
            due.plus_days(-rng.gen_range(0..14))
        } else {
            due.plus_days(rng.gen_range(1..45))
        };
        if held > today {
            break;
        }
        first = false;
        let next = held.plus_days(182);
        let r = item(rng);
        let views = rng.gen_bool(0.4);
        plan.reviews.insert(
            r,
            ReviewMeeting {
                id: r,
                held_on: held,
                attended: vec!["Lead professional".into()],
                young_person_views: Text::with_value(if views {
                    "I like my new class."
                } else {
                    ""
                }),
                family_views: Text::default(),
                decisions: Text::with_value("Keep the plan."),
                plan_changes: Text::default(),
                next_review: Some(next),
                recorded_by: lead.person,
                recorded_at: noon(held),
            },
        );
        for i in Indicator::ALL {
            let s = scores.entry(i).or_insert(5);
            *s = (i16::from(*s) + rng.gen_range(-2i16..=2)).clamp(1, 10) as u8;
            let by = match &other {
                Some(o) if rng.gen_bool(0.3) => o,
                _ => &lead,
            };
            let rid = item(rng);
            plan.wellbeing.get_mut(i).ratings.insert(
                rid,
                Rating {
                    id: rid,
                    score: *s,
                    on: held,
                    by: by.person,
                    agency: by.agency,
                    recorded_at: noon(held),
                    note: String::new(),
                },
            );
        }
        // Now and then a rating between reviews, after a change in the
        // child's life (up or down by up to 3).
        let between = held.plus_days(rng.gen_range(60..150));
        if between <= today && rng.gen_bool(0.35) {
            let i = Indicator::ALL[rng.gen_range(0..Indicator::ALL.len())];
            let s = scores.entry(i).or_insert(5);
            *s = (i16::from(*s) + rng.gen_range(-3i16..=3)).clamp(1, 10) as u8;
            let rid = item(rng);
            plan.wellbeing.get_mut(i).ratings.insert(
                rid,
                Rating {
                    id: rid,
                    score: *s,
                    on: between,
                    by: lead.person,
                    agency: lead.agency,
                    recorded_at: noon(between),
                    note: String::new(),
                },
            );
        }
        plan.review_date = Some(next);
        due = next;
    }
    // Each action as the last review left it (`replay` makes the updates
    // at every review in between).
    let reviews_held = plan.reviews.len();
    if let Some(last) = plan.reviews.values().map(|r| r.held_on).max() {
        for need in plan.needs.values_mut() {
            for a in need.actions.values_mut() {
                let (status, words) =
                    replay::action_at_review(a.status, reviews_held, reviews_held, last);
                a.status = status;
                a.progress = Text::with_value(words);
            }
        }
    }
    if rng.gen_bool(0.5) {
        let v = item(rng);
        plan.young_person_views.insert(
            v,
            ViewEntry {
                id: v,
                about: "My plan".into(),
                words: Text::with_value("I want to stay at my school."),
                said_by: "Me".into(),
                author: lead.person,
                at: noon(start.plus_days(rng.gen_range(0..300))),
            },
        );
    }
    if rng.gen_bool(0.3) {
        let v = item(rng);
        plan.family_views.insert(
            v,
            ViewEntry {
                id: v,
                about: "Home".into(),
                words: Text::with_value("We need more help in the mornings."),
                said_by: "Mum".into(),
                author: lead.person,
                at: noon(start.plus_days(rng.gen_range(0..300))),
            },
        );
    }
    let fifteenth = fifteenth_birthday(born);
    if fifteenth <= today.plus_days(180) {
        let roll: f64 = rng.r#gen();
        let recorded = if roll < 0.6 {
            Some(fifteenth.plus_days(-rng.gen_range(1..200)))
        } else if roll < 0.75 {
            Some(fifteenth.plus_days(rng.gen_range(30..300)))
        } else {
            None
        };
        if let Some(on) = recorded.filter(|d| *d <= today) {
            plan.transition = TransitionPlan {
                needed: true,
                adult_services: Text::with_value("Adult social work"),
                plan: Text::with_value("Meet the adult team before 16."),
                start_by: Some(on.plus_days(365)),
                services: vec![Agency::AdultSocialWork],
                recorded_by: Some(lead.person),
                recorded_at: Some(noon(on)),
            };
        }
    }

    // A visit a week; now and then family voice; some in an agency record.
    let mut record = RecordDoc::new(id, None);
    let mut agency_record = RecordDoc::new(id, Some(lead.agency));
    let mut day = start.plus_days(rng.gen_range(0..7));
    let mut visits_made = 0usize;
    while day <= today {
        let v = item(rng);
        let agency_only = rng.gen_bool(0.1);
        let seen = rng.gen_bool(0.9);
        let visit = Visit {
            id: v,
            at: hours_later(noon(day), rng.gen_range(-3..4)),
            place: "Home".into(),
            kind: VisitKind::Home,
            practitioner: lead.person,
            practitioner_name: lead.name.clone(),
            agency: lead.agency,
            present: vec![],
            child_seen: seen,
            seen_alone: seen && rng.gen_bool(0.5),
            observations: Text::with_value("Calm visit."),
            analysis: Text::default(),
            child_said: Text::default(),
            next_steps: Text::default(),
            linked_actions: vec![],
            sharing: if agency_only {
                Sharing::Agency
            } else {
                Sharing::Team
            },
            significant: false,
            finalised: Some(noon(day)),
            addenda: BTreeMap::new(),
        };
        visits_made += 1;
        if !agency_only && visits_made.is_multiple_of(13) {
            let c = ItemId(Uuid::from_u128(v.0.as_u128() ^ 0xc4));
            record.chronology.insert(
                c,
                ChronologyEntry {
                    id: c,
                    date: day,
                    until: None,
                    event: Text::with_value("Home visit: the child talked about school."),
                    source_agency: lead.agency,
                    impact: Impact::NotKnown,
                    impact_note: Text::default(),
                    action: Text::with_value("Noted for the next review."),
                    significance: Significance::Routine,
                    recorded_by: lead.person,
                    from_visit: Some(v),
                },
            );
        }
        if agency_only {
            agency_record.visits.insert(v, visit);
        } else {
            record.visits.insert(v, visit);
        }
        if rng.gen_bool(0.05) {
            let f = item(rng);
            record.family_voice.insert(
                f,
                FamilyVoice {
                    id: f,
                    at: noon(day),
                    said_by: "Dad".into(),
                    voice_of: VoiceOf::Parent,
                    own_words: Text::with_value("Things are better."),
                    scale_question: "How are things at home?".into(),
                    scale: Some(rng.gen_range(0..=10)),
                    worries: Text::default(),
                    good_things: Text::default(),
                    dreams: Text::default(),
                    consent_to_share: true,
                    recorded_by: lead.person,
                    agency: lead.agency,
                    from_visit: Some(v),
                },
            );
        }
        day = day.plus_days(7);
    }

    let mut requests = Vec::new();
    if rng.gen_bool(0.15) {
        let sender = people.pick(rng).clone();
        let to = AGENCIES[rng.gen_range(0..AGENCIES.len())];
        let duty = people.of(to, rng).clone();
        let rid = RequestId(uuid(rng));
        let sent = noon(start.plus_days(rng.gen_range(0..(today.0 - start.0).whole_days().max(1))));
        let mut steps = BTreeMap::new();
        let s = item(rng);
        steps.insert(
            s,
            RequestStep {
                id: s,
                kind: StepKind::Sent,
                by: sender.person,
                by_name: sender.name.clone(),
                at: sent,
                note: String::new(),
                child: None,
                new_child: false,
            },
        );
        if rng.gen_bool(0.85) {
            let a = item(rng);
            steps.insert(
                a,
                RequestStep {
                    id: a,
                    kind: StepKind::Accepted,
                    by: duty.person,
                    by_name: duty.name.clone(),
                    at: hours_later(sent.plus_days(rng.gen_range(0..12)), rng.gen_range(0..6)),
                    note: String::new(),
                    child: Some(id),
                    new_child: false,
                },
            );
        }
        requests.push((
            RequestRecord {
                id: rid,
                sender: sender.person,
                sender_agency: sender.agency,
                to,
                child: Some(id),
            },
            RequestDoc {
                schema_version: SCHEMA_VERSION,
                request_id: rid,
                from: sender,
                to,
                child: Some(id),
                about: AboutChild::default(),
                reason: Text::with_value("Worried about attendance."),
                concerns: vec![Indicator::Achieving],
                concern_details: Text::default(),
                views: Text::default(),
                basis: None,
                urgent: rng.gen_bool(0.2),
                steps,
            },
        ));
    }

    let agency_records = if agency_record.visits.is_empty() {
        Vec::new()
    } else {
        vec![agency_record]
    };
    ChildHistory {
        id,
        name,
        lead,
        plan,
        record,
        agency_records,
        requests,
    }
}

impl ChildHistory {
    /// Every document of the child (plan, team record, agency records), as
    /// the changes that made them ([`replay::documents`]).
    pub fn documents(&self) -> Result<Vec<NewDocument>> {
        Ok(replay::documents(self)?
            .iter()
            .map(|(key, doc)| directory::existing_document(*key, doc))
            .collect())
    }

    /// Write the child, its lead professional on its team, and its requests.
    pub fn store(&self, storage: &dyn Storage, now: i64, made: &mut Made) -> Result<()> {
        let replayed = replay::documents(self)?;
        made.compressed_bytes += replayed.iter().map(|(_, d)| d.save().len()).sum::<usize>();
        let documents: Vec<NewDocument> = replayed
            .iter()
            .map(|(key, doc)| directory::existing_document(*key, doc))
            .collect();
        made.documents += documents.len();
        made.changes += documents.iter().map(|d| d.changes.len()).sum::<usize>();
        made.change_bytes += documents
            .iter()
            .flat_map(|d| &d.changes)
            .map(|c| c.bytes.len())
            .sum::<usize>();
        made.chronology += self.record.chronology.len();
        let child = ChildRecord {
            id: self.id,
            name: self.name.clone(),
        };
        storage.add_child(&child, &documents, now)?;
        let member = TeamMember {
            agency: self.lead.agency,
            role: TeamRole::LeadProfessional,
        };
        let new = directory::agency_record_if_new(storage, &child, self.lead.agency)?;
        storage.set_team_member(self.id, self.lead.person, member, &new, now)?;
        for (record, request) in &self.requests {
            storage.open_request(record, now)?;
            let d = doc(DocKey::Request(record.id), request)?;
            made.changes += d.changes.len();
            made.change_bytes += d.changes.iter().map(|c| c.bytes.len()).sum::<usize>();
            storage.commit_sync(&[], &[d], now)?;
            storage.link_request(record.id, self.id)?;
            made.requests += 1;
            made.documents += 1;
        }
        made.children += 1;
        made.ratings += Indicator::ALL
            .iter()
            .map(|i| self.plan.wellbeing.get(*i).ratings.len())
            .sum::<usize>();
        made.reviews += self.plan.reviews.len();
        made.needs += self.plan.needs.len();
        made.views += self.plan.young_person_views.len();
        made.visits += self.record.visits.len()
            + self
                .agency_records
                .iter()
                .map(|r| r.visits.len())
                .sum::<usize>();
        made.family_voices += self.record.family_voice.len();
        Ok(())
    }
}

fn doc<T: bothy_shared::docs::CaseDocument>(key: DocKey, value: &T) -> Result<NewDocument> {
    let d = new_document(&key, value, server_actor())?;
    Ok(directory::existing_document(key, &d))
}

/// Seed `options.children` children into `storage` (with the practitioners
/// they need), returning the sizes made.
pub fn seed(storage: &dyn Storage, options: HistoryOptions) -> Result<Made> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let people = Practitioners::add(storage, &mut rng)?;
    let now = crate::db::now();
    let mut made = Made {
        practitioners: people.0.len(),
        ..Made::default()
    };
    for n in 0..options.children {
        let child = child_history(&mut rng, &people, n, options.today, options.years);
        let fifteen = child
            .plan
            .child
            .date_of_birth
            .is_some_and(|b| fifteenth_birthday(b) <= options.today);
        made.fifteen_or_over += usize::from(fifteen);
        child.store(storage, now, &mut made)?;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use bothy_shared::docs::read_document;
    use bothy_shared::ids::server_actor;

    fn children(n: usize, years: u32) -> Vec<ChildHistory> {
        let mut rng = ChaCha8Rng::seed_from_u64(18);
        let people = Practitioners::make(&mut rng);
        let today = IsoDate::from_ymd(2026, 12, 3).unwrap();
        (0..n)
            .map(|i| child_history(&mut rng, &people, i, today, years))
            .collect()
    }

    #[test]
    fn the_changes_make_exactly_the_childs_documents() {
        for child in children(6, 3) {
            let docs = replay::documents(&child).unwrap();
            assert_eq!(docs.len(), 2 + child.agency_records.len());
            for (key, doc) in &docs {
                match key {
                    DocKey::Plan(_) => {
                        let plan: PlanDoc = read_document(doc, key).unwrap();
                        assert!(plan == child.plan, "the plan differs from its history");
                    }
                    DocKey::Record(_) => {
                        let record: RecordDoc = read_document(doc, key).unwrap();
                        assert!(record == child.record, "the team record differs");
                    }
                    DocKey::Agency(_, a) => {
                        let record: RecordDoc = read_document(doc, key).unwrap();
                        let expected = child
                            .agency_records
                            .iter()
                            .find(|r| r.agency == Some(*a))
                            .unwrap();
                        assert!(&record == expected, "the {a:?} record differs");
                    }
                    other => panic!("unexpected document {other}"),
                }
            }
        }
    }

    #[test]
    fn each_step_is_its_own_change_by_its_persons_device_in_date_order() {
        let child = children(1, 5).remove(0);
        let docs: BTreeMap<DocKey, automerge::Automerge> =
            replay::documents(&child).unwrap().into_iter().collect();
        let record = &docs[&DocKey::Record(child.id)];
        let changes = record.get_changes(&[]);
        // Created by the server, then a change per visit, one more per
        // finalised visit, and one per family voice and chronology entry.
        let visits = child.record.visits.len();
        let finalised = child
            .record
            .visits
            .values()
            .filter(|v| v.finalised.is_some())
            .count();
        assert!(visits > 200, "five years of weekly visits: {visits}");
        assert_eq!(
            changes.len(),
            1 + visits
                + finalised
                + child.record.family_voice.len()
                + child.record.chronology.len()
        );
        assert_eq!(changes[0].actor_id(), &server_actor());
        let lead = replay::device_of(child.lead.person).actor_id();
        assert!(changes[1..].iter().all(|c| c.actor_id() == &lead));
        let times: Vec<i64> = changes.iter().map(|c| c.timestamp()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "in date order");
        // The plan: a change per review, rating, action update, view.
        let plan = &docs[&DocKey::Plan(child.id)];
        let ratings: usize = Indicator::ALL
            .iter()
            .map(|i| child.plan.wellbeing.get(*i).ratings.len())
            .sum();
        let actions: usize = child.plan.needs.values().map(|n| n.actions.len()).sum();
        let reviews = child.plan.reviews.len();
        assert!(reviews >= 10, "a review every six months: {reviews}");
        assert_eq!(
            plan.get_changes(&[]).len(),
            1 + reviews * (2 + actions)
                + ratings
                + child.plan.young_person_views.len()
                + child.plan.family_views.len()
                + usize::from(child.plan.transition.recorded_at.is_some())
        );
    }
}
