//! One module per screen. Each screen reads view models through the hooks in
//! [`crate::hooks`] and calls services through [`crate::core::use_client`].

mod caseload;
mod child;
mod family_voice;
mod my_plan;
mod supervision;
mod unlock;
mod visit;

pub use caseload::Caseload;
pub use child::Child;
pub use family_voice::FamilyVoice;
pub use my_plan::MyPlan;
pub use supervision::SupervisorFeed;
pub use unlock::{Unlock, UnlockForm};
pub use visit::RecordVisit;
