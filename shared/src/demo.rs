//! A fictional partnership for the demo server, the app's demo mode and tests.
//!
//! Every name, date and event here is invented. Ids are fixed so that scripts
//! and tests can refer to the same people and children on every run.
//!
//! Behind the `demo` feature: the model itself never needs it.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, Automerge};
use uuid::Uuid;

use crate::docs::*;
use crate::ids::{Agency, ChildId, DeviceId, ItemId, PersonId};
use crate::policy::{ChildTeam, PersonKind, Principal, TeamMember, TeamRole};

/// The actor the server uses for documents it creates itself.
pub use crate::ids::server_actor;

/// One person in the demo directory.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub id: PersonId,
    pub name: String,
    pub kind: PersonKind,
    pub agency: Option<Agency>,
    pub supervises: Vec<PersonId>,
    /// `practitioner`, `lead-professional`, `named-person`, `supervisor`,
    /// `young-person` or `duty` (a practitioner on their agency's duty team).
    pub role_label: String,
    pub role_title: String,
}

impl DemoPerson {
    /// On their agency's duty team: they receive its requests for help.
    pub fn on_duty(&self) -> bool {
        self.role_label == "duty"
    }

    /// This person using `device`.
    pub fn principal(&self, device: DeviceId) -> Principal {
        Principal {
            person: self.id,
            agency: self.agency,
            kind: self.kind,
            device,
            device_revoked: false,
            supervises: self.supervises.iter().copied().collect::<BTreeSet<_>>(),
        }
    }
}

/// One child with their team and documents.
#[derive(Debug, Clone)]
pub struct DemoChild {
    pub id: ChildId,
    pub name: String,
    pub team: ChildTeam,
    pub plan: PlanDoc,
    pub record: RecordDoc,
    pub agency_records: Vec<RecordDoc>,
}

impl DemoChild {
    /// Every document of the child as a new Automerge document made by `actor`.
    pub fn documents(&self, actor: &ActorId) -> Result<Vec<(DocKey, Automerge)>, DocError> {
        let mut out = vec![
            (
                DocKey::Plan(self.id),
                new_document(&DocKey::Plan(self.id), &self.plan, actor.clone())?,
            ),
            (
                DocKey::Record(self.id),
                new_document(&DocKey::Record(self.id), &self.record, actor.clone())?,
            ),
        ];
        for r in &self.agency_records {
            if let Some(a) = r.agency {
                let key = DocKey::Agency(self.id, a);
                out.push((key, new_document(&key, r, actor.clone())?));
            }
        }
        // The young person's copy of the plan, projected as the server does.
        if let Some(n) = self.team.young_copy {
            let key = DocKey::Young(self.id, n);
            out.push((
                key,
                new_document(&key, &crate::docs::young_copy(&self.plan), actor.clone())?,
            ));
        }
        Ok(out)
    }
}

/// The demo partnership.
#[derive(Debug, Clone)]
pub struct Demo {
    pub people: Vec<DemoPerson>,
    pub children: Vec<DemoChild>,
}

impl Demo {
    pub fn person(&self, name_starts: &str) -> Option<&DemoPerson> {
        self.people.iter().find(|p| p.name.starts_with(name_starts))
    }

    pub fn child(&self, name_starts: &str) -> Option<&DemoChild> {
        self.children
            .iter()
            .find(|c| c.name.starts_with(name_starts))
    }
}

const fn pid(n: u128) -> PersonId {
    PersonId(Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_0000_0000 | n,
    ))
}
const fn cid(n: u128) -> ChildId {
    ChildId(Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_1000_0000 | n,
    ))
}
fn iid(n: u128) -> ItemId {
    ItemId(Uuid::from_u128(
        0x0000_0000_0000_4000_8000_0000_2000_0000 | n,
    ))
}

pub const MORAG: PersonId = pid(1);
pub const AILEEN: PersonId = pid(2);
pub const DAVID: PersonId = pid(3);
pub const PRIYA: PersonId = pid(4);
pub const IAIN: PersonId = pid(5);
pub const FIONA: PersonId = pid(6);
pub const KAI_YP: PersonId = pid(7);
/// The social work duty worker: on social work's duty team, on no child's team.
pub const CATRIONA: PersonId = pid(8);
/// A teacher on no child's team.
pub const EWAN: PersonId = pid(9);
pub const KAI: ChildId = cid(1);
pub const ELLIE: ChildId = cid(2);
pub const RUARIDH: ChildId = cid(3);
/// A young person of 15 with no transition plan yet (issue 15: the
/// caseload flags her).
pub const SKYE: ChildId = cid(4);

fn date(s: &str) -> IsoDate {
    // The literals below are valid dates; a typo shows up in the demo tests.
    s.parse().unwrap_or(IsoDate(time::Date::MIN))
}

fn at(s: &str) -> Timestamp {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(Timestamp::from_datetime)
        .unwrap_or(Timestamp(0))
}

/// Rate each indicator twice, `(indicator, first score, second score)` on the
/// two days (10:00 each), by one person; item ids from `first_id` on.
fn rate_twice(
    plan: &mut PlanDoc,
    ratings: &[(Indicator, u8, u8)],
    days: [&str; 2],
    (by, agency): (PersonId, Agency),
    first_id: u128,
) {
    for (n, (ind, first, second)) in ratings.iter().enumerate() {
        let a = plan.wellbeing.get_mut(*ind);
        for (k, (score, on)) in [(*first, days[0]), (*second, days[1])]
            .into_iter()
            .enumerate()
        {
            let id = iid(first_id + (n as u128) * 2 + k as u128);
            a.ratings.insert(
                id,
                Rating {
                    id,
                    score,
                    on: date(on),
                    by,
                    agency,
                    recorded_at: at(&format!("{on}T10:00:00Z")),
                    note: String::new(),
                },
            );
        }
    }
}

fn person_ref(p: &DemoPerson) -> PersonRef {
    PersonRef {
        person: p.id,
        name: p.name.clone(),
        agency: p.agency.unwrap_or(Agency::SocialWork),
        role_title: p.role_title.clone(),
    }
}

fn practitioner(id: PersonId, name: &str, agency: Agency, role: &str, title: &str) -> DemoPerson {
    DemoPerson {
        id,
        name: name.into(),
        kind: PersonKind::Practitioner,
        agency: Some(agency),
        supervises: vec![],
        role_label: role.into(),
        role_title: title.into(),
    }
}

/// The fictional partnership: five practitioners from five agencies, a team
/// manager, a young person with their own account, four children, and two
/// practitioners on no child's team: social work's duty worker and a
/// teacher (who asks for help about a child new to Bothy).
pub fn partnership() -> Demo {
    let morag = practitioner(
        MORAG,
        "Morag Fraser",
        Agency::SocialWork,
        "lead-professional",
        "social worker",
    );
    let aileen = practitioner(
        AILEEN,
        "Aileen Grant",
        Agency::Health,
        "named-person",
        "health visitor",
    );
    let david = practitioner(
        DAVID,
        "David Reid",
        Agency::Education,
        "named-person",
        "guidance teacher",
    );
    let priya = practitioner(
        PRIYA,
        "Priya Shah",
        Agency::ThirdSector,
        "practitioner",
        "family support worker",
    );
    let iain = practitioner(
        IAIN,
        "Iain Campbell",
        Agency::Police,
        "practitioner",
        "police constable",
    );
    let fiona = DemoPerson {
        id: FIONA,
        name: "Fiona MacLeod".into(),
        kind: PersonKind::Supervisor,
        agency: Some(Agency::SocialWork),
        supervises: vec![MORAG, PRIYA],
        role_label: "supervisor".into(),
        role_title: "team manager".into(),
    };
    let catriona = practitioner(
        CATRIONA,
        "Catriona Munro",
        Agency::SocialWork,
        "duty",
        "duty social worker",
    );
    let ewan = practitioner(
        EWAN,
        "Ewan Stewart",
        Agency::Education,
        "practitioner",
        "class teacher",
    );
    let kai_yp = DemoPerson {
        id: KAI_YP,
        name: "Kai Robertson".into(),
        kind: PersonKind::YoungPerson { child: KAI },
        agency: None,
        supervises: vec![],
        role_label: "young-person".into(),
        role_title: "young person".into(),
    };

    let team = |child, members: &[(&DemoPerson, TeamRole)], yp: Option<PersonId>| ChildTeam {
        child,
        members: members
            .iter()
            .map(|(p, role)| {
                (
                    p.id,
                    TeamMember {
                        agency: p.agency.unwrap_or(Agency::SocialWork),
                        role: *role,
                    },
                )
            })
            .collect(),
        young_person: yp,
        // A child with a young person's account has the first copy of the plan.
        young_copy: yp.map(|_| 1),
    };

    let kai = {
        let mut plan = PlanDoc::new(
            KAI,
            ChildDetails {
                name: "Kai Robertson".into(),
                preferred_name: "Kai".into(),
                date_of_birth: Some(date("2013-04-12")),
                pronouns: "he/him".into(),
                communication_needs: Text::with_value(
                    "Prefers to talk while doing something; give time to answer.",
                ),
            },
        );
        let carer = iid(1);
        plan.carers.insert(
            carer,
            Carer {
                id: carer,
                name: "Lisa Robertson".into(),
                relationship: "mum".into(),
                parental_responsibility: true,
            },
        );
        plan.lead_professional = Some(person_ref(&morag));
        plan.named_person = Some(person_ref(&david));
        for p in [&morag, &david, &priya] {
            plan.team.insert(p.id, person_ref(p));
        }
        plan.reason = Text::with_value(
            "Kai has missed a lot of school this year and mum is finding things hard since her partner left. \
             Everyone agreed a plan would help Kai get back to school and help mum get support.",
        );
        plan.review_date = Some(date("2027-01-14"));
        let ratings = [
            (Indicator::Safe, 5, 6),
            (Indicator::Healthy, 6, 6),
            (Indicator::Achieving, 3, 4),
            (Indicator::Nurtured, 5, 6),
            (Indicator::Active, 7, 7),
            (Indicator::Respected, 6, 6),
            (Indicator::Responsible, 6, 7),
            (Indicator::Included, 4, 5),
        ];
        rate_twice(
            &mut plan,
            &ratings,
            ["2026-07-16", "2026-10-22"],
            (MORAG, Agency::SocialWork),
            100,
        );
        plan.wellbeing.achieving.concerns =
            Text::with_value("Attendance 61% this term; behind in maths.");
        plan.wellbeing.achieving.strengths =
            Text::with_value("Loves design and technology; good with his hands.");
        plan.wellbeing.active.strengths =
            Text::with_value("Plays football on Saturdays with his cousin.");
        plan.my_world.growing =
            Text::with_value("Growing fast, sleeps late, often tired in the mornings.");
        plan.my_world.care =
            Text::with_value("Mum loves Kai and wants help with routines and money worries.");
        plan.my_world.wider_world =
            Text::with_value("Gran lives nearby; football club; few friends at school.");
        let need = iid(10);
        let (a1, a2) = (iid(11), iid(12));
        let mut actions = BTreeMap::new();
        actions.insert(
            a1,
            Action {
                id: a1,
                what: Text::with_value("Meet Kai every Monday morning to plan the week at school"),
                owner: Some(person_ref(&david)),
                due: Some(date("2026-12-18")),
                status: ActionStatus::InProgress,
                progress: Text::with_value("Four meetings so far; Kai came to all of them."),
            },
        );
        actions.insert(
            a2,
            Action {
                id: a2,
                what: Text::with_value(
                    "Help mum set up a morning routine and apply for the clothing grant",
                ),
                owner: Some(person_ref(&priya)),
                due: Some(date("2026-11-20")),
                status: ActionStatus::NotStarted,
                progress: Text::default(),
            },
        );
        plan.needs.insert(
            need,
            Need {
                id: need,
                need: Text::with_value("Kai needs to be in school most days"),
                indicators: vec![Indicator::Achieving, Indicator::Included],
                desired_outcome: Text::with_value(
                    "Kai attends at least 90% by the February review",
                ),
                evidence: Text::with_value("School attendance figures; what Kai says about school"),
                actions,
                created_by: MORAG,
                created_at: at("2026-07-16T11:00:00Z"),
                closed: None,
            },
        );
        let v = iid(20);
        plan.young_person_views.insert(
            v,
            ViewEntry {
                id: v,
                about: "overall".into(),
                words: Text::with_value(
                    "School is ok when Mr Reid is there. Mornings are the worst.",
                ),
                said_by: "Kai".into(),
                author: KAI_YP,
                at: at("2026-10-22T16:00:00Z"),
            },
        );
        let fv = iid(21);
        plan.family_views.insert(
            fv,
            ViewEntry {
                id: fv,
                about: "overall".into(),
                words: Text::with_value(
                    "I want Kai back at school but I can't get him up on my own.",
                ),
                said_by: "Lisa (mum)".into(),
                author: MORAG,
                at: at("2026-10-22T11:30:00Z"),
            },
        );
        let withheld = iid(22);
        plan.withheld.insert(
            withheld,
            WithheldMarker {
                id: withheld,
                section: "wellbeing/safe".into(),
                by: MORAG,
                at: at("2026-10-22T12:00:00Z"),
                reason: "Details of the police referral are not to be shared yet.".into(),
            },
        );

        // The first review of the plan, where the July ratings were agreed:
        // the wheel's "last review" values.
        let review = iid(23);
        plan.reviews.insert(
            review,
            ReviewMeeting {
                id: review,
                held_on: date("2026-07-16"),
                attended: vec![
                    "Morag Fraser".into(),
                    "David Reid".into(),
                    "Priya Shah".into(),
                    "Lisa (mum)".into(),
                    "Kai".into(),
                ],
                young_person_views: Text::with_value("Mornings are hard. I like DT."),
                family_views: Text::with_value("Mum wants help getting Kai up for school."),
                decisions: Text::with_value("A child's plan, with Morag as lead professional."),
                plan_changes: Text::with_value(
                    "Mr Reid will meet you every Monday to plan your week at school.",
                ),
                next_review: Some(date("2027-01-14")),
                recorded_by: MORAG,
                recorded_at: at("2026-07-16T15:00:00Z"),
            },
        );

        let mut record = RecordDoc::new(KAI, None);
        let visit = iid(30);
        record.visits.insert(
            visit,
            Visit {
                id: visit,
                at: at("2026-10-22T09:30:00Z"),
                place: "Home".into(),
                kind: VisitKind::Home,
                practitioner: MORAG,
                practitioner_name: morag.name.clone(),
                agency: Agency::SocialWork,
                present: vec!["Kai".into(), "Lisa (mum)".into()],
                child_seen: true,
                seen_alone: true,
                observations: Text::with_value(
                    "House warm and tidy. Kai in his room, dressed, came down when asked.",
                ),
                analysis: Text::with_value(
                    "Mornings remain the main difficulty; mum is motivated.",
                ),
                child_said: Text::with_value("\"I don't mind school, I just can't wake up.\""),
                next_steps: Text::with_value("Ask Priya to start morning routine work."),
                linked_actions: vec![a2],
                sharing: Sharing::Team,
                significant: false,
                finalised: Some(at("2026-10-22T13:00:00Z")),
                addenda: BTreeMap::new(),
            },
        );
        let chron = iid(31);
        record.chronology.insert(
            chron,
            ChronologyEntry {
                id: chron,
                date: date("2026-06-30"),
                until: None,
                event: Text::with_value("Mum's partner left the family home."),
                source_agency: Agency::SocialWork,
                impact: Impact::Negative,
                impact_note: Text::with_value("Kai's attendance dropped sharply after this."),
                action: Text::with_value("Referral to family support (Priya Shah)."),
                significance: Significance::Significant,
                recorded_by: MORAG,
                from_visit: None,
            },
        );
        let voice = iid(32);
        record.family_voice.insert(
            voice,
            FamilyVoice {
                id: voice,
                at: at("2026-10-22T10:15:00Z"),
                said_by: "Kai".into(),
                voice_of: VoiceOf::Child,
                own_words: Text::with_value("I like football and making things."),
                scale_question: "How good is school right now?".into(),
                scale: Some(4),
                worries: Text::with_value("Getting told off for being late."),
                good_things: Text::with_value("Mr Reid, tech class, Saturday football."),
                dreams: Text::with_value("Be a joiner like my uncle."),
                consent_to_share: true,
                recorded_by: MORAG,
                agency: Agency::SocialWork,
                from_visit: None,
            },
        );
        record.withheld.insert(
            withheld,
            WithheldSection {
                id: withheld,
                section: "wellbeing/safe".into(),
                content: Text::with_value(
                    "Mum's former partner has made threats; his address is not to be shared.",
                ),
                reason: "Sharing could put Kai and mum at risk".into(),
                by: MORAG,
                at: at("2026-10-22T12:00:00Z"),
            },
        );
        let mut sw = RecordDoc::new(KAI, Some(Agency::SocialWork));
        let sw_visit = iid(40);
        sw.visits.insert(
            sw_visit,
            Visit {
                id: sw_visit,
                at: at("2026-10-29T15:00:00Z"),
                place: "Office".into(),
                kind: VisitKind::Phone,
                practitioner: MORAG,
                practitioner_name: morag.name.clone(),
                agency: Agency::SocialWork,
                present: vec!["Lisa (mum)".into()],
                child_seen: false,
                seen_alone: false,
                observations: Text::with_value(
                    "Mum disclosed debt worries; details held by social work only.",
                ),
                analysis: Text::default(),
                child_said: Text::default(),
                next_steps: Text::with_value("Money advice referral."),
                linked_actions: vec![],
                sharing: Sharing::Agency,
                significant: false,
                finalised: None,
                addenda: BTreeMap::new(),
            },
        );
        let agency_records = vec![
            sw,
            RecordDoc::new(KAI, Some(Agency::Education)),
            RecordDoc::new(KAI, Some(Agency::ThirdSector)),
        ];
        DemoChild {
            id: KAI,
            name: "Kai Robertson".into(),
            team: team(
                KAI,
                &[
                    (&morag, TeamRole::LeadProfessional),
                    (&david, TeamRole::NamedPerson),
                    (&priya, TeamRole::Member),
                ],
                Some(KAI_YP),
            ),
            plan,
            record,
            agency_records,
        }
    };

    let ellie = {
        let mut plan = PlanDoc::new(
            ELLIE,
            ChildDetails {
                name: "Ellie Watson".into(),
                preferred_name: "Ellie".into(),
                date_of_birth: Some(date("2023-06-02")),
                pronouns: "she/her".into(),
                communication_needs: Text::with_value(
                    "Speech delay: uses single words and Makaton signs.",
                ),
            },
        );
        plan.lead_professional = Some(person_ref(&morag));
        plan.named_person = Some(person_ref(&aileen));
        for p in [&morag, &aileen] {
            plan.team.insert(p.id, person_ref(p));
        }
        plan.reason = Text::with_value(
            "Ellie's speech is delayed and dad is caring for her alone while recovering from an operation.",
        );
        plan.review_date = Some(date("2026-11-19"));
        let need = iid(50);
        let act = iid(51);
        let mut actions = BTreeMap::new();
        actions.insert(
            act,
            Action {
                id: act,
                what: Text::with_value("Refer Ellie to speech and language therapy"),
                owner: Some(person_ref(&aileen)),
                due: Some(date("2026-11-10")),
                status: ActionStatus::Done,
                progress: Text::with_value("Referral accepted; first appointment in December."),
            },
        );
        plan.needs.insert(
            need,
            Need {
                id: need,
                need: Text::with_value("Ellie needs help with her speech"),
                indicators: vec![Indicator::Healthy, Indicator::Achieving],
                desired_outcome: Text::with_value("Ellie uses two-word phrases by her next review"),
                evidence: Text::with_value(
                    "Speech and language therapy reports; nursery observations",
                ),
                actions,
                created_by: AILEEN,
                created_at: at("2026-08-05T10:00:00Z"),
                closed: None,
            },
        );
        // Rated at the first review in August and again in November: Healthy
        // fell by 2 (dad's operation), Achieving by 1. The review the
        // meeting set for 19 November has not been held: it is late.
        let ratings = [
            (Indicator::Healthy, 6, 4),
            (Indicator::Achieving, 4, 3),
            (Indicator::Nurtured, 7, 7),
            (Indicator::Included, 5, 5),
        ];
        rate_twice(
            &mut plan,
            &ratings,
            ["2026-08-05", "2026-11-05"],
            (AILEEN, Agency::Health),
            200,
        );
        let review = iid(70);
        plan.reviews.insert(
            review,
            ReviewMeeting {
                id: review,
                held_on: date("2026-08-05"),
                attended: vec![
                    "Morag Fraser".into(),
                    "Aileen Grant".into(),
                    "Tom (dad)".into(),
                ],
                young_person_views: Text::default(),
                family_views: Text::with_value("Dad wants help with Ellie's talking."),
                decisions: Text::with_value("A child's plan, with Morag as lead professional."),
                plan_changes: Text::with_value("Aileen will refer Ellie to speech therapy."),
                next_review: Some(date("2026-11-19")),
                recorded_by: MORAG,
                recorded_at: at("2026-08-05T15:00:00Z"),
            },
        );
        let mut record = RecordDoc::new(ELLIE, None);
        let visit = iid(60);
        record.visits.insert(
            visit,
            Visit {
                id: visit,
                at: at("2026-09-15T10:00:00Z"),
                place: "Home".into(),
                kind: VisitKind::Home,
                practitioner: AILEEN,
                practitioner_name: aileen.name.clone(),
                agency: Agency::Health,
                present: vec!["Ellie".into(), "Tom (dad)".into()],
                child_seen: true,
                seen_alone: false,
                observations: Text::with_value("Ellie playing happily; signed 'more' and 'drink'."),
                analysis: Text::with_value("Warm interaction with dad; dad tired but coping."),
                child_said: Text::with_value("\"Dada\", \"ball\""),
                next_steps: Text::with_value("Chase SLT referral."),
                linked_actions: vec![act],
                sharing: Sharing::Team,
                significant: false,
                finalised: Some(at("2026-09-15T14:00:00Z")),
                addenda: BTreeMap::new(),
            },
        );
        DemoChild {
            id: ELLIE,
            name: "Ellie Watson".into(),
            team: team(
                ELLIE,
                &[
                    (&morag, TeamRole::LeadProfessional),
                    (&aileen, TeamRole::NamedPerson),
                ],
                None,
            ),
            plan,
            record,
            agency_records: vec![
                RecordDoc::new(ELLIE, Some(Agency::SocialWork)),
                RecordDoc::new(ELLIE, Some(Agency::Health)),
            ],
        }
    };

    let ruaridh = {
        let mut plan = PlanDoc::new(
            RUARIDH,
            ChildDetails {
                name: "Ruaridh Paterson".into(),
                preferred_name: "Roo".into(),
                date_of_birth: Some(date("2010-09-01")),
                pronouns: "he/him".into(),
                communication_needs: Text::default(),
            },
        );
        plan.lead_professional = Some(person_ref(&morag));
        for p in [&morag, &david, &iain] {
            plan.team.insert(p.id, person_ref(p));
        }
        plan.reason = Text::with_value(
            "Ruaridh was charged after a fight in town and is leaving school next summer.",
        );
        plan.review_date = Some(date("2027-02-04"));
        plan.transition = TransitionPlan {
            needed: true,
            adult_services: Text::with_value("Throughcare and aftercare; college admissions"),
            plan: Text::with_value(
                "Visit the college in March with David; meet throughcare worker before his 17th birthday.",
            ),
            start_by: Some(date("2027-03-01")),
            services: vec![],
            recorded_by: None,
            recorded_at: None,
        };
        DemoChild {
            id: RUARIDH,
            name: "Ruaridh Paterson".into(),
            team: team(
                RUARIDH,
                &[
                    (&morag, TeamRole::LeadProfessional),
                    (&david, TeamRole::Member),
                    (&iain, TeamRole::Member),
                ],
                None,
            ),
            plan,
            record: RecordDoc::new(RUARIDH, None),
            agency_records: vec![
                RecordDoc::new(RUARIDH, Some(Agency::SocialWork)),
                RecordDoc::new(RUARIDH, Some(Agency::Education)),
                RecordDoc::new(RUARIDH, Some(Agency::Police)),
            ],
        }
    };

    // Fifteen, and nobody has yet said whether she needs a plan for moving
    // on to adult services.
    let skye = {
        let mut plan = PlanDoc::new(
            SKYE,
            ChildDetails {
                name: "Skye Morrison".into(),
                preferred_name: "Skye".into(),
                date_of_birth: Some(date("2011-02-14")),
                pronouns: "she/her".into(),
                communication_needs: Text::default(),
            },
        );
        plan.lead_professional = Some(person_ref(&morag));
        plan.named_person = Some(person_ref(&david));
        for p in [&morag, &david] {
            plan.team.insert(p.id, person_ref(p));
        }
        plan.reason = Text::with_value(
            "Skye cares for her dad, who has a long-term illness, and is missing school.",
        );
        plan.review_date = Some(date("2027-03-10"));
        DemoChild {
            id: SKYE,
            name: "Skye Morrison".into(),
            team: team(
                SKYE,
                &[
                    (&morag, TeamRole::LeadProfessional),
                    (&david, TeamRole::NamedPerson),
                ],
                None,
            ),
            plan,
            record: RecordDoc::new(SKYE, None),
            agency_records: vec![
                RecordDoc::new(SKYE, Some(Agency::SocialWork)),
                RecordDoc::new(SKYE, Some(Agency::Education)),
            ],
        }
    };

    Demo {
        people: vec![
            morag, aileen, david, priya, iain, fiona, kai_yp, catriona, ewan,
        ],
        children: vec![kai, ellie, ruaridh, skye],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AccessPolicy;

    #[test]
    fn every_demo_document_is_valid_and_reads_back() {
        let demo = partnership();
        for child in &demo.children {
            for (key, doc) in child.documents(&server_actor()).unwrap() {
                AnyDoc::read(&doc, &key).unwrap_or_else(|e| panic!("{key}: {e}"));
            }
            // Every agency in the team has its agency record.
            let have: BTreeSet<_> = child
                .agency_records
                .iter()
                .filter_map(|r| r.agency)
                .collect();
            assert_eq!(have, child.team.agencies(), "{}", child.name);
        }
    }

    #[test]
    fn demo_documents_are_the_same_on_every_run() {
        let a = partnership().children[0]
            .documents(&server_actor())
            .unwrap();
        let b = partnership().children[0]
            .documents(&server_actor())
            .unwrap();
        for ((ka, da), (kb, db)) in a.iter().zip(&b) {
            assert_eq!(ka, kb);
            assert_eq!(da.get_heads(), db.get_heads(), "{ka}");
        }
    }

    #[test]
    fn the_young_person_reads_only_their_plan() {
        let demo = partnership();
        let kai = demo.person("Kai").unwrap().principal(DeviceId::random());
        let child = demo.child("Kai").unwrap();
        assert_eq!(
            AccessPolicy::readable(&kai, &child.team),
            vec![DocKey::Young(KAI, 1)]
        );
        assert!(AccessPolicy::readable(&kai, &demo.child("Ellie").unwrap().team).is_empty());
    }
}
