//! The outcomes report written out: JSON (the report's fields as they are),
//! CSV (one figure a line) and HTML (one self-contained page: charts as
//! inline SVG drawn by `bothy_shared::outcomes::band_chart_svg`, the numbers
//! in a table beside each, no script, no style sheet or font fetched).
//!
//! Every figure arrives already made anonymous ([`super::suppress`]); this
//! module only lays it out.

use std::fmt::Write as _;

use bothy_shared::outcomes::{BAND_COLOURS, Band, band_chart_svg, escape};

use super::ReportError;
use super::outcomes::{BandCounts, Changes, OutcomesReport, RequestFigures, Share};
use super::suppress::{FEWER_THAN_5, NOT_SHOWN, Shown};

/// The formats the report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
}

/// The report in `format`.
pub fn render(report: &OutcomesReport, format: Format) -> Result<String, ReportError> {
    match format {
        Format::Json => {
            let mut out = serde_json::to_string_pretty(report)?;
            out.push('\n');
            Ok(out)
        }
        Format::Csv => Ok(csv(report)),
        Format::Html => html(report),
    }
}

// ---------------------------------------------------------------- CSV

/// One line per figure: `section,agency,indicator,measure,value`.
pub fn csv(r: &OutcomesReport) -> String {
    let mut lines = Csv(String::new());
    lines.row(["section", "agency", "indicator", "measure", "value"]);
    lines.row(["period", "", "", "from", &r.period.from.to_string()]);
    lines.row(["period", "", "", "to", &r.period.to.to_string()]);
    lines.row(["children", "", "", "children", &r.children.to_string()]);
    for i in &r.indicators {
        lines.bands("bands now", "all", i.indicator, &i.now);
        lines.bands(
            "bands at last review",
            "all",
            i.indicator,
            &i.at_last_review,
        );
        lines.changes(
            "change between reviews",
            "all",
            i.indicator,
            &i.change_between_reviews,
        );
    }
    for a in &r.by_agency {
        for i in &a.indicators {
            lines.bands("bands now by agency", a.agency, i.indicator, &i.now);
            lines.changes(
                "change between reviews by agency",
                a.agency,
                i.indicator,
                &i.change_between_reviews,
            );
        }
    }
    lines.row([
        "children reviewed in period",
        "",
        "",
        "children",
        &r.children_reviewed_in_period.to_string(),
    ]);
    for (section, share) in shares(r) {
        lines.row([section, "", "", "of", &share.of.to_string()]);
        lines.row([section, "", "", "count", &share.count.to_string()]);
        lines.row([section, "", "", "percent", &share.percent.to_string()]);
    }
    lines.row([
        "visits overdue",
        "",
        "",
        "after days",
        &r.visit_overdue_after_days.to_string(),
    ]);
    for q in &r.requests {
        for (measure, v) in REQUEST_MEASURES.into_iter().zip(request_values(q)) {
            lines.row(["requests for help", q.agency, "", measure, &v.to_string()]);
        }
    }
    lines.0
}

struct Csv(String);

impl Csv {
    fn row<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) {
        for (k, f) in fields.into_iter().enumerate() {
            if k > 0 {
                self.0.push(',');
            }
            if f.contains([',', '"', '\n', '\r']) {
                let _ = write!(self.0, "\"{}\"", f.replace('"', "\"\""));
            } else {
                self.0.push_str(f);
            }
        }
        self.0.push_str("\r\n");
    }

    fn bands(&mut self, section: &str, agency: &str, indicator: &str, b: &BandCounts) {
        for (band, v) in Band::ALL.into_iter().zip(b.all()) {
            self.row([section, agency, indicator, band.label(), &v.to_string()]);
        }
    }

    fn changes(&mut self, section: &str, agency: &str, indicator: &str, c: &Changes) {
        for (measure, v) in ["up", "same", "down"].into_iter().zip(c.all()) {
            self.row([section, agency, indicator, measure, &v.to_string()]);
        }
    }
}

/// The shares, with the section name each is written under.
fn shares(r: &OutcomesReport) -> [(&'static str, &Share); 7] {
    [
        ("children with a plan", &r.children_with_a_plan),
        (
            "rating fallen by 2 or more",
            &r.children_with_a_rating_fallen_by_2,
        ),
        ("reviews held on time", &r.reviews_on_time),
        ("young people's views recorded", &r.views_recorded),
        ("transition plans in place by 15", &r.transition_plans_by_15),
        ("visits overdue", &r.visits_overdue),
        ("seen alone at last visit", &r.seen_alone_at_last_visit),
    ]
}

/// The figures of a request row, in the order of [`REQUEST_MEASURES`].
const REQUEST_MEASURES: [&str; 7] = [
    "sent",
    "urgent",
    "answered",
    "not answered",
    "median working days to answer",
    "answered within 1 working day",
    "answered within 5 working days",
];

fn request_values(q: &RequestFigures) -> [Shown; 7] {
    [
        q.sent,
        q.urgent,
        q.answered,
        q.not_answered,
        q.median_working_days,
        q.answered_within_1_working_day,
        q.answered_within_5_working_days,
    ]
}

// ---------------------------------------------------------------- HTML

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0 auto;\
padding:1rem;max-width:60rem;color:#1a1a1a}table{border-collapse:collapse;margin:0 0 1.5rem}\
h1{font-size:1.6rem}caption{text-align:left;font-weight:600;padding:.25rem 0}th,td{border:1px solid #767676;\
padding:.25rem .5rem;text-align:left}.scroll{overflow-x:auto;max-width:100%}td.n{text-align:right}figure{margin:0 0 .5rem}\
.key span{display:inline-block;padding:0 .5rem;margin-right:.5rem;color:#fff}";

/// The report as one HTML page that needs nothing else.
pub fn html(r: &OutcomesReport) -> Result<String, ReportError> {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Outcomes report, {} to {}", r.period.from, r.period.to);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let _ = writeln!(
        h,
        "<p>Every child with a case on this server, counted as of {to} unless a figure says \
         otherwise. No names or identifiers are included. Any count from 0 to 4 is shown as \
         \u{201c}{FEWER_THAN_5}\u{201d}, and a median or percentage worked out over fewer \
         than 5 is \u{201c}{NOT_SHOWN}\u{201d}; charts draw those counts as nothing.</p>",
        to = r.period.to
    );
    key(&mut h);

    h.push_str("<h2>Children</h2>\n");
    let _ = writeln!(
        h,
        "<p>Children with a case: {}. Children reviewed in the period: {}.</p>",
        r.children, r.children_reviewed_in_period
    );

    h.push_str("<h2>Wellbeing ratings by indicator</h2>\n");
    let now: Vec<_> = r.indicators.iter().map(|i| (i.label, &i.now)).collect();
    band_section(
        &mut h,
        "Children in each band now (the latest rating on or before the period's last day)",
        &now,
    )?;
    let review: Vec<_> = r
        .indicators
        .iter()
        .map(|i| (i.label, &i.at_last_review))
        .collect();
    band_section(
        &mut h,
        "Children in each band at their last review",
        &review,
    )?;
    change_table(
        &mut h,
        "Change between the last two reviews, children whose last review was held in the period",
        r.indicators
            .iter()
            .map(|i| (i.label, &i.change_between_reviews)),
    );

    h.push_str("<h2>Ratings by agency</h2>\n");
    if r.by_agency.is_empty() {
        h.push_str("<p>No agency has given a rating.</p>\n");
    }
    for a in &r.by_agency {
        let _ = writeln!(h, "<h3>{}</h3>", escape(a.label));
        let rows: Vec<_> = a.indicators.iter().map(|i| (i.label, &i.now)).collect();
        band_section(
            &mut h,
            &format!(
                "Children in each band by the latest rating {} gave",
                a.label
            ),
            &rows,
        )?;
        change_table(
            &mut h,
            &format!(
                "Change between the last two reviews by the ratings {} gave, children whose last review was held in the period",
                a.label
            ),
            a.indicators
                .iter()
                .map(|i| (i.label, &i.change_between_reviews)),
        );
    }

    h.push_str("<h2>Plans, reviews, views and transitions</h2>\n");
    open_table(
        &mut h,
        "Children and reviews (what each figure covers is beside it)",
        &["Figure", "Of", "Count", "Percent", "What it covers"],
    );
    for (name, s) in shares(r) {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&capitalised(name)),
            s.of,
            s.count,
            s.percent,
            escape(s.covers)
        );
    }
    close_table(&mut h);
    let _ = writeln!(
        h,
        "<p>A visit is overdue after {} days without one.</p>",
        r.visit_overdue_after_days
    );

    h.push_str("<h2>Requests for help</h2>\n");
    h.push_str(
        "<p>Requests sent in the period, by the agency asked. Answered: the duty team's first \
         step (accepted, declined, or more information asked for) on or before the period's \
         last day. Working days are Monday to Friday; public holidays count as working days.</p>\n",
    );
    let columns: Vec<String> = std::iter::once("Agency asked".to_owned())
        .chain(REQUEST_MEASURES.iter().map(|m| capitalised(m)))
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    open_table(
        &mut h,
        "Requests for help and how fast they were answered",
        &columns,
    );
    for q in &r.requests {
        row(&mut h, q.label, &request_values(q));
    }
    close_table(&mut h);
    h.push_str("</main>\n</body>\n</html>\n");
    Ok(h)
}

/// The colours of the bands, in words too.
fn key(h: &mut String) {
    h.push_str("<p class=\"key\">Bands in the charts: ");
    for (band, (r, g, b)) in Band::ALL.into_iter().zip(BAND_COLOURS) {
        let _ = write!(
            h,
            "<span style=\"background:#{r:02x}{g:02x}{b:02x}\">{}</span>",
            band.label()
        );
    }
    h.push_str("(1-3: serious concern; 7-10: doing well).</p>\n");
}

/// A table of children whose rating went up, stayed or went down.
fn change_table<'a>(
    h: &mut String,
    caption: &str,
    rows: impl Iterator<Item = (&'a str, &'a Changes)>,
) {
    open_table(
        h,
        caption,
        &["Indicator", "Went up", "Stayed the same", "Went down"],
    );
    for (label, c) in rows {
        row(h, label, &c.all());
    }
    close_table(h);
}

/// A chart of children per band and its table.
fn band_section(
    h: &mut String,
    title: &str,
    rows: &[(&str, &BandCounts)],
) -> Result<(), ReportError> {
    let chart: Vec<(&str, [u32; 3])> = rows
        .iter()
        .map(|(label, b)| (*label, b.all().map(Shown::chartable)))
        .collect();
    let _ = writeln!(h, "<figure>\n{}\n</figure>", band_chart_svg(title, &chart)?);
    let columns = Band::ALL.map(|b| format!("Band {}", b.label()));
    let [low, middle, high] = columns.each_ref().map(String::as_str);
    open_table(h, title, &["Indicator", low, middle, high]);
    for (label, b) in rows {
        row(h, label, &b.all());
    }
    close_table(h);
    Ok(())
}

/// A table with its caption and column headings, in a region that scrolls
/// sideways on a narrow screen (focusable, so it scrolls by keyboard too).
fn open_table(h: &mut String, caption: &str, columns: &[&str]) {
    let caption = escape(caption);
    let _ = write!(
        h,
        "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"{caption}\">\n\
         <table>\n<caption>{caption}</caption>\n<thead><tr>"
    );
    for c in columns {
        let _ = write!(h, "<th scope=\"col\">{}</th>", escape(c));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
}

fn close_table(h: &mut String) {
    h.push_str("</tbody>\n</table>\n</div>\n");
}

fn row(h: &mut String, label: &str, values: &[Shown]) {
    let _ = write!(h, "<tr><th scope=\"row\">{}</th>", escape(label));
    for v in values {
        let _ = write!(h, "<td class=\"n\">{v}</td>");
    }
    h.push_str("</tr>\n");
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
