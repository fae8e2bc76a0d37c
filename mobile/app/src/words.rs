//! Dates, times and labels the way people read them.

pub use bothy_client::words::{date, date_time, maybe_date};
use bothy_shared::docs::Timestamp;

/// An automerge change time (seconds since the epoch).
pub fn from_seconds(seconds: i64) -> String {
    date_time(Timestamp(seconds.saturating_mul(1000)))
}

/// "1 change" / "3 changes".
pub fn changes(n: usize) -> String {
    if n == 1 {
        "1 change".to_owned()
    } else {
        format!("{n} changes")
    }
}

// ---------------------------------------------------------------- requests for help

/// What the "Ask for help" form says first.
pub const REQUEST_INTRO: &str = "Ask another agency's duty team for help with a child, in Bothy or not yet. It is saved at once and sent when you sync.";
/// Who will read a request, before it is sent.
pub const REQUEST_WHO_SEES: &str = "Who will see this: you and your supervisor, and that agency's duty team and their supervisors. Nobody else, not the child's team, until it is accepted.";
pub const REQUEST_SAVED: &str = "Saved: it is sent at your next sync";
pub const REQUEST_BAD_DATE: &str = "Not sent: write the date of birth as YYYY-MM-DD";
pub const NO_REQUESTS: &str = "No requests for help on this device.";
pub const REQUEST_ACCEPTED: &str =
    "Accepted: after your next sync the child's plan and record are on your caseload.";
pub const REQUEST_STEP_SAVED: &str = "Saved: it is sent at your next sync.";
pub const MATCH_CHECK_HINT: &str = "Check whether the child is already in Bothy. Only their name and date of birth are shown, and the check is recorded. The sender never sees it.";
pub const MATCH_CHECK_OFFLINE: &str = "The match check needs a connection to the server";

/// "No child in Bothy matches" / "1 child might be this one" / "3 children…".
pub fn matches(n: usize) -> String {
    match n {
        0 => "No child in Bothy matches.".to_owned(),
        1 => "1 child in Bothy might be this one.".to_owned(),
        n => format!("{n} children in Bothy might be this one."),
    }
}
