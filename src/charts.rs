//! Charts as PNG images: data in, bytes out, nothing about platforms or SQL.
//!
//! Drawn with plotters into an RGB buffer and encoded with `png`. Text uses DejaVu
//! Sans, embedded in the binary (assets/fonts, with its licence), so a chart
//! renders the same on a machine with no fonts installed. Sized for chat: 800×400.

use std::sync::OnceLock;

use chrono::NaiveDate;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordi64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};

/// Width and height of every chart, in pixels: readable inline in Discord and Slack.
pub const SIZE: (u32, u32) = (800, 400);

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

const INK: RGBColor = RGBColor(40, 44, 52);
const ACCENT: RGBColor = RGBColor(46, 125, 50);
const SECOND: RGBColor = RGBColor(33, 101, 168);
const PALE: RGBColor = RGBColor(225, 228, 232);

fn font_ready() -> Result<()> {
    static READY: OnceLock<bool> = OnceLock::new();
    let ok = *READY.get_or_init(|| {
        register_font(FAMILY, FontStyle::Normal, FONT).is_ok()
            && register_font(FAMILY, FontStyle::Bold, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::internal(
            "chart font",
            "the embedded font did not load",
        ))
    }
}

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::internal("drawing a chart", e.to_string())
}

/// Draws with `draw` on a white 800×400 canvas and returns the PNG.
fn render(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    font_ready()?;
    let (w, h) = SIZE;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .map_err(|e| Error::internal("encoding a chart", e))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| Error::internal("encoding a chart", e))?;
        writer
            .finish()
            .map_err(|e| Error::internal("encoding a chart", e))?;
    }
    Ok(out)
}

fn title_font() -> TextStyle<'static> {
    (FAMILY, 20, FontStyle::Bold).into_font().color(&INK)
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// The most labels a count axis shows.
const MOST_COUNT_LABELS: i64 = 6;

/// Where a count axis (members, contributions, events) puts its labels: whole
/// numbers from 0, a round step apart (1, 2 or 5 times a power of ten), up to the
/// first at or above `max`, and at most [`MOST_COUNT_LABELS`] of them. Labels
/// plotters picks itself on a real-valued axis fall between whole numbers on a
/// small range, and rounded they repeat (0, 1, 1, 2, 2).
fn count_ticks(max: i64) -> Vec<i64> {
    let max = max.max(1);
    // Steps to reach `max`, rounding up.
    let steps_to_max = |step: i64| max / step + i64::from(max % step != 0);
    let round_steps = (0..=18u32)
        .flat_map(|power| [1, 2, 5].map(|m| 10i64.pow(power).checked_mul(m)))
        .flatten();
    match round_steps.into_iter().find(|step| {
        let steps = steps_to_max(*step);
        steps < MOST_COUNT_LABELS && steps.checked_mul(*step).is_some()
    }) {
        Some(step) => (0..=steps_to_max(step)).map(|i| i * step).collect(),
        None => vec![0, max],
    }
}

/// A count axis: up to its highest label, and a little past the highest bar so
/// that it never touches the top; labelled at [`count_ticks`] alone.
fn count_axis(max: i64) -> WithKeyPoints<RangedCoordi64> {
    let ticks = count_ticks(max);
    let last = ticks.last().copied().unwrap_or(1);
    let headroom = max.saturating_add(max.max(1).div_euclid(7).max(1));
    (0..last.max(headroom)).with_key_points(ticks)
}

/// A count axis's label, written like every figure Keel shows.
fn count_label(y: &i64) -> String {
    crate::domain::text::format_number(*y as f64)
}

/// One week of activity: its first day, members active in it, contributions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Week {
    pub start: NaiveDate,
    pub active: i64,
    pub contributions: i64,
}

/// Which figure of a week a panel draws.
type WeekFigure = fn(&Week) -> i64;

/// Weekly active members (top) and contributions (bottom), as bars.
pub fn activity(title: &str, weeks: &[Week]) -> Result<Vec<u8>> {
    render(|root| {
        let root = root.titled(title, title_font()).map_err(draw_error)?;
        let (top, bottom) = root.split_vertically(SIZE.1 / 2 - 20);
        let n = weeks.len().max(1);
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            weeks
                .get(i as usize)
                .map(|w| w.start.format("%-d %b").to_string())
                .unwrap_or_default()
        };
        let panels: [(&DrawingArea<_, _>, &str, RGBColor, WeekFigure); 2] = [
            (&top, "Active members per week", ACCENT, |w| w.active),
            (&bottom, "Contributions per week", SECOND, |w| {
                w.contributions
            }),
        ];
        for (area, caption, colour, value) in panels {
            let max = weeks.iter().map(value).max().unwrap_or(0);
            let mut chart = ChartBuilder::on(area)
                .caption(caption, font(15))
                .margin(8)
                .x_label_area_size(22)
                .y_label_area_size(56)
                .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), count_axis(max))
                .map_err(draw_error)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(PALE)
                .max_light_lines(1)
                .x_labels(n.min(13))
                .x_label_formatter(&label)
                .y_label_formatter(&count_label)
                .label_style(font(12))
                .draw()
                .map_err(draw_error)?;
            chart
                .draw_series(weeks.iter().enumerate().map(|(i, w)| {
                    let x = i as f64;
                    Rectangle::new([(x - 0.35, 0), (x + 0.35, value(w))], colour.filled())
                }))
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

/// Events per UTC hour, 0–23.
pub fn hours(title: &str, counts: &[i64; 24]) -> Result<Vec<u8>> {
    render(|root| {
        let max = counts.iter().copied().max().unwrap_or(0);
        let mut chart = ChartBuilder::on(root)
            .caption(title, title_font())
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..23.5, count_axis(max))
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(PALE)
            .max_light_lines(1)
            .x_labels(24)
            .x_label_formatter(&|x| {
                let h = x.round();
                if (x - h).abs() < 0.01 && h >= 0.0 && (h as i64) % 3 == 0 {
                    format!("{:02}:00", h as i64)
                } else {
                    String::new()
                }
            })
            .x_desc("hour of day (UTC)")
            .y_label_formatter(&count_label)
            .label_style(font(12))
            .axis_desc_style(font(13))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(h, n)| {
                let x = h as f64;
                Rectangle::new([(x - 0.4, 0), (x + 0.4, *n)], ACCENT.filled())
            }))
            .map_err(draw_error)?;
        Ok(())
    })
}

/// One bar of a progress chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub label: String,
    pub progress: f64,
    pub target: f64,
    /// Shown after the figures: "trees".
    pub unit: Option<String>,
}

/// Horizontal progress bars, one per goal (at most eight shown).
pub fn progress(title: &str, goals: &[Progress]) -> Result<Vec<u8>> {
    render(|root| {
        let root = root.titled(title, title_font()).map_err(draw_error)?;
        let shown = &goals[..goals.len().min(8)];
        if shown.is_empty() {
            root.draw(&Text::new("No open goals", (40, 40), font(16)))
                .map_err(draw_error)?;
            return Ok(());
        }
        let (w, h) = root.dim_in_pixel();
        let row = (h as i32 - 10) / shown.len() as i32;
        let (left, right) = (24, w as i32 - 24);
        for (i, g) in shown.iter().enumerate() {
            let y = 6 + i as i32 * row;
            let share = if g.target > 0.0 {
                (g.progress / g.target).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let unit = g
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            let text = format!(
                "{} · {}% ({} of {}{unit})",
                g.label,
                crate::domain::text::format_number((share * 100.0).floor()),
                crate::domain::text::format_number(g.progress),
                crate::domain::text::format_number(g.target),
            );
            root.draw(&Text::new(text, (left, y), font(15)))
                .map_err(draw_error)?;
            let bar_top = y + 22;
            let bar_height = (row - 34).clamp(10, 40);
            root.draw(&Rectangle::new(
                [(left, bar_top), (right, bar_top + bar_height)],
                PALE.filled(),
            ))
            .map_err(draw_error)?;
            let filled = left + ((right - left) as f64 * share).round() as i32;
            if filled > left {
                root.draw(&Rectangle::new(
                    [(left, bar_top), (filled, bar_top + bar_height)],
                    ACCENT.filled(),
                ))
                .map_err(draw_error)?;
            }
        }
        Ok(())
    })
}

/// One row of a retention heat map: the cohort's label, its size, and R(w,k)
/// for k = 0, 1, …; `None` rates are withheld (a cohort under the minimum size).
#[derive(Debug, Clone, PartialEq)]
pub struct CohortRow {
    pub label: String,
    pub size: i64,
    pub rates: Option<Vec<f64>>,
}

/// Retention cohorts as a heat map: a row per cohort, a column per period after.
pub fn retention(title: &str, period: &str, rows: &[CohortRow]) -> Result<Vec<u8>> {
    render(|root| {
        let root = root.titled(title, title_font()).map_err(draw_error)?;
        if rows.is_empty() {
            root.draw(&Text::new("No cohorts in this window", (40, 40), font(16)))
                .map_err(draw_error)?;
            return Ok(());
        }
        let (w, h) = root.dim_in_pixel();
        let columns = rows.len();
        let label_width = 190;
        let header = 24;
        let cell_w = (w as i32 - label_width - 12) / columns as i32;
        let cell_h = ((h as i32 - header - 8) / rows.len() as i32).min(40);
        for k in 0..columns {
            let x = label_width + k as i32 * cell_w;
            root.draw(&Text::new(format!("{period} {k}"), (x + 4, 2), font(12)))
                .map_err(draw_error)?;
        }
        for (i, row) in rows.iter().enumerate() {
            let y = header + i as i32 * cell_h;
            root.draw(&Text::new(
                format!("{} ({})", row.label, row.size),
                (6, y + cell_h / 2 - 7),
                font(13),
            ))
            .map_err(draw_error)?;
            match &row.rates {
                None => {
                    root.draw(&Text::new(
                        "too few members to show",
                        (label_width + 6, y + cell_h / 2 - 7),
                        font(12),
                    ))
                    .map_err(draw_error)?;
                }
                Some(rates) => {
                    for (k, r) in rates.iter().enumerate() {
                        let x = label_width + k as i32 * cell_w;
                        let r = r.clamp(0.0, 1.0);
                        // From pale to the accent colour as R goes from 0 to 1.
                        let mix =
                            |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * r) as u8;
                        let fill = RGBColor(
                            mix(PALE.0, ACCENT.0),
                            mix(PALE.1, ACCENT.1),
                            mix(PALE.2, ACCENT.2),
                        );
                        root.draw(&Rectangle::new(
                            [(x + 1, y + 1), (x + cell_w - 1, y + cell_h - 1)],
                            fill.filled(),
                        ))
                        .map_err(draw_error)?;
                        let ink = if r > 0.5 { WHITE } else { INK };
                        if cell_w >= 30 {
                            root.draw(&Text::new(
                                format!("{}%", (r * 100.0).round()),
                                (x + 4, y + cell_h / 2 - 6),
                                (FAMILY, 11).into_font().color(&ink),
                            ))
                            .map_err(draw_error)?;
                        }
                    }
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the PNG fully and returns its width and height.
    fn decoded_size(bytes: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).expect("PNG image data");
        (info.width, info.height)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_chart_is_a_png_of_the_chat_size() {
        let weeks: Vec<Week> = (0..12)
            .map(|i| Week {
                start: d("2026-09-07") + chrono::Days::new(7 * i),
                active: 10 + i as i64,
                contributions: 30 + 2 * i as i64,
            })
            .collect();
        let mut by_hour = [0i64; 24];
        by_hour[18] = 12;
        by_hour[9] = 4;
        let goals = vec![Progress {
            label: "Plant trees".into(),
            progress: 400.0,
            target: 1000.0,
            unit: Some("trees".into()),
        }];
        let cohorts = vec![
            CohortRow {
                label: "week of 2 Nov".into(),
                size: 8,
                rates: Some(vec![1.0, 0.5, 0.25]),
            },
            CohortRow {
                label: "week of 9 Nov".into(),
                size: 3,
                rates: None,
            },
        ];
        for png in [
            activity("Activity", &weeks).unwrap(),
            activity("Nothing yet", &[]).unwrap(),
            hours("By hour", &by_hour).unwrap(),
            progress("Goals", &goals).unwrap(),
            progress("Goals", &[]).unwrap(),
            retention("Retention", "week", &cohorts).unwrap(),
            retention("Retention", "week", &[]).unwrap(),
        ] {
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            assert_eq!(decoded_size(&png), SIZE);
        }
    }

    #[test]
    fn count_axes_are_labelled_with_whole_numbers_once_each() {
        assert_eq!(count_ticks(0), [0, 1]);
        assert_eq!(count_ticks(2), [0, 1, 2]);
        assert_eq!(count_ticks(5), [0, 1, 2, 3, 4, 5]);
        assert_eq!(count_ticks(7), [0, 2, 4, 6, 8]);
        assert_eq!(count_ticks(100), [0, 20, 40, 60, 80, 100]);
        assert_eq!(count_ticks(1234), [0, 500, 1000, 1500]);
        for max in (0..=2000).chain([i64::MAX / 3, i64::MAX]) {
            let ticks = count_ticks(max);
            let labels: Vec<String> = ticks.iter().map(count_label).collect();
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(labels, distinct, "labels repeat for a maximum of {max}");
            assert!(
                labels.len() <= MOST_COUNT_LABELS as usize,
                "{max}: {labels:?}"
            );
            assert!(*ticks.last().unwrap() >= max, "{max}: {ticks:?}");
            assert_eq!(ticks[0], 0);
        }
    }

    #[test]
    fn the_embedded_font_draws_text() {
        // Text must leave ink: a chart with a title differs from a blank one.
        let blank = render(|_| Ok(())).unwrap();
        let titled = progress("Goals", &[]).unwrap();
        assert_ne!(blank, titled);
    }
}
