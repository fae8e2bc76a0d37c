//! Requests for help: asking another agency's duty team for help with a
//! child, offline, and the duty team's answer.
//!
//! A request is its own document (`request/<id>`), made on this device
//! ([`Client::send_request`]) and synced like any other. Its audience is
//! the sender and the receiving agency's duty workers
//! ([`bothy_shared::docs::request_team`]); this device knows its own side:
//! the sender, or (a duty worker of the receiving agency) itself as a duty
//! worker. Every step is checked by the same gate the server runs, so a
//! request with neither consent nor a lawful basis is refused here, before
//! anything is saved (rule `request-consent-or-basis`).

use std::collections::BTreeSet;

use automerge::Automerge;
use bothy_shared::docs::{
    AboutChild, DocKey, Indicator, IsoDate, PersonRef, RequestDoc, RequestSide, RequestState,
    RequestStep, SharingBasis, StepKind, Text, Timestamp, commit_document, read_document,
    request_team,
};
use bothy_shared::gate::check_applied;
use bothy_shared::ids::{Agency, ChildId, ItemId, RequestId};
use bothy_shared::policy::{ChildTeam, PersonKind};
use serde::{Deserialize, Serialize};

use super::Client;
use crate::error::ServiceError;
use crate::index::Projection;

/// What the "Ask for help" form (and `bothy request`) gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewRequest {
    pub to: Option<Agency>,
    /// A child already on this device.
    pub child: Option<ChildId>,
    /// A child not yet known: their name, date of birth, school, address.
    pub name: String,
    pub born: Option<IsoDate>,
    pub school: String,
    pub address: String,
    pub reason: String,
    pub concerns: Vec<Indicator>,
    pub concern_details: String,
    /// What the child and the family think.
    pub views: String,
    /// Consent, or the lawful basis for sharing without it.
    pub basis: Option<SharingBasis>,
    pub urgent: bool,
}

/// One request on a list: mine, or my duty team's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    pub id: RequestId,
    pub state: RequestState,
    /// The child's name (as the request gives it, or as this device knows them).
    pub about: String,
    pub urgent: bool,
    pub to: Agency,
    pub from_name: String,
    pub sent_by_me: bool,
    pub sent_at: Timestamp,
    /// The last step's note (why declined, the question asked), if any.
    pub note: Option<String>,
    /// The child it was accepted for.
    pub child: Option<ChildId>,
}

/// A whole request, for its page.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestView {
    pub line: RequestLine,
    pub my_side: Option<RequestSide>,
    pub date_of_birth: Option<IsoDate>,
    pub school: String,
    pub address: String,
    pub reason: String,
    pub concerns: Vec<Indicator>,
    pub concern_details: String,
    pub views: String,
    pub basis: Option<SharingBasis>,
    /// Every step in order: what, who, when, note.
    pub steps: Vec<RequestStep>,
}

impl RequestView {
    /// The steps this person may take now.
    pub fn next_steps(&self) -> Vec<StepKind> {
        StepKind::ALL
            .into_iter()
            .filter(|k| Some(k.side()) == self.my_side && k.may_follow(self.line.state))
            .collect()
    }
}

impl Client {
    /// Ask `new.to`'s duty team for help: a new request document, made and
    /// saved on this device, sent at the next sync. Returns its id.
    pub fn send_request(&mut self, new: NewRequest) -> Result<RequestId, ServiceError> {
        let me = self.dir.me.clone();
        let (Some(agency), PersonKind::Practitioner) = (me.agency, me.kind) else {
            return Err(ServiceError::bad(
                "from",
                "only a practitioner asks for help",
            ));
        };
        let to = new
            .to
            .ok_or_else(|| ServiceError::bad("to", "choose the agency to ask"))?;
        let mut about = AboutChild {
            name: new.name.trim().to_owned(),
            date_of_birth: new.born,
            school: new.school.trim().to_owned(),
            address: new.address.trim().to_owned(),
        };
        if let Some(child) = new.child {
            // A child on this device: the request names them as it knows them.
            let head = self.child_page_name(child)?;
            if about.name.is_empty() {
                about.name = head.0;
            }
            about.date_of_birth = about.date_of_birth.or(head.1);
        } else if about.name.is_empty() {
            return Err(ServiceError::bad(
                "name",
                "give the child's full name (or choose a child already known)",
            ));
        }
        if new.reason.trim().is_empty() {
            return Err(ServiceError::bad(
                "reason",
                "say why you are asking for help",
            ));
        }
        let id = RequestId::random();
        let key = DocKey::Request(id);
        let from = PersonRef {
            person: me.person,
            name: me.name.clone(),
            agency,
            role_title: me.role_title.clone(),
        };
        let mut request = RequestDoc::new(
            id,
            from,
            to,
            new.child,
            about,
            new.reason.trim(),
            new.basis,
            Timestamp::now(),
        );
        request.concerns = new.concerns;
        request.concern_details = Text::with_value(new.concern_details.trim());
        request.views = Text::with_value(new.views.trim());
        request.urgent = new.urgent;
        let team = request_team(id, me.person, agency, to, &BTreeSet::new());
        self.save_request(
            key,
            &Automerge::new(),
            &team,
            "send a request for help",
            &request,
        )?;
        Ok(id)
    }

    /// Every request on this device (sent by me or to my duty team): for a
    /// duty worker, the open ones first, urgent before the rest; then the
    /// newest first.
    pub fn requests(&mut self) -> Result<Vec<RequestLine>, ServiceError> {
        let mut out = Vec::new();
        for key in self.document_keys()? {
            if let DocKey::Request(id) = key {
                out.push(self.request(id)?.line);
            }
        }
        out.sort_by_key(|r| {
            (
                r.state.is_closed(),
                !r.urgent || r.sent_by_me,
                std::cmp::Reverse(r.sent_at),
            )
        });
        Ok(out)
    }

    /// The request whose id is `spec` or starts with it.
    pub fn find_request(&self, spec: &str) -> Result<RequestId, ServiceError> {
        let spec = spec.trim().to_lowercase();
        let found: Vec<RequestId> = self
            .document_keys()?
            .into_iter()
            .filter_map(|k| k.request())
            .filter(|id| !spec.is_empty() && id.to_string().starts_with(&spec))
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            _ => Err(ServiceError::not_found("request", spec)),
        }
    }

    /// One request, whole.
    pub fn request(&mut self, id: RequestId) -> Result<RequestView, ServiceError> {
        let key = DocKey::Request(id);
        let doc = self.docs.require(&self.store, &key)?;
        let r: RequestDoc = read_document(doc, &key)?;
        let me = self.dir.me.person;
        let team = self.request_audience(&r);
        let last = r.last_step();
        let line = RequestLine {
            id,
            state: r.state(),
            about: r.about.name.clone(),
            urgent: r.urgent,
            to: r.to,
            from_name: r.from.name.clone(),
            sent_by_me: r.from.person == me,
            sent_at: r.steps_in_order().first().map_or(Timestamp(0), |s| s.at),
            note: last.filter(|s| !s.note.is_empty()).map(|s| s.note.clone()),
            child: r.accepted().and_then(|s| s.child),
        };
        Ok(RequestView {
            line,
            my_side: r.side_of(me, &team),
            date_of_birth: r.about.date_of_birth,
            school: r.about.school.clone(),
            address: r.about.address.clone(),
            reason: r.reason.as_str().to_owned(),
            concerns: r.concerns.clone(),
            concern_details: r.concern_details.as_str().to_owned(),
            views: r.views.as_str().to_owned(),
            basis: r.basis,
            steps: r.steps_in_order().into_iter().cloned().collect(),
        })
    }

    /// The child a request names as already in Bothy (the sender chose
    /// them from their caseload), if any.
    pub fn requested_child(&mut self, id: RequestId) -> Result<Option<ChildId>, ServiceError> {
        let key = DocKey::Request(id);
        let doc = self.docs.require(&self.store, &key)?;
        let r: RequestDoc = read_document(doc, &key)?;
        Ok(r.child)
    }

    /// Accept a request (a duty worker of the receiving agency): for
    /// `child`, a child already in Bothy (found by the match check), or a
    /// new child. The server makes the child and puts the sender and me on
    /// the team when this syncs. Returns the child's id.
    pub fn accept_request(
        &mut self,
        id: RequestId,
        child: Option<ChildId>,
    ) -> Result<ChildId, ServiceError> {
        let (chosen, new_child) = match child {
            Some(c) => (c, false),
            None => (ChildId::random(), true),
        };
        self.take_step(id, StepKind::Accepted, "", Some(chosen), new_child)?;
        Ok(chosen)
    }

    /// Decline a request, with the reason the sender will see.
    pub fn decline_request(&mut self, id: RequestId, reason: &str) -> Result<(), ServiceError> {
        if reason.trim().is_empty() {
            return Err(ServiceError::bad(
                "reason",
                "say why the request is declined",
            ));
        }
        self.take_step(id, StepKind::Declined, reason, None, false)
    }

    /// Ask the sender for more (a duty worker).
    pub fn ask_for_more(&mut self, id: RequestId, question: &str) -> Result<(), ServiceError> {
        if question.trim().is_empty() {
            return Err(ServiceError::bad("question", "say what you need to know"));
        }
        self.take_step(id, StepKind::MoreInfoAsked, question, None, false)
    }

    /// Answer the duty team's question (the sender).
    pub fn answer_request(&mut self, id: RequestId, answer: &str) -> Result<(), ServiceError> {
        if answer.trim().is_empty() {
            return Err(ServiceError::bad("answer", "write your answer"));
        }
        self.take_step(id, StepKind::Answered, answer, None, false)
    }

    /// Withdraw a request (the sender).
    pub fn withdraw_request(&mut self, id: RequestId, why: &str) -> Result<(), ServiceError> {
        self.take_step(id, StepKind::Withdrawn, why, None, false)
    }

    /// Add one step to a request, in my name.
    fn take_step(
        &mut self,
        id: RequestId,
        kind: StepKind,
        note: &str,
        child: Option<ChildId>,
        new_child: bool,
    ) -> Result<(), ServiceError> {
        let key = DocKey::Request(id);
        let before = self.docs.require(&self.store, &key)?.clone();
        let mut request: RequestDoc = read_document(&before, &key)?;
        let team = self.request_audience(&request);
        let step = RequestStep {
            id: ItemId::random(),
            kind,
            by: self.dir.me.person,
            by_name: self.dir.me.name.clone(),
            // After every step already taken, whatever this device's clock says.
            at: request.last_step().map_or(Timestamp::now(), |s| {
                Timestamp(s.at.0.max(Timestamp::now().0 - 1) + 1)
            }),
            note: note.trim().to_owned(),
            child,
            new_child,
        };
        request.steps.insert(step.id, step);
        self.save_request(key, &before, &team, kind.label(), &request)
    }

    /// The request's audience as this device knows it: the sender, and me
    /// if I am on the receiving agency's duty team.
    fn request_audience(&self, r: &RequestDoc) -> ChildTeam {
        let me = &self.dir.me;
        let duty: BTreeSet<_> = (me.duty && me.agency == Some(r.to))
            .then_some(me.person)
            .into_iter()
            .collect();
        request_team(r.request_id, r.from.person, r.from.agency, r.to, &duty)
    }

    /// Write `value` over `before` as one change by this device, check it
    /// with the shared gate, and save it.
    fn save_request(
        &mut self,
        key: DocKey,
        before: &Automerge,
        team: &ChildTeam,
        what: &str,
        value: &RequestDoc,
    ) -> Result<(), ServiceError> {
        let principal = self.dir.me.principal();
        let (after, change) =
            commit_document(before, &key, &principal.device.actor_id(), what, value)?;
        let Some(change) = change else {
            return Ok(());
        };
        let after = check_applied(
            &key,
            before,
            after,
            std::slice::from_ref(&change),
            &principal,
            team,
        )?;
        self.save(
            key,
            after,
            &mut [change],
            true,
            &Projection::nothing(&key),
            |_| Ok(()),
        )
    }

    /// A child's name and date of birth as this device knows them.
    fn child_page_name(
        &mut self,
        child: ChildId,
    ) -> Result<(String, Option<IsoDate>), ServiceError> {
        let plan: bothy_shared::docs::PlanDoc = self.read(&DocKey::Plan(child))?;
        Ok((plan.child.name, plan.child.date_of_birth))
    }
}
