//! Dates and times the way people read them, for every screen and printout.

use bothy_shared::docs::{IsoDate, Timestamp};

/// "4 March 2025".
pub fn date(d: IsoDate) -> String {
    format!("{} {} {}", d.0.day(), d.0.month(), d.0.year())
}

/// "4 March 2025", or "not set".
pub fn maybe_date(d: Option<IsoDate>) -> String {
    d.map(date).unwrap_or_else(|| "not set".to_owned())
}

/// "4 March 2025, 14:05" (UTC).
pub fn date_time(t: Timestamp) -> String {
    match t.to_datetime() {
        Some(dt) => format!(
            "{} {} {}, {:02}:{:02}",
            dt.day(),
            dt.month(),
            dt.year(),
            dt.hour(),
            dt.minute()
        ),
        None => t.to_string(),
    }
}
