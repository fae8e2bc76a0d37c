//! "Who will see this": the audience of a document, from the shared policy
//! ([`bothy_shared::policy::audience`]), put into words with the names this
//! device knows. Every form that writes shows it before anything is saved.

use std::collections::{BTreeMap, BTreeSet};

use bothy_shared::docs::DocKey;
use bothy_shared::ids::PersonId;
use bothy_shared::policy::{Audience, audience};
use serde::Serialize;

use super::Client;
use crate::error::ServiceError;

/// Who will read what is about to be written, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhoWillSee {
    /// The document it will be written to.
    pub doc: DocKey,
    /// One line: "Your team: 3 people in 3 agencies, and Kai in My plan" or
    /// "Social work only".
    pub line: String,
    /// The people, by name and agency: "Morag Fraser (Social work)".
    pub names: Vec<String>,
    /// Whether the young person will read it.
    pub young_person: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl Client {
    /// Who will see what is written to `key`. For the plan, `withheld` says
    /// whether the section is withheld from the young person (they read the
    /// plan through a copy without withheld sections).
    pub fn who_will_see(&self, key: DocKey, withheld: bool) -> Result<WhoWillSee, ServiceError> {
        let team = self.team(key.child())?;
        // The device knows whom it supervises itself; other supervisors are
        // the server's business (and the line says supervisors may read).
        let mut supervisors: BTreeMap<PersonId, BTreeSet<PersonId>> = BTreeMap::new();
        if !self.dir.me.supervises.is_empty() {
            supervisors.insert(self.dir.me.person, self.dir.me.supervises.clone());
        }
        let a = audience(&key, team, &supervisors, withheld);
        Ok(self.in_words(key, &a))
    }

    fn in_words(&self, key: DocKey, a: &Audience) -> WhoWillSee {
        let young = a.young_person.map(|p| {
            let name = self.dir.name_of(p);
            name.split_whitespace()
                .next()
                .unwrap_or("the young person")
                .to_owned()
        });
        let mut line = match (key, a.only_agency()) {
            (DocKey::Agency(..), Some(agency)) => format!("{} only", agency.label()),
            _ if a.members.is_empty() => "Nobody in the team".to_owned(),
            _ => format!(
                "Your team: {} in {}",
                plural(a.people(), "person", "people"),
                plural(a.members.len(), "agency", "agencies")
            ),
        };
        if let Some(name) = &young {
            line.push_str(&format!(", and {name} in My plan"));
        }
        let mut names: Vec<String> = a
            .members
            .iter()
            .flat_map(|(agency, people)| {
                people
                    .iter()
                    .map(move |p| format!("{} ({})", self.dir.name_of(*p), agency.label()))
            })
            .collect();
        names.extend(
            a.supervisors
                .iter()
                .map(|p| format!("{} (supervisor)", self.dir.name_of(*p))),
        );
        WhoWillSee {
            doc: key,
            line,
            names,
            young_person: young.is_some(),
        }
    }
}
