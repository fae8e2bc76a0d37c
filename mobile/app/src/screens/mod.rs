//! One module per screen. Each screen reads view models through the hooks in
//! [`crate::hooks`] and calls services through [`crate::core::use_client`].

mod assessment;
mod caseload;
mod child;
mod chronology;
mod conflicts;
mod family_voice;
mod moving_on;
mod my_plan;
mod outcomes;
mod plan_edit;
mod refused;
mod requests;
mod supervision;
mod sync;
mod team;
mod unlock;
mod visit;
mod visit_page;
mod voice_gathered;

pub use assessment::{AddNeed, AssessWellbeing, EditNeed, MyWorldEdit, PlanReview};
pub use caseload::Caseload;
pub use child::Child;
pub use chronology::ChronologyPage;
pub use family_voice::FamilyVoice;
pub use moving_on::MovingOn;
pub use my_plan::MyPlan;
pub use outcomes::TeamOutcomes;
pub use plan_edit::{AddAction, EditAction};
pub use requests::{AskForHelp, AskForHelpAbout, RequestList, RequestPage, Requests};
pub use supervision::SupervisorFeed;
pub use sync::SyncScreen;
pub use team::TeamPage;
pub use unlock::{Unlock, UnlockForm};
pub use visit::RecordVisit;
pub use visit_page::VisitPage;
pub use voice_gathered::FamilyVoiceGathered;
