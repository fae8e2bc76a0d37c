//! Small values stored in documents: dates and instants.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};
use time::{
    Date, OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description,
};

/// An instant, as milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Reconcile for Timestamp {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
        r.i64(self.0)
    }
}

impl Hydrate for Timestamp {
    fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
        Ok(Timestamp(i))
    }
}

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(t: OffsetDateTime) -> Self {
        // i128 nanoseconds / 1e6 fits i64 milliseconds for any year time can represent.
        Timestamp((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn to_datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).ok()
    }

    /// The calendar day (UTC) of this instant.
    pub fn date(self) -> Option<IsoDate> {
        self.to_datetime().map(|t| IsoDate(t.date()))
    }

    pub fn plus_days(self, days: i64) -> Self {
        Timestamp(self.0.saturating_add(days.saturating_mul(86_400_000)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime().and_then(|t| t.format(&Rfc3339).ok()) {
            Some(s) => f.write_str(&s),
            None => write!(f, "{}ms", self.0),
        }
    }
}

/// A calendar date, stored as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate(pub Date);

/// A string that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date (expected YYYY-MM-DD)")]
pub struct BadDate(pub String);

impl IsoDate {
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Self, BadDate> {
        let month =
            time::Month::try_from(month).map_err(|_| BadDate(format!("{year}-{month}-{day}")))?;
        Date::from_calendar_date(year, month, day)
            .map(IsoDate)
            .map_err(|_| BadDate(format!("{year}-{month}-{day}")))
    }

    pub fn today() -> Self {
        IsoDate(OffsetDateTime::now_utc().date())
    }

    pub fn plus_days(self, days: i64) -> Self {
        IsoDate(self.0.saturating_add(time::Duration::days(days)))
    }

    /// Days from `self` to `other` (negative if `other` is earlier).
    pub fn days_until(self, other: IsoDate) -> i64 {
        (other.0 - self.0).whole_days()
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl fmt::Debug for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IsoDate({self})")
    }
}

impl FromStr for IsoDate {
    type Err = BadDate;
    fn from_str(s: &str) -> Result<Self, BadDate> {
        Date::parse(s, format_description!("[year]-[month]-[day]"))
            .map(IsoDate)
            .map_err(|_| BadDate(s.to_owned()))
    }
}

impl Serialize for IsoDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Reconcile for IsoDate {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
        r.str(self.to_string())
    }
}

impl Hydrate for IsoDate {
    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        s.parse().map_err(|_| {
            HydrateError::unexpected("a date as YYYY-MM-DD", format!("the string {s:?}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_and_print_the_same() {
        let d: IsoDate = "2026-03-09".parse().unwrap();
        assert_eq!(d.to_string(), "2026-03-09");
        assert!("2026-02-30".parse::<IsoDate>().is_err());
        assert!("9 March".parse::<IsoDate>().is_err());
        assert_eq!(d.days_until(d.plus_days(28)), 28);
    }

    #[test]
    fn timestamps_know_their_day() {
        let t = Timestamp(1_767_225_600_000); // 2026-01-01T00:00:00Z
        assert_eq!(t.date().unwrap().to_string(), "2026-01-01");
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
    }
}
