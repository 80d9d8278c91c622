//! The PNG charts of `replenish backtest`: the policy trade-off (fill rate against average
//! on-hand inventory value, one labelled marker per policy) and the stock of one SKU over the
//! simulated days (one line per policy, with its orders and receipts). Rendering only.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary (`assets/fonts/`, license next to it)
//! and rasterised by `ab_glyph`, so a machine without any system font or font library renders
//! the same charts. The charts draw through `Typeset` (`output::plot_text`), which places every
//! glyph itself, side bearings and kerning included (plotters' own renderer drops the bearings
//! and spaces letters unevenly), in the boxes and at the anchors plotters lays text out with.
//!
//! NaN, infinite and absurdly large (beyond ±1e100) values are skipped; a single point or
//! all-equal values get an axis range around them. A chart left with nothing to draw (no input,
//! or no usable value) is still written, with the title and "no data", so a report linking to
//! the file never points at nothing.
//!
//! Files are written atomically: drawn into a temporary file in the target's folder, then renamed
//! over the target, so a failure leaves either the previous file or none, never half a PNG.

use std::iter;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context as _, Result, anyhow};
use chrono::{Days, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::output::plan::num;
use crate::output::plot_text::Typeset;

/// Chart width in pixels.
const WIDTH: u32 = 1000;
/// Chart height in pixels.
const HEIGHT: u32 = 640;

/// The family name the bundled font is registered under.
const FONT: &str = "replenish-sans";
/// The families [`FONT_BYTES`] is registered (and drawn by [`Typeset`]) under.
const FAMILIES: &[&str] = &[FONT, "sans-serif"];
/// DejaVu Sans 2.37 (Bitstream Vera license, see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

const TITLE_SIZE: u32 = 22;
const AXIS_SIZE: u32 = 16;
const LABEL_SIZE: u32 = 14;
const SMALL_SIZE: u32 = 11;

/// Values beyond this magnitude are left out (no stock or money comes near it).
const MAX_PLOTTABLE: f64 = 1e100;

/// Orders get their quantity written next to them up to this many orders in one chart.
const MAX_QUANTITY_LABELS: usize = 40;

/// Tableau 10: distinct on white, none too light to see.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const INK: RGBColor = RGBColor(40, 40, 40);
const MUTED: RGBColor = RGBColor(110, 110, 110);

type Area<'a> = DrawingArea<Typeset<BitMapBackend<'a>>, Shift>;

/// One policy's point on the trade-off chart.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeoffPoint {
    /// The policy's name, written next to its marker.
    pub name: String,
    /// Served on the day demanded over demanded, as a fraction (0–1, like
    /// `core::backtest::Outcome::fill_rate`); the chart shows it as a percentage.
    pub fill_rate: f64,
    /// Average on-hand inventory value over the simulated days.
    pub avg_on_hand_value: f64,
}

/// One policy's simulated stock for the one SKU of `--sku`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkuSeries {
    /// The policy's name, shown in the legend.
    pub policy: String,
    /// End-of-day on-hand units, one per simulated day (day 0 = `start`).
    pub on_hand: Vec<f64>,
    /// (day index the PO was placed, quantity)
    pub orders: Vec<(usize, f64)>,
    /// (day index the goods arrived, quantity)
    pub receipts: Vec<(usize, f64)>,
}

/// Fill rate (y, as %, from 0 or a zoomed range that contains all points with margin) vs average
/// on-hand inventory value (x), one labelled marker per policy, as a 1000×640 PNG at `path`.
/// `title` goes on top (e.g. "Backtest 2026-09-01 – 2026-11-26").
///
/// Points with a NaN, infinite or absurdly large value are left out; without any point left the
/// chart says "no data". Errors name `path` and the cause (e.g. a missing folder).
pub fn tradeoff_png(path: &Path, title: &str, points: &[TradeoffPoint]) -> Result<()> {
    write_png(path, |root| draw_tradeoff(root, title, points))
}

/// Stock over time (x = date from `start`, y = units), one coloured line per policy, with order
/// markers (triangles, with the quantity while there are few) and receipt markers (hollow circles)
/// on each policy's line, and a legend; a 1000×640 PNG at `path`.
///
/// NaN, infinite or absurdly large stock values break the line; markers on such days, or beyond
/// the series, are left out. Without any usable stock value the chart says "no data". Errors name
/// `path` and the cause (e.g. a missing folder).
pub fn sku_png(path: &Path, title: &str, start: NaiveDate, series: &[SkuSeries]) -> Result<()> {
    write_png(path, |root| draw_sku(root, title, start, series))
}

/// Registers the bundled font (once per process) under [`FONT`], and under "sans-serif" so any
/// text plotters styles by default finds a font too.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        FAMILIES
            .iter()
            .all(|name| register_font(name, FontStyle::Normal, FONT_BYTES).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the bundled chart font (DejaVu Sans) cannot be loaded"
        ))
    }
}

/// Draws with `draw` into memory, encodes the picture as a PNG into a temporary file next to
/// `path`, then renames it to `path`.
fn write_png(path: &Path, draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<()> {
    let write = || -> Result<()> {
        let rgb = render(draw)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".replenish-chart-").suffix(".png");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // As any file written (0666 less the umask), not tempfile's private 0600.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        // Deleted when dropped, so an error below leaves nothing behind.
        let mut tmp = builder
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        encode_png(&mut out, &rgb)?;
        std::io::Write::flush(&mut out).context("cannot write the chart")?;
        drop(out);
        tmp.as_file()
            .sync_all()
            .context("cannot write the chart to disk")?;
        tmp.persist(path)
            .map_err(|e| e.error)
            .context("cannot move the finished chart into place")?;
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// Draws with `draw` into an RGB buffer of the chart's size (row-major, 3 bytes a pixel).
fn render(draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<Vec<u8>> {
    ensure_font()?;
    let mut rgb = vec![0_u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root =
            typeset(BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)))?.into_drawing_area();
        draw(&root).context("cannot draw the chart")?;
        root.present().context("cannot finish the chart")?;
    }
    Ok(rgb)
}

/// Writes `rgb` (the chart's size, 8-bit RGB) as a PNG to `out`. The `png` crate alone: the
/// charts need no other image format, so plotters' image-crate encoder is not compiled in.
fn encode_png(out: impl std::io::Write, rgb: &[u8]) -> Result<()> {
    let mut encoder = png::Encoder::new(out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("cannot encode the PNG")?;
    writer
        .write_image_data(rgb)
        .context("cannot encode the PNG")?;
    writer.finish().context("cannot encode the PNG")?;
    Ok(())
}

/// `bitmap` with the chart text drawn by [`Typeset`] in the bundled font.
fn typeset(bitmap: BitMapBackend<'_>) -> Result<Typeset<BitMapBackend<'_>>> {
    Typeset::new(bitmap, FONT_BYTES, FAMILIES)
        .map_err(|_| anyhow!("the bundled chart font (DejaVu Sans) cannot be loaded"))
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The title on top and "no data" in the middle.
fn draw_no_data(root: &Area<'_>, title: &str) -> Result<()> {
    root.fill(&WHITE)?;
    // The same 20-pixel margin as the charts, so the title sits where theirs does.
    let body = root
        .margin(20, 20, 20, 20)
        .titled(title, font(TITLE_SIZE))?;
    let (w, h) = body.dim_in_pixel();
    let style = (FONT, 28)
        .into_font()
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    body.draw(&Text::new("no data", (w as i32 / 2, h as i32 / 2), style))?;
    Ok(())
}

/// Whether `v` can go on an axis: finite, and not so large that the axis span overflows
/// (plotters loops forever on an infinite span). Anything else is skipped like NaN.
fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_PLOTTABLE
}

/// `lo..hi` widened by a margin; never empty, never infinite.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.08
    } else {
        (lo.abs() * 0.1).max(1.0)
    };
    let (a, b) = (lo - pad, hi + pad);
    if a.is_finite() && b.is_finite() && a < b {
        (a, b)
    } else {
        (lo.min(0.0) - 1.0, hi.max(0.0) + 1.0)
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The y range of the trade-off chart, in percent: from 0 when the points reach down near it,
/// else zoomed around them; always a margin of at least 2 points so no marker sits on an edge.
/// (Ticks outside 0–100 get no label, see [`percent_label`].)
fn fill_rate_range(lo: f64, hi: f64) -> (f64, f64) {
    let pad = ((hi - lo) * 0.1).max(2.0);
    let mut bottom = lo - pad;
    if (0.0..10.0).contains(&bottom) {
        bottom = 0.0;
    }
    let top = hi + pad;
    if bottom.is_finite() && top.is_finite() && bottom < top {
        (bottom, top)
    } else {
        (-2.0, 102.0)
    }
}

/// A fill-rate tick; none outside 0–100, where the margin lets the axis run.
fn percent_label(v: f64, decimals: usize) -> String {
    if (-1e-9..=100.0 + 1e-9).contains(&v) {
        format!("{:.*}%", decimals, v.max(0.0))
    } else {
        String::new()
    }
}

/// Amounts for axis labels: thousands grouped, decimals only for small ranges.
fn amount_label(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let grouped = crate::output::backtest::group_thousands(int);
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// Decimals that tell axis ticks over `span` apart.
fn decimals_for(span: f64) -> usize {
    if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        2
    }
}

fn draw_tradeoff(root: &Area<'_>, title: &str, points: &[TradeoffPoint]) -> Result<()> {
    let pts: Vec<(&str, f64, f64)> = points
        .iter()
        .map(|p| (p.name.as_str(), p.avg_on_hand_value, p.fill_rate * 100.0))
        .filter(|&(_, x, y)| plottable(x) && plottable(y))
        .collect();
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (
        min_max(pts.iter().map(|p| p.1)),
        min_max(pts.iter().map(|p| p.2)),
    ) else {
        return draw_no_data(root, title);
    };
    let (x0, x1) = padded(x_lo, x_hi);
    let (y0, y1) = fill_rate_range(y_lo, y_hi);

    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(TITLE_SIZE))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)?;

    let x_decimals = decimals_for(x1 - x0);
    let y_decimals = decimals_for(y1 - y0).min(1);
    // The margin may reach below 0, where no inventory value is; such ticks stay unlabelled.
    let x_fmt = |v: &f64| {
        if *v < 0.0 && x_lo >= 0.0 {
            String::new()
        } else {
            amount_label(*v, x_decimals)
        }
    };
    let y_fmt = |v: &f64| percent_label(*v, y_decimals);
    chart
        .configure_mesh()
        .x_desc("Average on-hand inventory value")
        .y_desc("Fill rate")
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(AXIS_SIZE))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;

    // Each name goes where it overlaps no marker and no name placed before it, inside the plot.
    let pixel: Vec<(i32, i32)> = pts
        .iter()
        .map(|&(_, x, y)| chart.backend_coord(&(x, y)))
        .collect();
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let mut taken: Vec<Rect> = pixel
        .iter()
        .map(|&(px, py)| Rect::around(px, py, 8))
        .collect();
    for (i, &(name, x, y)) in pts.iter().enumerate() {
        let c = color(i);
        let (w, h) = font(LABEL_SIZE).font.box_size(name).unwrap_or((0, 0));
        let (px, py) = pixel[i];
        let place = label_place(px, py, w as i32, h as i32, &taken, (xr.clone(), yr.clone()));
        taken.push(place.rect);
        let label = font(LABEL_SIZE).color(&c).pos(place.pos());
        let marker = EmptyElement::at((x, y))
            + Circle::new((0, 0), 7, c.filled())
            + Circle::new((0, 0), 7, INK.stroke_width(1))
            + Text::new(name.to_string(), place.offset, label);
        chart.draw_series(iter::once(marker))?;
    }
    Ok(())
}

/// A box in pixels: [x0, x1) × [y0, y1).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl Rect {
    fn around(x: i32, y: i32, r: i32) -> Rect {
        Rect {
            x0: x - r,
            y0: y - r,
            x1: x + r,
            y1: y + r,
        }
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    fn inside(&self, xr: &std::ops::Range<i32>, yr: &std::ops::Range<i32>) -> bool {
        self.x0 >= xr.start && self.x1 <= xr.end && self.y0 >= yr.start && self.y1 <= yr.end
    }
}

/// Where a point's name goes: right of the marker or left, above or below, its offset from
/// the marker, and the box it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LabelPlace {
    right: bool,
    above: bool,
    offset: (i32, i32),
    rect: Rect,
}

impl LabelPlace {
    /// The text anchor: a name right of the marker starts at the offset, one left of it ends
    /// there; one above sits on it, one below hangs from it.
    fn pos(&self) -> Pos {
        Pos::new(
            if self.right { HPos::Left } else { HPos::Right },
            if self.above { VPos::Bottom } else { VPos::Top },
        )
    }
}

/// The first free place for a `w`×`h` name next to the marker at (px, py): right or left of it,
/// above or below, then stacked further above or below; the first candidate when none is free.
fn label_place(
    px: i32,
    py: i32,
    w: i32,
    h: i32,
    taken: &[Rect],
    (xr, yr): (std::ops::Range<i32>, std::ops::Range<i32>),
) -> LabelPlace {
    let mut candidates = Vec::new();
    for step in 0..4 {
        let lift = 6 + step * (h + 2);
        for (right, dx) in [(true, 10), (false, -10)] {
            for (above, dy) in [(true, -lift), (false, lift)] {
                let x0 = if right { px + dx } else { px + dx - w };
                let y0 = if above { py + dy - h } else { py + dy };
                candidates.push(LabelPlace {
                    right,
                    above,
                    offset: (dx, dy),
                    rect: Rect {
                        x0,
                        y0,
                        x1: x0 + w,
                        y1: y0 + h,
                    },
                });
            }
        }
    }
    let free =
        |c: &LabelPlace| c.rect.inside(&xr, &yr) && !taken.iter().any(|t| t.overlaps(&c.rect));
    candidates
        .iter()
        .find(|c| free(c))
        .or_else(|| candidates.iter().find(|c| c.rect.inside(&xr, &yr)))
        .or(candidates.first())
        .copied()
        .unwrap_or(LabelPlace {
            right: true,
            above: true,
            offset: (10, -6),
            rect: Rect::around(px, py, 0),
        })
}

/// The plottable runs of `values` as (day, value) points; anything else breaks the line.
fn segments(values: &[f64]) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (day, &v) in values.iter().enumerate() {
        if plottable(v) {
            current.push((day as i64, v));
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The date of day `day` after `start`, ISO; the day number if out of the calendar.
fn date_label(start: NaiveDate, day: i64) -> String {
    u64::try_from(day)
        .ok()
        .and_then(|d| start.checked_add_days(Days::new(d)))
        .map_or_else(
            || format!("day {day}"),
            |d| d.format("%Y-%m-%d").to_string(),
        )
}

/// Where a marker for `day` sits on `on_hand`'s line, if the line is drawn there.
fn on_line(on_hand: &[f64], day: usize) -> Option<(i64, f64)> {
    let v = *on_hand.get(day)?;
    plottable(v).then_some((day as i64, v))
}

fn draw_sku(root: &Area<'_>, title: &str, start: NaiveDate, series: &[SkuSeries]) -> Result<()> {
    let days = series.iter().map(|s| s.on_hand.len()).max().unwrap_or(0);
    let usable = series
        .iter()
        .flat_map(|s| s.on_hand.iter().copied())
        .filter(|&v| plottable(v));
    let Some((lo, hi)) = min_max(usable) else {
        return draw_no_data(root, title);
    };
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let (y0, y1) = if hi > lo {
        let pad = (hi - lo) * 0.08;
        (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad)
    } else {
        (0.0, 1.0)
    };
    let last_day = i64::try_from(days.saturating_sub(1)).unwrap_or(i64::MAX);
    let (x0, x1) = (0_i64, last_day.max(1));

    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(TITLE_SIZE))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)?;

    let y_decimals = decimals_for(y1 - y0);
    let x_fmt = |d: &i64| date_label(start, *d);
    let y_fmt = |v: &f64| amount_label(*v, y_decimals);
    chart
        .configure_mesh()
        .x_desc("Date")
        .y_desc("Units on hand (end of day)")
        .x_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(AXIS_SIZE))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;

    let total_orders: usize = series.iter().map(|s| s.orders.len()).sum();
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        let line = c.stroke_width(2);
        // One (possibly empty) series carries the legend entry, whatever the data.
        chart
            .draw_series(iter::empty::<Circle<(i64, f64), i32>>())?
            .label(s.policy.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
        for seg in segments(&s.on_hand) {
            if let [only] = seg.as_slice() {
                chart.draw_series(iter::once(Circle::new(*only, 3, c.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(seg, line))?;
            }
        }
        let receipts = s
            .receipts
            .iter()
            .filter_map(|&(day, _)| on_line(&s.on_hand, day))
            .map(|p| Circle::new(p, 6, c.stroke_width(2)));
        chart.draw_series(receipts)?;
        let orders = s
            .orders
            .iter()
            .filter_map(|&(day, _)| on_line(&s.on_hand, day))
            .map(|p| TriangleMarker::new(p, 7, c.filled()));
        chart.draw_series(orders)?;
        if total_orders <= MAX_QUANTITY_LABELS {
            let style = font(SMALL_SIZE)
                .color(&c)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            let quantities = s
                .orders
                .iter()
                .filter(|(_, q)| q.is_finite())
                .filter_map(|&(day, q)| Some((on_line(&s.on_hand, day)?, q)))
                .map(|(p, q)| {
                    EmptyElement::at(p) + Text::new(format!("+{}", num(q)), (0, -9), style.clone())
                });
            chart.draw_series(quantities)?;
        }
    }
    // What the markers mean, once for all policies, if any is drawn.
    let drawn = |events: fn(&SkuSeries) -> &[(usize, f64)]| {
        series.iter().any(|s| {
            events(s)
                .iter()
                .any(|&(day, _)| on_line(&s.on_hand, day).is_some())
        })
    };
    if drawn(|s| &s.orders) {
        chart
            .draw_series(iter::empty::<Circle<(i64, f64), i32>>())?
            .label("order placed")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, MUTED.filled()));
    }
    if drawn(|s| &s.receipts) {
        chart
            .draw_series(iter::empty::<Circle<(i64, f64), i32>>())?
            .label("goods received")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, MUTED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(font(LABEL_SIZE))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn names_of_close_points_are_placed_apart_and_inside_the_plot() {
        let bounds = (0..400, 0..300);
        // Three markers a few pixels apart, each name 80×12.
        let markers = [(200, 150), (204, 146), (196, 154)];
        let mut taken: Vec<Rect> = markers
            .iter()
            .map(|&(x, y)| Rect::around(x, y, 8))
            .collect();
        let mut names = Vec::new();
        for &(x, y) in &markers {
            let place = label_place(x, y, 80, 12, &taken, bounds.clone());
            assert!(place.rect.inside(&bounds.0, &bounds.1), "{place:?}");
            assert!(
                !taken.iter().any(|t| t.overlaps(&place.rect)),
                "{place:?} vs {taken:?}"
            );
            taken.push(place.rect);
            names.push(place);
        }
        // Three different places.
        assert!(names[0].rect != names[1].rect && names[1].rect != names[2].rect);
        // A lone marker's name takes the default place: right of and above it.
        let lone = label_place(
            100,
            150,
            80,
            12,
            &[Rect::around(100, 150, 8)],
            bounds.clone(),
        );
        assert!(lone.right && lone.above);
        assert_eq!(lone.offset, (10, -6));
        // Near the right edge a name goes left of its marker.
        let edge = label_place(390, 150, 80, 12, &[], bounds.clone());
        assert!(!edge.right, "{edge:?}");
        assert!(edge.rect.inside(&bounds.0, &bounds.1));
    }

    use super::*;

    const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

    /// Width and height from the IHDR chunk, which a PNG must start with.
    fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
        assert!(
            bytes.len() > 33,
            "too short for a PNG: {} bytes",
            bytes.len()
        );
        assert_eq!(bytes[..8], PNG_SIGNATURE, "not a PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR", "first chunk is not IHDR");
        let be = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        (be(16), be(20))
    }

    /// Draws into memory (RGB, row-major), as the file functions do.
    fn render(draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Vec<u8> {
        super::render(draw).expect("chart draws")
    }

    fn pixels_of(buf: &[u8], c: RGBColor) -> usize {
        buf.chunks_exact(3)
            .filter(|p| *p == [c.0, c.1, c.2])
            .count()
    }

    /// Pixels darker than mid-grey in rows `rows` (text and axes; the background is white).
    fn dark_pixels(buf: &[u8], rows: std::ops::Range<u32>) -> usize {
        let row = (WIDTH * 3) as usize;
        buf[rows.start as usize * row..rows.end as usize * row]
            .chunks_exact(3)
            .filter(|p| p.iter().all(|&v| v < 128))
            .count()
    }

    fn points() -> Vec<TradeoffPoint> {
        [
            ("naive", 0.82, 1200.0),
            ("cin7-levels", 0.91, 2500.0),
            ("replenish", 0.97, 1900.0),
        ]
        .into_iter()
        .map(|(name, fill_rate, avg_on_hand_value)| TradeoffPoint {
            name: name.to_string(),
            fill_rate,
            avg_on_hand_value,
        })
        .collect()
    }

    fn series() -> Vec<SkuSeries> {
        let saw = |offset: f64| {
            (0..60)
                .map(|d| offset + 40.0 - f64::from(d % 20) * 2.0)
                .collect()
        };
        vec![
            SkuSeries {
                policy: "naive".into(),
                on_hand: saw(0.0),
                orders: vec![(15, 40.0), (35, 40.0)],
                receipts: vec![(20, 40.0), (40, 40.0)],
            },
            SkuSeries {
                policy: "replenish".into(),
                on_hand: saw(10.0),
                orders: vec![(12, 30.0)],
                receipts: vec![(19, 30.0)],
            },
        ]
    }

    fn start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, 1).expect("valid date")
    }

    const TITLE: &str = "Backtest 2026-09-01 – 2026-11-26";

    #[test]
    fn tradeoff_png_is_a_png_of_the_chart_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tradeoff.png");
        tradeoff_png(&path, TITLE, &points()).expect("writes");
        let bytes = std::fs::read(&path).expect("reads back");
        assert_eq!(png_dimensions(&bytes), (WIDTH, HEIGHT));
    }

    #[test]
    fn sku_png_is_a_png_of_the_chart_size_and_more_than_an_empty_chart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let full = dir.path().join("sku.png");
        let empty = dir.path().join("empty.png");
        sku_png(&full, "SKU-1", start(), &series()).expect("writes");
        sku_png(&empty, "SKU-1", start(), &[]).expect("writes the no-data chart");
        let full = std::fs::read(&full).expect("reads back");
        let empty = std::fs::read(&empty).expect("reads back");
        assert_eq!(png_dimensions(&full), (WIDTH, HEIGHT));
        assert_eq!(png_dimensions(&empty), (WIDTH, HEIGHT));
        assert!(
            full.len() > empty.len() * 2,
            "chart {} bytes, no-data chart {} bytes",
            full.len(),
            empty.len()
        );
        // Nothing but the two charts: no temporary files left over.
        assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 2);
    }

    #[test]
    fn tradeoff_draws_one_marker_per_policy_in_its_colour() {
        let buf = render(|root| draw_tradeoff(root, TITLE, &points()));
        for i in 0..3 {
            // A filled marker of radius 7 is ~150 pixels.
            assert!(pixels_of(&buf, color(i)) > 100, "no marker for policy {i}");
        }
        assert_eq!(
            pixels_of(&buf, color(3)),
            0,
            "a fourth colour for three policies"
        );
    }

    #[test]
    fn sku_chart_draws_lines_and_order_and_receipt_markers() {
        let plain: Vec<SkuSeries> = series()
            .into_iter()
            .map(|s| SkuSeries {
                orders: vec![],
                receipts: vec![],
                ..s
            })
            .collect();
        let with_markers = render(|root| draw_sku(root, "SKU-1", start(), &series()));
        let lines_only = render(|root| draw_sku(root, "SKU-1", start(), &plain));
        for i in 0..2 {
            let lines = pixels_of(&lines_only, color(i));
            assert!(lines > 500, "policy {i}: {lines} pixels of line");
            assert!(
                pixels_of(&with_markers, color(i)) > lines + 60,
                "policy {i}: markers add no pixels"
            );
        }
        // Legend markers for "order placed" / "goods received", only where there are such markers.
        // (Antialiased text has a few pixels of that grey too.)
        let legend = pixels_of(&with_markers, MUTED);
        let text = pixels_of(&lines_only, MUTED);
        assert!(
            legend > text + 40,
            "legend markers {legend}, text alone {text}"
        );
    }

    #[test]
    fn title_text_is_drawn_with_the_bundled_font() {
        ensure_font().expect("bundled font registers");
        let (w, h) = font(TITLE_SIZE)
            .font
            .box_size(TITLE)
            .expect("font measures text");
        assert!(w > 200 && h > 10, "title box {w}×{h}");
        // Only registered fonts exist: nothing is taken from the system.
        assert!(("no-such-family", 20).into_font().box_size("x").is_err());

        let titled = render(|root| draw_no_data(root, TITLE));
        let untitled = render(|root| draw_no_data(root, ""));
        assert!(dark_pixels(&titled, 0..40) > 200, "no title drawn");
        assert_eq!(dark_pixels(&untitled, 0..40), 0);
        // "no data" in the middle, in grey.
        assert!(dark_pixels(&titled, 300..380) > 200, "no \"no data\" drawn");
    }

    #[test]
    fn empty_and_degenerate_inputs_draw_without_panicking() {
        let point = |fill_rate, avg_on_hand_value| TradeoffPoint {
            name: "p".into(),
            fill_rate,
            avg_on_hand_value,
        };
        let tradeoffs = [
            vec![],
            vec![point(0.9, 100.0)],
            vec![point(1.0, 0.0), point(1.0, 0.0)],
            vec![point(0.0, -5.0)],
            vec![point(f64::NAN, 1.0), point(0.5, f64::INFINITY)],
            vec![point(f64::NAN, 1.0), point(0.95, 10.0)],
            vec![point(1e12, 1e300), point(-1e12, -1e300)],
            vec![point(0.5, 1e-300), point(0.6, 2e-300)],
            vec![point(0.5, f64::MAX), point(0.6, -f64::MAX)],
            vec![point(0.5, 1e-300), point(0.6, 2e-300)],
            vec![point(0.5, 1e300), point(0.5, 1e300)],
            vec![point(0.5, f64::MAX), point(0.6, -f64::MAX)],
        ];
        for pts in &tradeoffs {
            render(|root| draw_tradeoff(root, TITLE, pts));
        }
        let one = |on_hand: Vec<f64>, orders, receipts| SkuSeries {
            policy: "p".into(),
            on_hand,
            orders,
            receipts,
        };
        let skus = [
            vec![],
            vec![one(vec![], vec![(0, 1.0)], vec![])],
            vec![one(vec![5.0], vec![(0, 3.0)], vec![(0, 3.0)])],
            vec![one(vec![0.0; 30], vec![(99, 1.0)], vec![(usize::MAX, 1.0)])],
            vec![one(vec![7.0; 30], vec![(3, f64::NAN)], vec![])],
            vec![one(vec![-3.0, -3.0], vec![], vec![])],
            vec![one(
                vec![f64::NAN, 1.0, f64::INFINITY, 2.0, 3.0],
                vec![(0, 1.0), (1, 1.0)],
                vec![(2, 1.0)],
            )],
            vec![one(vec![f64::NAN; 10], vec![], vec![])],
            vec![one(
                vec![f64::MAX, -f64::MAX, 1e-300],
                vec![(0, f64::MAX)],
                vec![(1, 1.0)],
            )],
        ];
        for series in &skus {
            render(|root| draw_sku(root, "SKU-1", start(), series));
        }
        // Policies beyond the palette reuse its colours.
        let many: Vec<SkuSeries> = (0..12)
            .map(|i| one(vec![f64::from(i); 5], vec![], vec![]))
            .collect();
        render(|root| draw_sku(root, "SKU-1", start(), &many));
    }

    #[test]
    fn ranges_contain_the_values_and_are_never_empty() {
        for (lo, hi) in [
            (0.0, 0.0),
            (5.0, 5.0),
            (-2.0, 3.0),
            (1e-9, 2e-9),
            (1e300, 1.5e300),
        ] {
            let (a, b) = padded(lo, hi);
            assert!(a < lo && hi < b, "{lo}..{hi} padded to {a}..{b}");
        }
        // Spread points reach down to 0; close ones are zoomed in on; all get a margin.
        assert_eq!(fill_rate_range(15.0, 100.0), (0.0, 108.5));
        assert_eq!(fill_rate_range(95.0, 99.0), (93.0, 101.0));
        assert_eq!(fill_rate_range(100.0, 100.0), (98.0, 102.0));
        assert_eq!(fill_rate_range(0.0, 50.0), (-5.0, 55.0));
        assert_eq!(percent_label(99.5, 1), "99.5%");
        assert_eq!(percent_label(0.0, 0), "0%");
        assert_eq!(percent_label(101.0, 0), "");
        assert_eq!(percent_label(-2.0, 0), "");
    }

    #[test]
    fn axis_labels_read_as_amounts_and_dates() {
        assert_eq!(amount_label(1_234_567.0, 0), "1,234,567");
        assert_eq!(amount_label(-1234.5, 1), "-1,234.5");
        assert_eq!(amount_label(999.0, 0), "999");
        assert_eq!(amount_label(-0.001, 0), "0");
        assert_eq!(date_label(start(), 0), "2026-09-01");
        assert_eq!(date_label(start(), 30), "2026-10-01");
        assert_eq!(date_label(start(), -1), "day -1");
        assert_eq!(
            segments(&[1.0, f64::NAN, 2.0, 3.0]),
            vec![vec![(0, 1.0)], vec![(2, 2.0), (3, 3.0)]]
        );
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("no-such-folder").join("tradeoff.png");
        let err = tradeoff_png(&path, TITLE, &points()).expect_err("folder is missing");
        let msg = format!("{err:#}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("No such file or directory") || msg.contains("os error"),
            "{msg}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_write_leaves_no_file_behind_and_a_good_one_replaces_the_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the chart should go: drawing succeeds, the final rename cannot.
        let blocked = dir.path().join("chart.png");
        std::fs::create_dir(&blocked).expect("mkdir");
        let err = sku_png(&blocked, "SKU-1", start(), &series()).expect_err("target is a folder");
        assert!(
            format!("{err:#}").contains(&blocked.display().to_string()),
            "{err:#}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("lists").count(),
            1,
            "temporary file left over"
        );

        let path = dir.path().join("old.png");
        std::fs::write(&path, b"not a chart").expect("writes");
        tradeoff_png(&path, TITLE, &points()).expect("replaces");
        let bytes = std::fs::read(&path).expect("reads back");
        assert_eq!(png_dimensions(&bytes), (WIDTH, HEIGHT));
        assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn the_chart_gets_the_permissions_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let chart = dir.path().join("chart.png");
        let plain = dir.path().join("plain.txt");
        tradeoff_png(&chart, TITLE, &points()).expect("writes");
        std::fs::write(&plain, b"x").expect("writes");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&chart), mode(&plain), "not tempfile's private 0600");
    }
}
