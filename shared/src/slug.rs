//! [`slugs!`]: the stable slug (and, where people see it, the label) of a
//! field-less enum, written once per variant.
//!
//! A slug is the lowercase, hyphenated name an enum value has outside Rust:
//! in document keys and paths (`agency/<child>/police`, `wellbeing/safe`),
//! on the wire (rule names), in the device's index and on the command line.
//! Slugs are stable: changing one breaks stored data and older clients.
//!
//! ```text
//! slugs!(VisitKind {
//!     Home => "home", "Home visit";
//!     Phone => "phone", "Phone call";
//! });
//! ```
//!
//! gives `VisitKind::ALL` (every variant, in the order listed),
//! `as_str(self) -> &'static str`, `from_slug(&str) -> Option<Self>` and,
//! when every variant has a label, `label(self) -> &'static str`. The
//! `match` in `as_str` is exhaustive, so an enum that gains a variant does
//! not compile until the variant has a slug, and so `ALL` cannot fall
//! behind the enum.

/// Generate `ALL`, `as_str`, `from_slug` and (with labels) `label` for a
/// field-less enum. See the module documentation.
macro_rules! slugs {
    ($name:ident { $($variant:ident => $slug:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in the order they are listed to people.
            pub const ALL: [$name; { [$(stringify!($variant)),+].len() }] = [$($name::$variant),+];

            /// The stable slug: in document keys and paths, on the wire, in
            /// the device's index and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $slug,)+
                }
            }

            /// The value whose slug is `s`, if any.
            pub fn from_slug(s: &str) -> Option<Self> {
                match s {
                    $($slug => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
    ($name:ident { $($variant:ident => $slug:literal, $label:literal);+ $(;)? }) => {
        $crate::slug::slugs!($name { $($variant => $slug),+ });

        impl $name {
            /// The name people are shown.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }
        }
    };
}

pub(crate) use slugs;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::docs::{ActionStatus, Impact, Indicator, Significance, VisitKind, VoiceOf};
    use crate::ids::Agency;
    use crate::policy::{Rule, TeamRole};
    use crate::wire::ErrorCode;

    /// Every value round-trips through its slug, `ALL` lists each value
    /// once, slugs are distinct, lowercase and hyphenated, and a string that
    /// is no slug reads as `None`.
    macro_rules! check {
        ($name:ident, $count:expr) => {{
            let all = $name::ALL;
            assert_eq!(
                all.len(),
                $count,
                "{} has {} values",
                stringify!($name),
                $count
            );
            let mut slugs = HashSet::new();
            for v in all {
                assert_eq!($name::from_slug(v.as_str()), Some(v));
                assert!(
                    slugs.insert(v.as_str()),
                    "{} repeats {}",
                    stringify!($name),
                    v.as_str()
                );
                assert!(
                    v.as_str()
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-'),
                    "{:?} is not a slug",
                    v.as_str()
                );
            }
            assert_eq!($name::from_slug(""), None);
            assert_eq!($name::from_slug("Not-A-Slug"), None);
            all.map(|v| v.as_str())
        }};
    }

    /// `ALL` is complete: a `match` with no wildcard over each enum counts
    /// its variants independently of the macro, so a variant missing from
    /// `ALL` would make the count below differ (and one missing from the
    /// match would not compile).
    fn variants<T>(all: &[T], index: impl Fn(&T) -> usize) -> usize {
        let seen: HashSet<usize> = all.iter().map(index).collect();
        seen.len()
    }

    #[test]
    fn every_slug_enum_round_trips_and_all_is_complete() {
        assert_eq!(
            check!(Indicator, 8),
            [
                "safe",
                "healthy",
                "achieving",
                "nurtured",
                "active",
                "respected",
                "responsible",
                "included"
            ]
        );
        assert_eq!(
            check!(ActionStatus, 5),
            [
                "not-started",
                "in-progress",
                "done",
                "stuck",
                "no-longer-needed"
            ]
        );
        assert_eq!(
            check!(VisitKind, 6),
            ["home", "school", "office", "phone", "video", "other"]
        );
        assert_eq!(
            check!(VoiceOf, 5),
            ["child", "parent", "carer", "sibling", "other"]
        );
        assert_eq!(
            check!(Impact, 5),
            ["positive", "neutral", "negative", "mixed", "not-known"]
        );
        assert_eq!(
            check!(Significance, 3),
            ["routine", "significant", "critical"]
        );
        assert_eq!(
            check!(Agency, 10),
            [
                "social-work",
                "health",
                "education",
                "early-learning",
                "police",
                "youth-justice",
                "third-sector",
                "adult-social-work",
                "adult-mental-health",
                "housing"
            ]
        );
        assert_eq!(
            check!(TeamRole, 3),
            ["member", "lead-professional", "named-person"]
        );
        assert_eq!(check!(Rule, 28).len(), 28);
        assert_eq!(check!(ErrorCode, 16).len(), 16);

        // Independent counts of the variants (no wildcard arms).
        assert_eq!(
            variants(&Indicator::ALL, |i| match i {
                Indicator::Safe => 0,
                Indicator::Healthy => 1,
                Indicator::Achieving => 2,
                Indicator::Nurtured => 3,
                Indicator::Active => 4,
                Indicator::Respected => 5,
                Indicator::Responsible => 6,
                Indicator::Included => 7,
            }),
            8
        );
        assert_eq!(
            variants(&Significance::ALL, |s| match s {
                Significance::Routine => 0,
                Significance::Significant => 1,
                Significance::Critical => 2,
            }),
            3
        );
        assert_eq!(
            variants(&TeamRole::ALL, |r| match r {
                TeamRole::Member => 0,
                TeamRole::LeadProfessional => 1,
                TeamRole::NamedPerson => 2,
            }),
            3
        );
    }

    #[test]
    fn labels_are_what_people_were_shown_before() {
        assert_eq!(Indicator::Safe.label(), "Safe");
        assert_eq!(ActionStatus::NoLongerNeeded.label(), "No longer needed");
        assert_eq!(VisitKind::Home.label(), "Home visit");
        assert_eq!(VisitKind::Phone.label(), "Phone call");
        assert_eq!(
            Agency::EarlyLearning.label(),
            "Early learning and childcare"
        );
        for a in Agency::ALL {
            assert!(!a.label().is_empty());
        }
    }
}
