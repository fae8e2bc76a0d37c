//! Identifiers: children, people, devices and the agencies they work for.
//!
//! Ids are random UUIDs shown in their hyphenated form. A device's Automerge
//! actor is derived from its id, so the server can tell which device made a
//! change from the change alone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An id string that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid id (expected a UUID such as 3f2c…-…)")]
pub struct BadId(pub String);

/// Store a `Display + FromStr` value in documents as an Automerge string, so a
/// malformed value fails hydration (and so the change that wrote it is refused).
macro_rules! string_in_documents {
    ($name:ident) => {
        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(self.to_string())
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                s.parse().map_err(|_| {
                    autosurgeon::HydrateError::unexpected(
                        concat!("a valid ", stringify!($name)),
                        format!("the string {s:?}"),
                    )
                })
            }
        }
    };
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                Uuid::parse_str(s).map(Self).map_err(|_| BadId(s.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadId;
            fn try_from(s: String) -> Result<Self, BadId> {
                s.parse()
            }
        }

        string_in_documents!($name);
    };
}

uuid_id!(
    /// A child or young person with a plan.
    ChildId
);
uuid_id!(
    /// A person in the partnership's directory: practitioner, supervisor or young person.
    PersonId
);
uuid_id!(
    /// One enrolled device (a phone or desktop install).
    DeviceId
);
uuid_id!(
    /// A request for help from one agency to another (`request/<id>`).
    RequestId
);
uuid_id!(
    /// A list item in a document (a visit, an action, a chronology entry…).
    ItemId
);

impl DeviceId {
    /// The Automerge actor every change made on this device carries.
    ///
    /// It is the device id's 16 bytes, so the server can check that a change
    /// was made by the device that sent it without a lookup table.
    pub fn actor_id(&self) -> automerge::ActorId {
        automerge::ActorId::from(self.0.as_bytes().as_slice())
    }

    /// The device an actor belongs to, if the actor is a device actor.
    pub fn from_actor(actor: &automerge::ActorId) -> Option<DeviceId> {
        Uuid::from_slice(actor.to_bytes()).ok().map(DeviceId)
    }
}

/// The Automerge actor the server uses for documents it creates itself (an
/// administrator's new child, the demo seed): the ASCII bytes
/// `bothy-server-000`. It is the same everywhere, so the same value created
/// as a document anywhere gives the same first change.
pub fn server_actor() -> automerge::ActorId {
    automerge::ActorId::from(&b"bothy-server-000"[..])
}

/// The agencies of a children's services partnership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Agency {
    SocialWork,
    Health,
    Education,
    EarlyLearning,
    Police,
    YouthJustice,
    ThirdSector,
    /// Adult services a young person moves on to (issue 15): they can be on
    /// a child's team, and a transition plan names them.
    AdultSocialWork,
    AdultMentalHealth,
    Housing,
}

/// An agency name that is not one of [`Agency::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an agency (expected one of social-work, health, education, early-learning, police, youth-justice, third-sector, adult-social-work, adult-mental-health, housing)"
)]
pub struct BadAgency(pub String);

// The slug is used in document keys, the wire and the command line; the
// label is the name practitioners use.
crate::slug::slugs!(Agency {
    SocialWork => "social-work", "Social work";
    Health => "health", "Health";
    Education => "education", "Education";
    EarlyLearning => "early-learning", "Early learning and childcare";
    Police => "police", "Police";
    YouthJustice => "youth-justice", "Youth justice";
    ThirdSector => "third-sector", "Third sector";
    AdultSocialWork => "adult-social-work", "Adult social work";
    AdultMentalHealth => "adult-mental-health", "Adult mental health";
    Housing => "housing", "Housing";
});

impl Agency {
    /// The adult services a young person's transition plan can name, in the
    /// order they are offered.
    pub const ADULT_SERVICES: [Agency; 3] = [
        Agency::AdultSocialWork,
        Agency::AdultMentalHealth,
        Agency::Housing,
    ];

    /// An adult service (a transition plan's "who will help").
    pub fn is_adult_service(self) -> bool {
        Self::ADULT_SERVICES.contains(&self)
    }
}

impl fmt::Display for Agency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Agency {
    type Err = BadAgency;
    fn from_str(s: &str) -> Result<Self, BadAgency> {
        Agency::from_slug(s).ok_or_else(|| BadAgency(s.to_owned()))
    }
}

string_in_documents!(Agency);

impl From<Agency> for String {
    fn from(a: Agency) -> String {
        a.as_str().to_owned()
    }
}

impl TryFrom<String> for Agency {
    type Error = BadAgency;
    fn try_from(s: String) -> Result<Self, BadAgency> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_slugs_round_trip() {
        for a in Agency::ALL {
            assert_eq!(a.as_str().parse::<Agency>(), Ok(a));
        }
        assert!(matches!("council".parse::<Agency>(), Err(BadAgency(_))));
    }

    #[test]
    fn the_error_for_a_bad_agency_lists_every_agency() {
        let message = BadAgency("council".into()).to_string();
        for a in Agency::ALL {
            assert!(message.contains(a.as_str()), "{message} lacks {a}");
        }
    }

    #[test]
    fn adult_services_are_agencies_with_their_own_slugs() {
        assert_eq!(
            Agency::ADULT_SERVICES.map(Agency::as_str),
            ["adult-social-work", "adult-mental-health", "housing"]
        );
        assert_eq!(Agency::AdultSocialWork.label(), "Adult social work");
        assert!(Agency::Housing.is_adult_service());
        assert!(!Agency::SocialWork.is_adult_service());
    }

    #[test]
    fn device_actor_round_trips_to_the_device() {
        let d = DeviceId::random();
        assert_eq!(DeviceId::from_actor(&d.actor_id()), Some(d));
        assert_eq!(
            DeviceId::from_actor(&automerge::ActorId::from(&[1u8, 2, 3][..])),
            None
        );
    }

    #[test]
    fn ids_reject_non_uuids() {
        assert!("not-a-uuid".parse::<ChildId>().is_err());
        let c = ChildId::random();
        assert_eq!(c.to_string().parse::<ChildId>(), Ok(c));
    }
}
