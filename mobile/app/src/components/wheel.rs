//! The wellbeing wheel: eight SHANARRI segments, each filled out to the
//! rating now, with a dashed line at the rating at the last review. The SVG
//! is one image for screen readers, with the same ratings in a list beside it.

use bothy_client::services::WellbeingLine;
use dioxus::prelude::*;

const CENTRE: f64 = 150.0;
const RADIUS: f64 = 110.0;
const LABEL_RADIUS: f64 = 132.0;

fn point(radius: f64, angle: f64) -> (f64, f64) {
    (CENTRE + radius * angle.sin(), CENTRE - radius * angle.cos())
}

/// A wedge from the centre out to `radius`, between two angles (radians, clockwise from 12 o'clock).
fn wedge(radius: f64, from: f64, to: f64) -> String {
    let (x1, y1) = point(radius, from);
    let (x2, y2) = point(radius, to);
    format!("M{CENTRE},{CENTRE} L{x1:.1},{y1:.1} A{radius:.1},{radius:.1} 0 0,1 {x2:.1},{y2:.1} Z")
}

/// An arc at `radius`, between two angles.
fn arc(radius: f64, from: f64, to: f64) -> String {
    let (x1, y1) = point(radius, from);
    let (x2, y2) = point(radius, to);
    format!("M{x1:.1},{y1:.1} A{radius:.1},{radius:.1} 0 0,1 {x2:.1},{y2:.1}")
}

fn rating(r: Option<u8>) -> String {
    r.map(|r| format!("{r} out of 10"))
        .unwrap_or_else(|| "not rated".to_owned())
}

/// What one segment says, in words: the rating now (and who gave it), and
/// the rating as it stood at the last review meeting.
pub fn describe(line: &WellbeingLine) -> String {
    let by = match (&line.now_by_name, line.now_on) {
        (Some(name), Some(on)) if line.now.is_some() => {
            format!(" (by {name}, {})", crate::words::date(on))
        }
        _ => String::new(),
    };
    format!(
        "{}: now {}{by}, at the last review {}",
        line.label,
        rating(line.now),
        rating(line.before)
    )
}

#[component]
pub fn WellbeingWheel(lines: Vec<WellbeingLine>) -> Element {
    let n = lines.len().max(1) as f64;
    let step = std::f64::consts::TAU / n;
    let summary = lines.iter().map(describe).collect::<Vec<_>>().join("; ");
    rsx! {
        figure { class: "wheel",
            svg {
                view_box: "-40 -10 380 320",
                role: "img",
                "aria-label": "Wellbeing wheel. {summary}",
                for (i , line) in lines.iter().enumerate() {
                    g { class: "segment",
                        title { "{describe(line)}" }
                        path {
                            class: "outline",
                            d: wedge(RADIUS, i as f64 * step, (i as f64 + 1.0) * step),
                        }
                        if let Some(now) = line.now {
                            path {
                                class: "now",
                                d: wedge(RADIUS * f64::from(now.min(10)) / 10.0, i as f64 * step, (i as f64 + 1.0) * step),
                            }
                        }
                        if let Some(before) = line.before {
                            path {
                                class: "before",
                                d: arc(RADIUS * f64::from(before.min(10)) / 10.0, i as f64 * step, (i as f64 + 1.0) * step),
                            }
                        }
                        {
                            let (x, y) = point(LABEL_RADIUS, (i as f64 + 0.5) * step);
                            rsx! {
                                text {
                                    x: "{x:.1}",
                                    y: "{y:.1}",
                                    text_anchor: "middle",
                                    dominant_baseline: "middle",
                                    "{line.label}"
                                }
                            }
                        }
                    }
                }
            }
            figcaption {
                "Filled: the rating now. Dashed line: the rating at the last review"
                if let Some(d) = lines.iter().find_map(|l| l.last_review) {
                    " ({crate::words::date(d)})"
                }
                "."
                ul { class: "ratings",
                    for line in lines.iter() {
                        li { "{describe(line)}" }
                    }
                }
            }
        }
    }
}
