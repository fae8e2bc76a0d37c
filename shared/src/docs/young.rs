//! The young person's copy of the plan (`young/<child>/<n>`): what it holds
//! and how it is kept in step.
//!
//! The young person never receives `plan/<child>`: an Automerge document
//! carries its whole history, so a section withheld after it was written
//! would still be in the bytes. The server keeps a copy instead, projected by
//! [`young_copy`] (one pure function, also used by a device's offline demo),
//! and writes the projection into the copy with [`mirror`], which changes
//! only what differs. When a section is withheld the server starts the copy
//! again under a new generation (see `docs/documents.md`).
//!
//! The sections that can be withheld are [`Section`]s.

use std::fmt;
use std::str::FromStr;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, Prop, ReadDoc, Value};
use autosurgeon::Text;

use super::{
    Action, ChildDetails, IndicatorAssessment, MyWorld, Need, PlanDoc, ReviewMeeting,
    TransitionPlan, ViewEntry, WithheldMarker,
};
use crate::docs::Indicator;
use crate::ids::ItemId;

/// A part of the plan that can be withheld from the young person, as a
/// marker names it (`WithheldMarker::section`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `wellbeing/<indicator>`: the indicator's strengths, concerns and ratings.
    Wellbeing(Indicator),
    /// `need/<id>`: the need, its outcome, evidence and actions.
    Need(ItemId),
    /// `my_world`: the My World Triangle.
    MyWorld,
    /// `reason`: why there is a plan.
    Reason,
    /// `legal_status`.
    LegalStatus,
    /// `transition`: the plan for the move to adult services.
    Transition,
    /// `family_views`: what the family said (in the plan and at reviews).
    FamilyViews,
    /// `reviews`: the review meetings (who came, what was decided).
    Reviews,
}

/// The sections, as a person types them (for error messages).
pub const SECTION_NAMES: &str = "wellbeing/safe, wellbeing/healthy, wellbeing/achieving, wellbeing/nurtured, wellbeing/active, wellbeing/respected, wellbeing/responsible, wellbeing/included, need/<id>, my_world, reason, legal_status, transition, family_views, reviews";

/// A string that names no section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a part of the plan that can be withheld (one of: {SECTION_NAMES})")]
pub struct UnknownSection(pub String);

impl FromStr for Section {
    type Err = UnknownSection;
    fn from_str(s: &str) -> Result<Self, UnknownSection> {
        let bad = || UnknownSection(s.to_owned());
        Ok(match s {
            "my_world" => Section::MyWorld,
            "reason" => Section::Reason,
            "legal_status" => Section::LegalStatus,
            "transition" => Section::Transition,
            "family_views" => Section::FamilyViews,
            "reviews" => Section::Reviews,
            _ => match s.split_once('/') {
                Some(("wellbeing", i)) => {
                    Section::Wellbeing(Indicator::from_slug(i).ok_or_else(bad)?)
                }
                Some(("need", id)) => Section::Need(id.parse().map_err(|_| bad())?),
                _ => return Err(bad()),
            },
        })
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Wellbeing(i) => write!(f, "wellbeing/{}", i.as_str()),
            Section::Need(id) => write!(f, "need/{id}"),
            Section::MyWorld => f.write_str("my_world"),
            Section::Reason => f.write_str("reason"),
            Section::LegalStatus => f.write_str("legal_status"),
            Section::Transition => f.write_str("transition"),
            Section::FamilyViews => f.write_str("family_views"),
            Section::Reviews => f.write_str("reviews"),
        }
    }
}

impl PlanDoc {
    /// The sections withheld from the young person now (markers whose
    /// section does not parse are left out: they name nothing this build can
    /// hide, and older builds wrote no such markers).
    pub fn withheld_sections(&self) -> std::collections::BTreeSet<Section> {
        self.withheld
            .values()
            .filter_map(|m| m.section.parse().ok())
            .collect()
    }

    /// The marker withholding `section`, if any.
    pub fn marker_for(&self, section: Section) -> Option<&WithheldMarker> {
        self.withheld
            .values()
            .find(|m| m.section.parse::<Section>().ok() == Some(section))
    }
}

/// A text with the same words, not tied to the document it was read from
/// (autosurgeon refuses to write a text read from one document into another).
fn fresh(t: &Text) -> Text {
    Text::with_value(t.as_str())
}

fn fresh_assessment(a: &IndicatorAssessment) -> IndicatorAssessment {
    IndicatorAssessment {
        strengths: fresh(&a.strengths),
        concerns: fresh(&a.concerns),
        ratings: a.ratings.clone(),
    }
}

fn fresh_need(n: &Need) -> Need {
    Need {
        id: n.id,
        need: fresh(&n.need),
        indicators: n.indicators.clone(),
        desired_outcome: fresh(&n.desired_outcome),
        evidence: fresh(&n.evidence),
        actions: n
            .actions
            .iter()
            .map(|(id, a)| {
                (
                    *id,
                    Action {
                        id: a.id,
                        what: fresh(&a.what),
                        owner: a.owner.clone(),
                        due: a.due,
                        status: a.status,
                        progress: fresh(&a.progress),
                    },
                )
            })
            .collect(),
        created_by: n.created_by,
        created_at: n.created_at,
        closed: n.closed.clone(),
    }
}

fn fresh_view(v: &ViewEntry) -> ViewEntry {
    ViewEntry {
        id: v.id,
        about: v.about.clone(),
        words: fresh(&v.words),
        said_by: v.said_by.clone(),
        author: v.author,
        at: v.at,
    }
}

/// The plan as the young person may have it: everything but the content of
/// the sections withheld from them. A withheld indicator keeps its place with
/// empty words and no ratings; a withheld need is left out; withheld texts
/// are empty; the family's views, when withheld, are left out. Every marker
/// stays (so the young person's screen can say some of the plan is private
/// for now) without its reason. Pure: the same plan always gives the same copy.
pub fn young_copy(plan: &PlanDoc) -> PlanDoc {
    let hidden = plan.withheld_sections();
    let shown = |s: Section| !hidden.contains(&s);
    let mut wellbeing = super::Wellbeing::default();
    for i in Indicator::ALL {
        if shown(Section::Wellbeing(i)) {
            *wellbeing.get_mut(i) = fresh_assessment(plan.wellbeing.get(i));
        }
    }
    let text_if = |s: Section, t: &Text| {
        if shown(s) { fresh(t) } else { Text::default() }
    };
    PlanDoc {
        schema_version: plan.schema_version,
        child_id: plan.child_id,
        child: ChildDetails {
            name: plan.child.name.clone(),
            preferred_name: plan.child.preferred_name.clone(),
            date_of_birth: plan.child.date_of_birth,
            pronouns: plan.child.pronouns.clone(),
            communication_needs: fresh(&plan.child.communication_needs),
        },
        carers: plan.carers.clone(),
        named_person: plan.named_person.clone(),
        lead_professional: plan.lead_professional.clone(),
        team: plan.team.clone(),
        reason: text_if(Section::Reason, &plan.reason),
        legal_status: if shown(Section::LegalStatus) {
            plan.legal_status.clone()
        } else {
            String::new()
        },
        wellbeing,
        my_world: MyWorld {
            growing: text_if(Section::MyWorld, &plan.my_world.growing),
            care: text_if(Section::MyWorld, &plan.my_world.care),
            wider_world: text_if(Section::MyWorld, &plan.my_world.wider_world),
        },
        needs: plan
            .needs
            .iter()
            .filter(|(id, _)| shown(Section::Need(**id)))
            .map(|(id, n)| (*id, fresh_need(n)))
            .collect(),
        young_person_views: plan
            .young_person_views
            .iter()
            .map(|(id, v)| (*id, fresh_view(v)))
            .collect(),
        family_views: if shown(Section::FamilyViews) {
            plan.family_views
                .iter()
                .map(|(id, v)| (*id, fresh_view(v)))
                .collect()
        } else {
            Default::default()
        },
        review_date: plan.review_date,
        reviews: if shown(Section::Reviews) {
            plan.reviews
                .iter()
                .map(|(id, r)| {
                    (
                        *id,
                        ReviewMeeting {
                            id: r.id,
                            held_on: r.held_on,
                            attended: r.attended.clone(),
                            young_person_views: fresh(&r.young_person_views),
                            family_views: text_if(Section::FamilyViews, &r.family_views),
                            decisions: fresh(&r.decisions),
                            plan_changes: fresh(&r.plan_changes),
                            next_review: r.next_review,
                            recorded_by: r.recorded_by,
                            recorded_at: r.recorded_at,
                        },
                    )
                })
                .collect()
        } else {
            Default::default()
        },
        withheld: plan
            .withheld
            .iter()
            .map(|(id, m)| {
                (
                    *id,
                    WithheldMarker {
                        reason: String::new(),
                        ..m.clone()
                    },
                )
            })
            .collect(),
        transition: if shown(Section::Transition) {
            TransitionPlan {
                needed: plan.transition.needed,
                adult_services: fresh(&plan.transition.adult_services),
                plan: fresh(&plan.transition.plan),
                start_by: plan.transition.start_by,
                services: plan.transition.services.clone(),
                recorded_by: plan.transition.recorded_by,
                recorded_at: plan.transition.recorded_at,
            }
        } else {
            TransitionPlan::default()
        },
    }
}

/// Make the object `to` in `dst` hold what the object `from` in `src` holds,
/// writing only what differs: keys `src` lacks are deleted, scalars put when
/// they differ, texts updated by their difference, objects of another type
/// replaced, lists written element by element. How the server writes a
/// projected plan into the young person's copy, and the young person's own
/// views from their copy into the plan. `from` and `to` must be maps.
pub fn mirror<S: ReadDoc, D: Transactable>(
    src: &S,
    from: &ObjId,
    dst: &mut D,
    to: &ObjId,
) -> Result<(), automerge::AutomergeError> {
    let src_keys: Vec<String> = src.keys(from).collect();
    let stale: Vec<String> = dst.keys(to).filter(|k| !src_keys.contains(k)).collect();
    for k in stale {
        dst.delete(to, k.as_str())?;
    }
    for k in src_keys {
        mirror_prop(
            src,
            from,
            Prop::Map(k.clone()),
            dst,
            to,
            Prop::Map(k),
            false,
        )?;
    }
    Ok(())
}

/// Mirror one property (a map key, or a list index; `insert` for a new
/// list element).
fn mirror_prop<S: ReadDoc, D: Transactable>(
    src: &S,
    from: &ObjId,
    sprop: Prop,
    dst: &mut D,
    to: &ObjId,
    dprop: Prop,
    insert: bool,
) -> Result<(), automerge::AutomergeError> {
    let Some((value, sobj)) = src.get(from, sprop)? else {
        return Ok(());
    };
    let existing = if insert {
        None
    } else {
        dst.get(to, dprop.clone())?
    };
    match value {
        Value::Scalar(v) => {
            let same = matches!(&existing, Some((Value::Scalar(d), _)) if d.as_ref() == v.as_ref());
            if !same {
                let v = v.into_owned();
                match (insert, dprop) {
                    (true, Prop::Seq(i)) => dst.insert(to, i, v)?,
                    (_, p) => dst.put(to, p, v)?,
                }
            }
        }
        Value::Object(typ) => {
            let target = match existing {
                Some((Value::Object(t), id)) if t == typ => id,
                _ => match (insert, dprop) {
                    (true, Prop::Seq(i)) => dst.insert_object(to, i, typ)?,
                    (_, p) => dst.put_object(to, p, typ)?,
                },
            };
            match typ {
                ObjType::Map | ObjType::Table => mirror(src, &sobj, dst, &target)?,
                ObjType::Text => {
                    let words = src.text(&sobj)?;
                    if dst.text(&target)? != words {
                        dst.update_text(&target, words)?;
                    }
                }
                ObjType::List => {
                    let n = src.length(&sobj);
                    let m = dst.length(&target);
                    for i in (n..m).rev() {
                        dst.delete(&target, i)?;
                    }
                    for i in 0..n {
                        mirror_prop(src, &sobj, Prop::Seq(i), dst, &target, Prop::Seq(i), i >= m)?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::docs::{DocKey, read_document, write_document};
    use automerge::{AutoCommit, ROOT};

    fn kai_plan() -> PlanDoc {
        crate::demo::partnership()
            .children
            .into_iter()
            .find(|c| {
                c.plan
                    .young_person_views
                    .values()
                    .any(|v| v.said_by == "Kai")
            })
            .map(|c| c.plan)
            .unwrap()
    }

    #[test]
    fn sections_round_trip_and_unknown_ones_list_the_choices() {
        let need = ItemId::random();
        for s in [
            Section::Wellbeing(Indicator::Safe),
            Section::Need(need),
            Section::MyWorld,
            Section::Reason,
            Section::LegalStatus,
            Section::Transition,
            Section::FamilyViews,
        ] {
            assert_eq!(s.to_string().parse::<Section>(), Ok(s));
        }
        let err = "wellbeing/happy".parse::<Section>().unwrap_err();
        assert!(err.to_string().contains("wellbeing/safe"), "{err}");
        assert!("need/x".parse::<Section>().is_err());
        assert!("visits".parse::<Section>().is_err());
    }

    #[test]
    fn the_projection_drops_withheld_content_and_keeps_the_rest() {
        let mut plan = kai_plan();
        plan.wellbeing.safe.concerns = Text::with_value("SECRET-SAFE-1");
        plan.my_world.care = Text::with_value("SECRET-CARE");
        let need = *plan.needs.keys().next().unwrap();
        let kept_need = plan.needs.keys().nth(1).copied();
        for (i, section) in [
            "wellbeing/safe".to_owned(),
            format!("need/{need}"),
            "my_world".to_owned(),
        ]
        .into_iter()
        .enumerate()
        {
            let id = ItemId::random();
            plan.withheld.insert(
                id,
                WithheldMarker {
                    id,
                    section,
                    by: plan.team.keys().next().copied().unwrap(),
                    at: crate::docs::Timestamp(i as i64),
                    reason: "SECRET-REASON".into(),
                },
            );
        }
        let copy = young_copy(&plan);
        let shown = format!("{copy:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(copy.wellbeing.safe.ratings.is_empty());
        assert!(!copy.needs.contains_key(&need));
        if let Some(k) = kept_need {
            assert_eq!(copy.needs[&k].need, plan.needs[&k].need);
        }
        assert_eq!(copy.wellbeing.healthy, plan.wellbeing.healthy);
        assert_eq!(copy.young_person_views, plan.young_person_views);
        assert_eq!(copy.withheld.len(), plan.withheld.len());
        assert_eq!(copy.reason, plan.reason);
        // Without markers the copy is the plan.
        plan.withheld.clear();
        assert_eq!(young_copy(&plan), plan);
    }

    #[test]
    fn the_transition_reaches_the_copy_and_is_blanked_when_withheld() {
        let mut plan = kai_plan();
        plan.transition = TransitionPlan {
            needed: true,
            adult_services: Text::with_value("SECRET-OTHER"),
            plan: Text::with_value("SECRET-PLAN"),
            start_by: "2027-05-01".parse().ok(),
            services: vec![
                crate::ids::Agency::AdultSocialWork,
                crate::ids::Agency::Housing,
            ],
            recorded_by: plan.team.keys().next().copied(),
            recorded_at: Some(crate::docs::Timestamp(5)),
        };
        assert_eq!(young_copy(&plan).transition, plan.transition);
        let id = ItemId::random();
        plan.withheld.insert(
            id,
            WithheldMarker {
                id,
                section: "transition".into(),
                by: plan.team.keys().next().copied().unwrap(),
                at: crate::docs::Timestamp(6),
                reason: "not yet".into(),
            },
        );
        let copy = young_copy(&plan);
        assert_eq!(copy.transition, TransitionPlan::default());
        assert!(!format!("{copy:?}").contains("SECRET"));
    }

    #[test]
    fn mirroring_writes_only_the_difference_and_reads_back_equal() {
        let mut plan = kai_plan();
        let key = DocKey::Young(plan.child_id, 1);
        let mut copy = AutoCommit::new();
        write_document(&mut copy, &key, &young_copy(&plan)).unwrap();
        copy.commit();
        let ops_before = copy.document().get_changes(&[]).len();

        // The plan moves on: a text edited, a need closed, a marker added.
        plan.reason = Text::with_value("A new reason, written again.");
        let gone = *plan.needs.keys().next().unwrap();
        plan.needs.remove(&gone);
        let mut source = AutoCommit::new();
        write_document(
            &mut source,
            &DocKey::Plan(plan.child_id),
            &young_copy(&plan),
        )
        .unwrap();
        mirror(&source, &ROOT, &mut copy, &ROOT).unwrap();
        copy.commit();
        let after: PlanDoc = read_document(&copy, &key).unwrap();
        assert_eq!(after, young_copy(&plan));
        assert_eq!(copy.document().get_changes(&[]).len(), ops_before + 1);

        // Mirroring the same again changes nothing.
        let heads = copy.get_heads();
        mirror(&source, &ROOT, &mut copy, &ROOT).unwrap();
        copy.commit();
        assert_eq!(copy.get_heads(), heads);
    }
}
