//! Laying a printed plan out on A4 pages with printpdf: [`Block`]s in, PDF
//! bytes out. Knows nothing of plans; `super::plan` says what to print.
//!
//! Text is set in the PDF's standard Helvetica (no font file, nothing to
//! embed), which shows only the Windows-1252 ("WinAnsi") characters:
//! [`win_ansi`] replaces every other character before it is set (dashes and
//! quotes with their nearest, anything else with `?`), so what is printed
//! is what was measured. Lines are wrapped to the page with Helvetica's
//! approximate widths ([`char_em`]), leaving a margin for the error; new
//! pages are started as needed, and every page carries the footer and its
//! number ("Page 2 of 5").

use printpdf::path::{PaintMode, WindingOrder};
use printpdf::{
    BuiltinFont, Color, IndirectFontRef, Line, Mm, PdfDocument, PdfDocumentReference,
    PdfLayerReference, Point, Polygon, Rgb,
};

/// What can go wrong laying a plan out.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the PDF library failed")]
    Library(#[from] printpdf::Error),
}

/// One piece of a printed plan, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The document's title, at the top of the first page.
    Title(String),
    Heading(String),
    Subheading(String),
    Para(String),
    /// Someone's own words, quoted as written, and who said them.
    Quote {
        words: String,
        by: String,
    },
    Bullet(String),
    /// The wellbeing wheel: eight spokes, each `(label, latest rating)`.
    Wheel(Vec<(String, Option<u8>)>),
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 20.0;
const TOP: f32 = PAGE_H - 20.0;
/// Text stops here; the footer sits below.
const BOTTOM: f32 = 28.0;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;
const PT_TO_MM: f32 = 0.352_778;
const WHEEL_RADIUS: f32 = 32.0;

/// A character as Helvetica in WinAnsi can show it: itself, its nearest
/// (typographic dashes and quotes outside the set), or `?`. Control
/// characters other than newline become spaces.
pub fn win_ansi(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => '\n',
            c if c.is_control() => ' ',
            ' '..='~' | '\u{a0}'..='\u{ff}' => c,
            '€' | '‚' | 'ƒ' | '„' | '…' | '†' | '‡' | 'ˆ' | '‰' | 'Š' | '‹' | 'Œ' | 'Ž' | '‘'
            | '’' | '“' | '”' | '•' | '–' | '—' | '˜' | '™' | 'š' | '›' | 'œ' | 'ž' | 'Ÿ' => {
                c
            }
            '‐' | '‑' | '‒' | '−' => '-',
            '―' => '—',
            '′' | '‛' => '\'',
            '″' | '‟' => '"',
            _ => '?',
        })
        .collect()
}

/// Helvetica's width of `c` in ems, near enough to wrap by (the widths of
/// the standard font's metrics, grouped).
fn char_em(c: char) -> f32 {
    match c {
        'i' | 'j' | 'l' | '\'' | '|' | '.' | ',' | ':' | ';' | '!' => 0.24,
        ' ' | 'f' | 't' | 'I' | '[' | ']' | '(' | ')' | '/' | '"' | '‘' | '’' => 0.3,
        'r' => 0.34,
        'm' | 'M' => 0.84,
        'w' | 'W' | '—' | '%' | '@' => 0.95,
        'A'..='Z' => 0.7,
        '0'..='9' | 'a'..='z' => 0.56,
        _ => 0.6,
    }
}

/// The width of `s` in mm at `size` points.
fn text_mm(s: &str, size: f32) -> f32 {
    s.chars().map(char_em).sum::<f32>() * size * PT_TO_MM
}

/// `text` broken into lines no wider than `width` mm at `size` points
/// (a word longer than a line is cut). Newlines start new lines.
pub fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_mm(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line on its own: cut it.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if text_mm(&piece, size) > width {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

struct Fonts {
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    italic: IndirectFontRef,
}

struct Writer {
    doc: PdfDocumentReference,
    fonts: Fonts,
    pages: Vec<PdfLayerReference>,
    /// Where the next line's top is, mm from the bottom of the page.
    y: f32,
}

fn black() -> Color {
    Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None))
}

fn pt(x: f32, y: f32) -> (Point, bool) {
    (Point::new(Mm(x), Mm(y)), false)
}

impl Writer {
    fn layer(&self) -> &PdfLayerReference {
        // `pages` always holds the first page (see `render`).
        &self.pages[self.pages.len() - 1]
    }

    fn new_page(&mut self) {
        let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "Plan");
        self.pages.push(self.doc.get_page(page).get_layer(layer));
        self.y = TOP;
    }

    /// Room for `h` mm on this page, or a new page.
    fn room(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn lines(&mut self, text: &str, size: f32, font: Font, indent: f32) {
        let lead = size * PT_TO_MM * 1.4;
        for line in wrap(&win_ansi(text), size, TEXT_W - indent) {
            self.room(lead);
            self.y -= lead;
            let font = self.font(font).clone();
            self.layer()
                .use_text(line, size, Mm(MARGIN + indent), Mm(self.y), &font);
        }
    }

    fn font(&self, f: Font) -> &IndirectFontRef {
        match f {
            Font::Regular => &self.fonts.regular,
            Font::Bold => &self.fonts.bold,
            Font::Italic => &self.fonts.italic,
        }
    }

    fn gap(&mut self, mm: f32) {
        self.y -= mm;
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Title(t) => {
                self.lines(t, 20.0, Font::Bold, 0.0);
                self.gap(3.0);
            }
            Block::Heading(t) => {
                // Keep a heading with at least two lines of what follows.
                self.room(22.0);
                self.gap(4.0);
                self.lines(t, 14.0, Font::Bold, 0.0);
                self.gap(1.5);
            }
            Block::Subheading(t) => {
                self.room(14.0);
                self.gap(2.0);
                self.lines(t, 11.0, Font::Bold, 0.0);
            }
            Block::Para(t) => {
                self.lines(t, 10.0, Font::Regular, 0.0);
                self.gap(1.0);
            }
            Block::Bullet(t) => {
                self.lines(&format!("•  {t}"), 10.0, Font::Regular, 4.0);
                self.gap(0.5);
            }
            Block::Quote { words, by } => {
                self.lines(&format!("“{words}”"), 10.0, Font::Italic, 6.0);
                self.lines(&format!("— {by}"), 9.0, Font::Regular, 10.0);
                self.gap(1.5);
            }
            Block::Wheel(spokes) => self.wheel(spokes),
        }
    }

    /// The wheel: a circle cut in eight, each segment filled out to its
    /// indicator's latest rating (a tenth of the radius a point) and
    /// coloured by band, labelled round the outside; the ratings in words
    /// beside it.
    fn wheel(&mut self, spokes: &[(String, Option<u8>)]) {
        let size = 2.0 * WHEEL_RADIUS + 24.0;
        self.room(size);
        let (cx, cy) = (MARGIN + WHEEL_RADIUS + 18.0, self.y - size / 2.0);
        let n = spokes.len().max(1) as f32;
        let step = std::f32::consts::TAU / n;
        // Clockwise from the top.
        let at = |a: f32, r: f32| (cx + r * a.sin(), cy + r * a.cos());
        let layer = self.layer().clone();
        for (i, (_, score)) in spokes.iter().enumerate() {
            let Some(score) = score else { continue };
            let r = WHEEL_RADIUS * f32::from((*score).min(10)) / 10.0;
            let (a0, a1) = (i as f32 * step, (i as f32 + 1.0) * step);
            let mut ring = vec![pt(cx, cy)];
            for k in 0..=12 {
                let (x, y) = at(a0 + (a1 - a0) * k as f32 / 12.0, r);
                ring.push(pt(x, y));
            }
            let (red, green, blue) = match score {
                0..=3 => (0.85, 0.40, 0.38),
                4..=6 => (0.96, 0.76, 0.36),
                _ => (0.45, 0.75, 0.48),
            };
            layer.set_fill_color(Color::Rgb(Rgb::new(red, green, blue, None)));
            layer.add_polygon(Polygon {
                rings: vec![ring],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            });
        }
        layer.set_outline_color(black());
        layer.set_outline_thickness(0.6);
        for r in [WHEEL_RADIUS / 2.0, WHEEL_RADIUS] {
            layer.add_line(Line {
                points: (0..72)
                    .map(|k| {
                        let (x, y) = at(k as f32 * std::f32::consts::TAU / 72.0, r);
                        pt(x, y)
                    })
                    .collect(),
                is_closed: true,
            });
        }
        for i in 0..spokes.len() {
            let (x, y) = at(i as f32 * step, WHEEL_RADIUS);
            layer.add_line(Line {
                points: vec![pt(cx, cy), pt(x, y)],
                is_closed: false,
            });
        }
        layer.set_fill_color(black());
        for (i, (label, score)) in spokes.iter().enumerate() {
            let a = (i as f32 + 0.5) * step;
            let text = win_ansi(&match score {
                Some(s) => format!("{label} {s}"),
                None => label.clone(),
            });
            let (x, y) = at(a, WHEEL_RADIUS + 4.0);
            let x = if a.sin() < -0.01 {
                x - text_mm(&text, 8.0)
            } else if a.sin().abs() <= 0.01 {
                x - text_mm(&text, 8.0) / 2.0
            } else {
                x
            };
            layer.use_text(text, 8.0, Mm(x), Mm(y - 1.0), &self.fonts.regular);
        }
        // The ratings in words, beside the wheel.
        let mut y = self.y - 10.0;
        let x = cx + WHEEL_RADIUS + 30.0;
        for (label, score) in spokes {
            let line = match score {
                Some(s) => format!("{label}: {s} out of 10"),
                None => format!("{label}: no rating"),
            };
            layer.use_text(win_ansi(&line), 10.0, Mm(x), Mm(y), &self.fonts.regular);
            y -= 6.0;
        }
        self.y -= size;
    }
}

#[derive(Debug, Clone, Copy)]
enum Font {
    Regular,
    Bold,
    Italic,
}

/// Lay `blocks` out on A4 pages titled `title`, with `footer` and the page
/// number at the foot of every page: the PDF's bytes and how many pages.
pub fn render(title: &str, footer: &str, blocks: &[Block]) -> Result<(Vec<u8>, usize), PdfError> {
    let (doc, page, layer) = PdfDocument::new(win_ansi(title), Mm(PAGE_W), Mm(PAGE_H), "Plan");
    let fonts = Fonts {
        regular: doc.add_builtin_font(BuiltinFont::Helvetica)?,
        bold: doc.add_builtin_font(BuiltinFont::HelveticaBold)?,
        italic: doc.add_builtin_font(BuiltinFont::HelveticaOblique)?,
    };
    let first = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        fonts,
        pages: vec![first],
        y: TOP,
    };
    for b in blocks {
        w.block(b);
    }
    let total = w.pages.len();
    let footer_lines = wrap(&win_ansi(footer), 8.0, TEXT_W);
    for (i, layer) in w.pages.iter().enumerate() {
        layer.set_fill_color(black());
        let mut y = 18.0;
        for line in &footer_lines {
            layer.use_text(line.clone(), 8.0, Mm(MARGIN), Mm(y), &w.fonts.regular);
            y -= 3.8;
        }
        let number = format!("Page {} of {total}", i + 1);
        let x = PAGE_W - MARGIN - text_mm(&number, 8.0);
        layer.use_text(number, 8.0, Mm(x), Mm(y - 1.0), &w.fonts.regular);
    }
    let Writer { doc, pages, .. } = w;
    drop(pages);
    Ok((doc.save_to_bytes()?, total))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_outside_win_ansi_is_replaced_and_the_rest_kept() {
        assert_eq!(win_ansi("Kai’s “plan” — café"), "Kai’s “plan” — café");
        assert_eq!(win_ansi("smile 😀 ok\tthen"), "smile ? ok then");
        assert_eq!(win_ansi("a‐b ―"), "a-b —");
    }

    #[test]
    fn long_text_wraps_within_the_width_and_keeps_every_word() {
        let text = "Mornings are the worst and school is ok when Mr Reid is there. ".repeat(8);
        let lines = wrap(&text, 10.0, 60.0);
        assert!(lines.len() > 5, "{lines:?}");
        assert!(lines.iter().all(|l| text_mm(l, 10.0) <= 60.0));
        assert_eq!(
            lines.join(" ").split_whitespace().count(),
            text.split_whitespace().count()
        );
        let long = "x".repeat(400);
        assert!(
            wrap(&long, 10.0, 60.0)
                .iter()
                .all(|l| text_mm(l, 10.0) <= 60.0)
        );
    }

    #[test]
    fn many_blocks_make_numbered_pages() {
        let blocks: Vec<Block> = (0..200).map(|i| Block::Para(format!("Line {i}"))).collect();
        let (bytes, pages) = render("Test", "Made by test", &blocks).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(pages >= 3, "200 lines on {pages} page(s)");
        let (_, one) = render("Test", "Made by test", &blocks[..5]).unwrap();
        assert_eq!(one, 1);
    }
}
