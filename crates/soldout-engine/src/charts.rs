//! SVG charts of the shipment reports, drawn with plotters into strings: units per
//! quarter with their growth, share by vendor, and a live sale's units over time.
//!
//! Every function is pure and total: figures in, a whole 800×400 `<svg>` document out,
//! the same bytes for the same input, never a panic. Bars are `<rect>`s, lines
//! `<polyline>`s, and text is `<text>` left to the viewer's fonts (no font is read
//! here). Empty input draws "No data"; non-finite figures are left out.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::ops::Range;

/// One quarter's bar and growth point.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarterPoint {
    pub period: String,
    pub units: i64,
    pub growth: Option<f64>,
}

/// One vendor's share of a market.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorBar {
    pub vendor: String,
    pub units: i64,
    pub share: f64,
    pub ours: bool,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn Error>>;

const SIZE: (u32, u32) = (800, 400);
const FONT: &str = "sans-serif";
const LABEL: u32 = 15;
const BAR: RGBColor = RGBColor(70, 130, 180);
const OURS: RGBColor = RGBColor(230, 85, 13);
const LINE: RGBColor = RGBColor(214, 39, 40);
const MUTED: RGBColor = RGBColor(110, 110, 110);
/// Growth beyond ±100,000,000 % is drawn at that bound.
const MAX_GROWTH: f64 = 1e6;
/// Times beyond ±31,000 years are drawn at that bound.
const MAX_SECONDS: f64 = 1e12;

/// Units per quarter as bars, with a growth line (ratio minus one, e.g. 0.70 = +70%) on a
/// secondary axis in percent; `growth_label` names the line (e.g. "YoY growth" or "QoQ
/// growth"); `title` on top.
pub fn units_and_growth(title: &str, growth_label: &str, points: &[QuarterPoint]) -> String {
    if points.is_empty() {
        return message(title, "No data");
    }
    canvas(title, |root| {
        let n = points.len() as f64;
        let pad = (4.0 - n).max(0.0) / 2.0; // a lone bar is not a wall
        let x = -pad..n + pad;
        let growth: Vec<Option<(f64, f64)>> = (points.iter().enumerate())
            .map(|(i, p)| Some((i as f64 + 0.5, p.growth?)).filter(|(_, g)| g.is_finite()))
            .map(|p| p.map(|(x, g)| (x, g.clamp(-MAX_GROWTH, MAX_GROWTH))))
            .collect();
        let has_growth = growth.iter().any(Option::is_some);
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(12)
            .x_label_area_size(24)
            .y_label_area_size(72)
            .right_y_label_area_size(if has_growth { 72 } else { 0 })
            .build_cartesian_2d(x.clone(), padded(points.iter().map(|p| p.units as f64)))?
            .set_secondary_coord(x, padded(growth.iter().flatten().map(|p| p.1)));
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(8)
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .max_light_lines(2)
            .y_label_formatter(&|v| human_units(*v))
            .y_desc("Units")
            .draw()?;
        let bars = points.iter().enumerate().map(|(i, p)| {
            let x = i as f64;
            Rectangle::new([(x + 0.15, 0.0), (x + 0.85, p.units as f64)], BAR.filled())
        });
        (chart.draw_series(bars)?.label("Units"))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], BAR.filled()));
        if points.len() <= 16 {
            let above = text(13, &MUTED).pos(Pos::new(HPos::Center, VPos::Bottom));
            chart.draw_series(points.iter().enumerate().map(|(i, p)| {
                EmptyElement::at((i as f64 + 0.5, p.units.max(0) as f64))
                    + Text::new(human_units(p.units as f64), (0, -4), above.clone())
            }))?;
        }
        if has_growth {
            chart
                .configure_secondary_axes()
                .y_labels(8)
                .label_style((FONT, LABEL))
                .axis_desc_style((FONT, LABEL))
                .y_label_formatter(&|g| percent(*g))
                .y_desc(growth_label)
                .draw()?;
            let runs = growth.split(Option::is_none).filter(|run| !run.is_empty());
            for (k, run) in runs.enumerate() {
                let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
                let line = LineSeries::new(run.iter().copied(), LINE.stroke_width(2));
                let drawn = chart.draw_secondary_series(line)?;
                if k == 0 {
                    drawn.label(growth_label).legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 14, y)], LINE.stroke_width(2))
                    });
                }
                chart
                    .draw_secondary_series(run.iter().map(|&p| Circle::new(p, 3, LINE.filled())))?;
            }
        }
        let (plot_x, _) = chart.plotting_area().get_pixel_range();
        let width = (plot_x.end - plot_x.start).max(1) as usize;
        let longest = points.iter().map(|p| p.period.chars().count()).max();
        let step = (points.len() * (longest.unwrap_or(0) * 8 + 10))
            .div_ceil(width)
            .max(1);
        let below = text(LABEL, &BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, p) in points.iter().enumerate().step_by(step) {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, chart.y_range().start));
            root.draw(&Text::new(p.period.as_str(), (x, y + 6), below.clone()))?;
        }
        (chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft))
        .label_font((FONT, LABEL))
        .background_style(WHITE.mix(0.85))
        .border_style(MUTED)
        .draw()?;
        Ok(())
    })
}

/// Share by vendor as horizontal bars, top to bottom in the order given (largest first),
/// our brand highlighted, each labelled with its percent and units.
pub fn vendor_share(title: &str, vendors: &[VendorBar]) -> String {
    if vendors.is_empty() {
        return message(title, "No data");
    }
    // in percent, held within 0..=100 %, a NaN share as 0
    let share = |v: &VendorBar| {
        if v.share.is_nan() {
            0.0
        } else {
            v.share.clamp(0.0, 1.0) * 100.0
        }
    };
    let name = |v: &VendorBar| match v.vendor.char_indices().nth(22) {
        Some((cut, _)) => format!("{}…", &v.vendor[..cut]),
        None => v.vendor.clone(),
    };
    let longest = vendors.iter().map(|v| name(v).chars().count()).max();
    canvas(title, |root| {
        let n = vendors.len() as f64;
        let x = padded(vendors.iter().map(share));
        let x = x.start..x.end + (x.end - x.start) * 0.25; // room for the labels
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size((longest.unwrap_or(0) as u32 * 8 + 16).clamp(40, 200))
            .build_cartesian_2d(x, n - n.max(4.0)..n)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .max_light_lines(2)
            .x_label_formatter(&|v| format!("{}%", trim(*v, 1)))
            .x_desc("Share of units")
            .draw()?;
        let top = |i: usize| n - 1.0 - i as f64;
        chart.draw_series(vendors.iter().enumerate().map(|(i, v)| {
            let color = if v.ours { OURS } else { BAR };
            Rectangle::new(
                [(0.0, top(i) + 0.15), (share(v), top(i) + 0.85)],
                color.filled(),
            )
        }))?;
        let font = |v: &VendorBar| {
            let weight = FontStyle::from(if v.ours { "bold" } else { "normal" });
            TextStyle::from((FONT, LABEL, weight).into_font()).color(&BLACK)
        };
        chart.draw_series(vendors.iter().enumerate().map(|(i, v)| {
            let label = format!("{}% ({})", trim(share(v), 1), human_units(v.units as f64));
            EmptyElement::at((share(v), top(i) + 0.5))
                + Text::new(
                    label,
                    (6, 0),
                    font(v).pos(Pos::new(HPos::Left, VPos::Center)),
                )
        }))?;
        for (i, v) in vendors.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(chart.x_range().start, top(i) + 0.5));
            let style = font(v).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(name(v), (x - 6, y), style))?;
        }
        Ok(())
    })
}

/// Units over time for a live sale: (seconds since start, cumulative units) as a step
/// chart, in time order, the time axis in seconds, minutes or hours as the span needs.
pub fn units_over_time(title: &str, points: &[(f64, i64)]) -> String {
    steps_over_time(title, "Units sold", &[("units sold", BAR, points)])
}

/// A rollout's devices over time: (seconds since its start, devices installed) and
/// (seconds since its start, devices failed), as two step lines with a legend.
pub fn devices_over_time(title: &str, installed: &[(f64, i64)], failed: &[(f64, i64)]) -> String {
    steps_over_time(
        title,
        "Devices",
        &[("installed", BAR, installed), ("failed", LINE, failed)],
    )
}

/// One line of a step chart: its label, its colour, and (seconds, count) points.
type Series<'a> = (&'a str, RGBColor, &'a [(f64, i64)]);
/// A series' points as drawn: finite, clamped, in time order.
type Cleaned<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// Step lines of (seconds, count) series, each with its label and colour; a legend
/// when there is more than one.
fn steps_over_time(title: &str, y_desc: &str, series: &[Series]) -> String {
    let cleaned: Vec<Cleaned> = series
        .iter()
        .map(|(label, color, points)| {
            let mut points: Vec<(f64, f64)> = (points.iter().filter(|(t, _)| t.is_finite()))
                .map(|&(t, n)| (t.clamp(-MAX_SECONDS, MAX_SECONDS), n as f64))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (*label, *color, points)
        })
        .collect();
    let all = || cleaned.iter().flat_map(|(_, _, p)| p.iter().copied());
    if all().next().is_none() {
        return message(title, "No data");
    }
    let span = padded(all().map(|p| p.0));
    let (scale, unit) = match span.end - span.start {
        s if s < 120.0 => (1.0, "s"),
        s if s < 7200.0 => (60.0, "min"),
        _ => (3600.0, "h"),
    };
    canvas(title, |root| {
        let x = span.start / scale..span.end / scale;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(x, padded(all().map(|p| p.1)))?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(8)
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .max_light_lines(2)
            .x_label_formatter(&|t| format!("{} {unit}", trim(*t, 1)))
            .y_label_formatter(&|v| human_units(*v))
            .x_desc("Time since start")
            .y_desc(y_desc)
            .draw()?;
        for (label, color, points) in cleaned.iter().filter(|(_, _, p)| !p.is_empty()) {
            let steps: Vec<(f64, f64)> = std::iter::once(points[0])
                .chain(points.windows(2).flat_map(|w| [(w[1].0, w[0].1), w[1]]))
                .map(|(t, n)| (t / scale, n))
                .collect();
            let color = *color;
            chart
                .draw_series(LineSeries::new(steps, color.stroke_width(2)))?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            let (t, n) = points[points.len() - 1]; // the latest count, visible even alone
            chart.draw_series([Circle::new((t / scale, n), 4, color.filled())])?;
        }
        if cleaned.len() > 1 {
            chart
                .configure_series_labels()
                .label_font((FONT, LABEL))
                .background_style(WHITE.mix(0.8))
                .border_style(MUTED)
                .draw()?;
        }
        Ok(())
    })
}

/// Draws on a white 800×400 canvas and heads the document with a `<title>`; a chart
/// that cannot be drawn says so instead.
fn canvas(title: &str, draw: impl FnOnce(&Area) -> Drawn) -> String {
    render(title, draw).unwrap_or_else(|_| message(title, "Chart unavailable"))
}

fn render(title: &str, draw: impl FnOnce(&Area) -> Drawn) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    let head = svg.find('>').map_or(0, |i| i + 1);
    svg.insert_str(head, &format!("\n<title>{}</title>", escape(title)));
    Ok(svg)
}

/// A chart with nothing but its title and `message`.
fn message(title: &str, message: &str) -> String {
    let drawn = render(title, |root| {
        let area = root.titled(title, (FONT, 24))?;
        let (w, h) = area.dim_in_pixel();
        let style = text(18, &MUTED).pos(Pos::new(HPos::Center, VPos::Center));
        area.draw(&Text::new(message, (w as i32 / 2, h as i32 / 2), style))?;
        Ok(())
    });
    drawn.unwrap_or_default() // drawing into a String does not fail
}

fn text(size: u32, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(color)
}

/// The smallest range holding zero and every value, with a margin past the data.
fn padded(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = (values.filter(|v| v.is_finite()))
        .fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi - lo < 1e-9 {
        return lo..lo + 1.0;
    }
    let pad = (hi - lo) * 0.1;
    (if lo < 0.0 { lo - pad } else { lo })..(if hi > 0.0 { hi + pad } else { hi })
}

/// `23.16 M`, `450 k`, `950`.
fn human_units(v: f64) -> String {
    let (scaled, unit) = match v.abs() {
        a if a >= 1e15 => return format!("{v:.2e}"),
        a if a >= 1e12 => (v / 1e12, " T"),
        a if a >= 1e9 => (v / 1e9, " B"),
        a if a >= 1e6 => (v / 1e6, " M"),
        a if a >= 1e3 => (v / 1e3, " k"),
        _ => (v, ""),
    };
    format!("{}{unit}", trim(scaled, 2))
}

/// `+70%`, `-5.5%`, `0%`.
fn percent(ratio: f64) -> String {
    if ratio.abs() >= 1e3 {
        return format!("{:+.1e}%", ratio * 100.0);
    }
    match trim(ratio * 100.0, 1) {
        p if p == "0" || p.starts_with('-') => format!("{p}%"),
        p => format!("+{p}%"),
    }
}

/// `v` with at most `decimals` (≥ 1) decimals and no trailing zeros.
fn trim(v: f64, decimals: usize) -> String {
    match format!("{v:.decimals$}")
        .trim_end_matches('0')
        .trim_end_matches('.')
    {
        "-0" => "0".to_owned(),
        s => s.to_owned(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROWTH_LINE: &str = r##"stroke="#D62728" stroke-width="2" points="##;

    fn quarters(growth: &[Option<f64>]) -> Vec<QuarterPoint> {
        let quarter = |(i, &growth)| {
            let (period, units) = (format!("2018Q{}", i % 4 + 1), 1_000_000 * (i as i64 + 1));
            QuarterPoint {
                period,
                units,
                growth,
            }
        };
        growth.iter().enumerate().map(quarter).collect()
    }

    fn vendor(vendor: &str, units: i64, share: f64, ours: bool) -> VendorBar {
        VendorBar {
            vendor: vendor.into(),
            units,
            share,
            ours,
        }
    }

    fn valid(svg: &str) -> bool {
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && svg.contains("<title>")
    }

    #[test]
    fn bars_are_rects_and_growth_is_a_line() {
        let points = quarters(&[None, Some(0.7), Some(-0.05), Some(0.12)]);
        let svg = units_and_growth("Units & growth", "YoY growth", &points);
        assert!(valid(&svg) && svg.matches("<rect").count() >= points.len());
        assert!(svg.contains(GROWTH_LINE));
        for label in ["2018Q1", "+20%", "YoY growth", "4 M", "Units &amp; growth"] {
            assert!(svg.contains(label), "{label} missing");
        }
        assert_eq!(
            svg,
            units_and_growth("Units & growth", "YoY growth", &points)
        );
        let svg = units_and_growth("t", "QoQ growth", &quarters(&[None, Some(f64::NAN)]));
        assert!(valid(&svg) && !svg.contains(GROWTH_LINE) && !svg.contains("QoQ"));
    }

    #[test]
    fn vendor_share_highlights_ours() {
        let vendors = [
            vendor("Apple", 23_160_000, 0.234, false),
            vendor("Us", 450_000, 0.046, true),
        ];
        let svg = vendor_share("Share", &vendors);
        assert!(valid(&svg) && svg.matches("<rect").count() >= vendors.len());
        assert!(svg.contains("23.4% (23.16 M)") && svg.contains("4.6% (450 k)"));
        assert!(svg.contains("#E6550D") && svg.contains("font-weight=\"bold\""));
    }

    #[test]
    fn units_over_time_is_a_step_line() {
        let svg = units_over_time("Live", &[(0.0, 0), (30.0, 1_200), (90.0, 5_000)]);
        assert!(valid(&svg) && svg.contains(r##"stroke="#4682B4" stroke-width="2""##));
        assert!(svg.contains("Units sold") && svg.contains("60 s"));
        assert!(units_over_time("", &[(0.0, 0), (3_000.0, 9)]).contains("10 min"));
        assert!(units_over_time("", &[(9e4, 1)]).contains("20 h"));
    }

    #[test]
    fn empty_input_says_no_data() {
        for svg in [
            units_and_growth("Empty", "YoY growth", &[]),
            vendor_share("Empty", &[]),
            units_over_time("Empty", &[]),
            units_over_time("Empty", &[(f64::NAN, 3)]),
        ] {
            assert!(valid(&svg) && svg.contains("No data"), "{svg}");
        }
    }

    #[test]
    fn odd_figures_do_not_panic() {
        let odd = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -1e300,
            0.0,
        ];
        for units in [i64::MIN, -5, 0, 1, i64::MAX] {
            for g in odd {
                let mut points = quarters(&[Some(g), Some(g), None]);
                points[0].units = units;
                assert!(valid(&units_and_growth("", "", &points)));
                assert!(valid(&units_and_growth("", "", &points[..1])));
                let (ours, theirs) = (
                    vendor(&"x".repeat(40), units, g, true),
                    vendor("", 0, g, false),
                );
                assert!(valid(&vendor_share("", &[ours, theirs])));
                assert!(valid(&units_over_time(
                    "",
                    &[(g, units), (1.0, 0), (g, units)]
                )));
            }
        }
        assert!(valid(&units_and_growth(
            "",
            "",
            &quarters(&[Some(0.1); 5000])
        )));
    }

    #[test]
    fn labels_read_like_a_press_release() {
        assert_eq!(human_units(23_160_000.0), "23.16 M");
        assert_eq!(human_units(450_000.0), "450 k");
        assert_eq!(human_units(-950.0), "-950");
        assert_eq!(human_units(i64::MAX as f64), "9.22e18");
        assert_eq!(percent(0.7), "+70%");
        assert_eq!(percent(-0.055), "-5.5%");
        assert_eq!(percent(-0.0001), "0%");
        assert_eq!(percent(1e6), "+1.0e8%");
    }
}
