//! Small building blocks shared by screens.

mod export;
mod fields;
mod wheel;
mod who_will_see;

pub use export::{ExportMyPlan, ExportPlan};
pub use fields::{CheckBox, Choice, Notice, TextArea, TextField};
pub use wheel::WellbeingWheel;
pub use who_will_see::WhoWillSee;
