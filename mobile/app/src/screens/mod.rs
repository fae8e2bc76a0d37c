//! One module per screen. Each screen reads view models through the hooks in
//! [`crate::hooks`] and calls services through [`crate::core::use_client`].

mod caseload;
mod child;
mod family_voice;
mod my_plan;
mod plan_edit;
mod supervision;
mod sync;
mod unlock;
mod visit;
mod visit_page;

pub use caseload::Caseload;
pub use child::Child;
pub use family_voice::FamilyVoice;
pub use my_plan::MyPlan;
pub use plan_edit::{AddAction, EditAction};
pub use supervision::SupervisorFeed;
pub use sync::SyncScreen;
pub use unlock::{Unlock, UnlockForm};
pub use visit::RecordVisit;
pub use visit_page::VisitPage;
