//! Small building blocks shared by screens.

mod fields;
mod wheel;
mod who_will_see;

pub use fields::{CheckBox, Choice, Notice, TextArea, TextField};
pub use wheel::WellbeingWheel;
pub use who_will_see::WhoWillSee;
