//! Small numbers, hidden: the one place the report decides what it may show.
//!
//! A count of children (or requests) from 0 to 4 could point at a child a
//! reader knows, so the report shows it as "fewer than 5"; a median or a
//! percentage worked out over fewer than 5 is not shown either. Every figure
//! the report writes goes through [`count`], [`percent`] or [`median`], in
//! every format: the JSON carries the text "fewer than 5" (or, for a median
//! or percentage, "not shown: fewer than 5") in place of the number.

use std::fmt;

/// The smallest count shown as a number.
pub const SMALLEST_SHOWN: u32 = 5;

/// What a suppressed count reads as, in every format.
pub const FEWER_THAN_5: &str = "fewer than 5";

/// What a suppressed median or percentage reads as.
pub const NOT_SHOWN: &str = "not shown: fewer than 5";

/// A figure as the report may show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// A count of 5 or more.
    Count(u32),
    /// A count of 0 to 4.
    FewerThan5,
    /// A percentage (one decimal) of 5 or more.
    Percent(f64),
    /// A median in working days (halves possible) over 5 or more.
    Days(f64),
    /// A median or percentage over fewer than 5.
    NotShown,
}

/// A count, hidden below [`SMALLEST_SHOWN`].
pub fn count(n: u32) -> Shown {
    if n < SMALLEST_SHOWN {
        Shown::FewerThan5
    } else {
        Shown::Count(n)
    }
}

/// `part` of `whole` as a percentage, shown when both are 5 or more (a
/// percentage of a small part tells what a small count would).
pub fn percent(part: u32, whole: u32) -> Shown {
    if whole < SMALLEST_SHOWN || part < SMALLEST_SHOWN {
        return Shown::NotShown;
    }
    let p = f64::from(part) * 100.0 / f64::from(whole);
    Shown::Percent((p * 10.0).round() / 10.0)
}

/// The median of `values` (working days), shown over 5 or more.
pub fn median(mut values: Vec<u32>) -> Shown {
    if values.len() < SMALLEST_SHOWN as usize {
        return Shown::NotShown;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    let m = if values.len() % 2 == 1 {
        f64::from(values[mid])
    } else {
        (f64::from(values[mid - 1]) + f64::from(values[mid])) / 2.0
    };
    Shown::Days(m)
}

impl Shown {
    /// The number, for a chart (a suppressed count draws as nothing: the
    /// chart's table says why).
    pub fn chartable(self) -> u32 {
        match self {
            Shown::Count(n) => n,
            _ => 0,
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Count(n) => write!(f, "{n}"),
            Shown::FewerThan5 => f.write_str(FEWER_THAN_5),
            Shown::Percent(p) => write!(f, "{p:.1}%"),
            Shown::Days(d) => write!(f, "{d}"),
            Shown::NotShown => f.write_str(NOT_SHOWN),
        }
    }
}

impl serde::Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Shown::Count(n) => s.serialize_u32(*n),
            Shown::Percent(p) | Shown::Days(p) => s.serialize_f64(*p),
            Shown::FewerThan5 => s.serialize_str(FEWER_THAN_5),
            Shown::NotShown => s.serialize_str(NOT_SHOWN),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_under_five_are_hidden_and_five_is_shown() {
        for n in 0..5 {
            assert_eq!(count(n), Shown::FewerThan5);
            assert_eq!(count(n).to_string(), "fewer than 5");
        }
        assert_eq!(count(5).to_string(), "5");
    }

    #[test]
    fn a_percentage_over_few_or_of_few_is_not_shown() {
        assert_eq!(percent(3, 4), Shown::NotShown);
        assert_eq!(percent(2, 40), Shown::NotShown);
        assert_eq!(percent(40, 40), Shown::Percent(100.0));
        assert_eq!(percent(10, 40).to_string(), "25.0%");
    }

    #[test]
    fn a_median_needs_five_values() {
        assert_eq!(median(vec![1, 2, 3, 4]), Shown::NotShown);
        assert_eq!(median(vec![5, 1, 2, 4, 3]), Shown::Days(3.0));
        assert_eq!(median(vec![1, 2, 3, 4, 5, 6]), Shown::Days(3.5));
    }
}
