//! Small building blocks shared by screens.

mod fields;
mod wheel;

pub use fields::{CheckBox, Choice, Notice, TextArea, TextField};
pub use wheel::WellbeingWheel;
