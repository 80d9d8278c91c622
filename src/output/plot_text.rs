//! A plotters drawing backend that typesets text itself, glyph by glyph, and hands everything
//! else to the backend it wraps.
//!
//! plotters' own `ab_glyph` text renderer (0.3.7) starts every glyph's bitmap at the pen
//! position, dropping the glyph's left side bearing, so narrow letters shift left and words read
//! "nai ve", "repl enish". [`Typeset`] places each glyph at pen + kerning, with its ink where the
//! font puts it (the outline is rasterised at the exact, fractional pen position), and blends
//! the coverage into the pixel with the colour's alpha.
//!
//! Everything else about text stays as plotters does it, so charts lay out as before:
//! the text box is the advance width by `size / 1.24` (plotters' estimate), the anchor
//! ([`HPos`], [`VPos`]) moves the box the same way, the baseline sits half the font size (rounded
//! up to a whole pixel) below the box's top, and a `FontTransform` turns the text, pixel by pixel,
//! about the anchor. Text of a family the font is not given for is left to the inner backend.

use ab_glyph::{Font as _, FontRef, GlyphId, InvalidFont, ScaleFont as _, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// `inner` with text drawn by [`Typeset::draw_text`] in one font, for the families listed.
pub struct Typeset<B> {
    inner: B,
    font: FontRef<'static>,
    families: &'static [&'static str],
}

impl<B: DrawingBackend> Typeset<B> {
    /// Draws text of the `families` (names as given to plotters, e.g. "sans-serif") with the
    /// font in `font` (a TrueType/OpenType file); text of any other family goes to `inner`.
    pub fn new(
        inner: B,
        font: &'static [u8],
        families: &'static [&'static str],
    ) -> Result<Self, InvalidFont> {
        Ok(Self {
            inner,
            font: FontRef::try_from_slice(font)?,
            families,
        })
    }

    fn serves<S: BackendTextStyle>(&self, style: &S) -> bool {
        let family = style.family();
        self.families.iter().any(|f| *f == family.as_str())
    }

    /// Width and height of the text box, as plotters' `ab_glyph` layout has them: the advances
    /// (with kerning) by `size / 1.24`, truncated to whole pixels.
    fn text_box(&self, text: &str, size: f64) -> (i32, i32) {
        let font = self.font.as_scaled(size as f32);
        let mut width = 0_f32;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            prev = Some(id);
        }
        (width as i32, (size / 1.24) as i32)
    }
}

/// A text size ab_glyph can lay out: positive and finite.
fn drawable_size(size: f64) -> bool {
    size.is_finite() && size > 0.0 && size <= f64::from(f32::MAX)
}

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        if !self.serves(style) {
            return self.inner.estimate_text_size(text, style);
        }
        if !drawable_size(style.size()) {
            return Ok((0, 0));
        }
        let (w, h) = self.text_box(text, style.size());
        Ok((w.unsigned_abs(), h.unsigned_abs()))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !self.serves(style) {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        let size = style.size();
        if color.alpha <= 0.0 || !drawable_size(size) {
            return Ok(());
        }
        // The box's top left relative to the anchor, before the transform (as plotters has it).
        let (width, height) = self.text_box(text, size);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Center => -width / 2,
            HPos::Right => -width,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        // Whole pixels, so horizontal strokes stay sharp; plotters' baseline for even sizes.
        let baseline = (size / 2.0).ceil() as f32;
        let transform = style.transform();
        let (w, h) = self.inner.get_size();
        let (w, h) = (
            i32::try_from(w).unwrap_or(i32::MAX),
            i32::try_from(h).unwrap_or(i32::MAX),
        );

        let font = self.font.as_scaled(size as f32);
        let inner = &mut self.inner;
        let mut result = Ok(());
        let mut pen = 0_f32;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(font.scale(), point(pen, baseline));
            pen += font.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space, or a glyph without ink
            };
            // The outline is rasterised at the fractional pen position; its pixels start at the
            // bounds' (whole-pixel) corner, bearing included.
            let corner = outline.px_bounds().min;
            let (x0, y0) = (corner.x as i32 + dx, corner.y as i32 + dy);
            outline.draw(|x, y, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                let (tx, ty) = transform.transform(x0 + x as i32, y0 + y as i32);
                let (px, py) = (pos.0.saturating_add(tx), pos.1.saturating_add(ty));
                if (0..w).contains(&px) && (0..h).contains(&py) {
                    let ink = BackendColor {
                        alpha: color.alpha * f64::from(coverage.min(1.0)),
                        rgb: color.rgb,
                    };
                    result = inner.draw_pixel((px, py), ink);
                }
            });
            if result.is_err() {
                break;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;
    use plotters::style::text_anchor::Pos;
    use plotters::style::{FontStyle, register_font};

    static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
    const FAMILY: &str = "plot-text-test";
    const W: u32 = 400;
    const H: u32 = 300;

    fn style(size: u32) -> TextStyle<'static> {
        assert!(register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
        (FAMILY, size).into_font().color(&BLACK)
    }

    /// Draws `text` at `pos` on white through [`Typeset`]; returns RGB rows.
    fn render(text: &str, style: &TextStyle<'_>, pos: (i32, i32)) -> Vec<u8> {
        let mut buf = vec![255_u8; (W * H * 3) as usize];
        {
            let bitmap = BitMapBackend::with_buffer(&mut buf, (W, H));
            let root = Typeset::new(bitmap, FONT_BYTES, &[FAMILY])
                .expect("font parses")
                .into_drawing_area();
            root.draw_text(text, style, pos).expect("draws");
            root.present().expect("presents");
        }
        buf
    }

    /// Whether the pixel at (x, y) has any ink (antialiasing fringes included).
    fn inked(buf: &[u8], x: u32, y: u32) -> bool {
        let i = ((y * W + x) * 3) as usize;
        buf[i..i + 3].iter().any(|&v| v < 250)
    }

    /// The runs of columns with ink anywhere, as (first, last) column.
    fn ink_runs(buf: &[u8]) -> Vec<(u32, u32)> {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for x in 0..W {
            if (0..H).any(|y| inked(buf, x, y)) {
                match runs.last_mut() {
                    Some(run) if run.1 + 1 == x => run.1 = x,
                    _ => runs.push((x, x)),
                }
            }
        }
        runs
    }

    /// (first column, first row, last column, last row) with ink.
    fn ink_box(buf: &[u8]) -> Option<(u32, u32, u32, u32)> {
        let mut b: Option<(u32, u32, u32, u32)> = None;
        for y in 0..H {
            for x in 0..W {
                if inked(buf, x, y) {
                    b = Some(match b {
                        None => (x, y, x, y),
                        Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                    });
                }
            }
        }
        b
    }

    /// Where the font says each glyph's ink starts, in pixels from the pen's start.
    fn expected_ink_starts(text: &str, size: f32) -> Vec<f32> {
        let font = FontRef::try_from_slice(FONT_BYTES).expect("font parses");
        let font = font.as_scaled(size);
        let mut pen = 0.0;
        let mut prev = None;
        let mut starts = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            starts.push(pen + font.h_side_bearing(id));
            pen += font.h_advance(id);
            prev = Some(id);
        }
        starts
    }

    #[test]
    fn each_glyph_starts_its_ink_at_pen_plus_its_side_bearing() {
        // plotters drops the bearing: every glyph's ink starts at the pen, "nai ve".
        for text in ["nail", "naive", "il"] {
            let left = 20;
            let buf = render(text, &style(64), (left, 100));
            let runs = ink_runs(&buf);
            let expected = expected_ink_starts(text, 64.0);
            assert_eq!(runs.len(), text.len(), "{text}: ink runs {runs:?}");
            for ((c, run), start) in text.chars().zip(&runs).zip(&expected) {
                let start = left as f32 + start;
                assert!(
                    (run.0 as f32 - start).abs() <= 1.0,
                    "{text}: '{c}' ink from column {}, the font says {start:.1}",
                    run.0
                );
            }
        }
    }

    #[test]
    fn gaps_between_glyphs_follow_the_font_at_chart_sizes() {
        // At title size the steps from one glyph's ink to the next are what the font's advances
        // and bearings make them, within a pixel ("i" to "v" is 1.2 pixels off without bearings).
        for text in ["naive", "lenis"] {
            let buf = render(text, &style(22), (10, 100));
            let runs = ink_runs(&buf);
            assert_eq!(runs.len(), text.len(), "{text}: ink runs {runs:?}");
            let expected = expected_ink_starts(text, 22.0);
            for (i, pair) in runs.windows(2).enumerate() {
                let step = (pair[1].0 - pair[0].0) as f32;
                let want = expected[i + 1] - expected[i];
                assert!(
                    (step - want).abs() <= 1.0,
                    "{text}: glyph {i} to {}: {step} columns, the font says {want:.1}",
                    i + 1
                );
            }
        }
    }

    #[test]
    fn text_size_is_plotters_layout_box() {
        let s = style(16);
        let bitmap_size = |text: &str| {
            let mut buf = vec![255_u8; (W * H * 3) as usize];
            let bitmap = BitMapBackend::with_buffer(&mut buf, (W, H));
            bitmap.estimate_text_size(text, &s).expect("estimates")
        };
        let mut buf = vec![255_u8; (W * H * 3) as usize];
        let typeset = Typeset::new(
            BitMapBackend::with_buffer(&mut buf, (W, H)),
            FONT_BYTES,
            &[FAMILY],
        )
        .expect("font parses");
        for text in ["", "naive", "Backtest 2026-08-27 – 2026-11-26", "AVA"] {
            let ours = typeset.estimate_text_size(text, &s).expect("estimates");
            assert_eq!(ours, bitmap_size(text), "{text:?}");
        }
    }

    #[test]
    fn anchors_place_the_box_as_plotters_does() {
        let text = "replenish";
        let (w, h) = style(20).font.box_size(text).expect("measures");
        let (w, h) = (w as i32, h as i32);
        let at = |hpos, vpos| {
            let buf = render(text, &style(20).pos(Pos::new(hpos, vpos)), (200, 150));
            ink_box(&buf).expect("ink")
        };
        let left_top = at(HPos::Left, VPos::Top);
        for (hpos, vpos, dx, dy) in [
            (HPos::Center, VPos::Center, -w / 2, -h / 2),
            (HPos::Right, VPos::Bottom, -w, -h),
            (HPos::Right, VPos::Top, -w, 0),
        ] {
            let b = at(hpos, vpos);
            assert_eq!(
                (
                    b.0 as i32 - left_top.0 as i32,
                    b.1 as i32 - left_top.1 as i32
                ),
                (dx, dy)
            );
        }
        // The ink stays inside the advance width.
        assert!(
            left_top.0 >= 200 && left_top.2 < 200 + w as u32,
            "{left_top:?}"
        );
    }

    #[test]
    fn rotated_text_is_the_horizontal_text_turned_about_the_anchor() {
        let text = "Fill rate";
        let flat = ink_box(&render(text, &style(16), (200, 150))).expect("ink");
        let (fx0, fy0, fx1, fy1) = (
            flat.0 as i32 - 200,
            flat.1 as i32 - 150,
            flat.2 as i32 - 200,
            flat.3 as i32 - 150,
        );
        // (x, y) -> (-y, x) and (y, -x), pixel for pixel.
        let r90 = ink_box(&render(
            text,
            &style(16).transform(FontTransform::Rotate90),
            (200, 150),
        ))
        .expect("ink");
        assert_eq!(
            (r90.0 as i32, r90.1 as i32, r90.2 as i32, r90.3 as i32),
            (200 - fy1, 150 + fx0, 200 - fy0, 150 + fx1)
        );
        let r270 = ink_box(&render(
            text,
            &style(16).transform(FontTransform::Rotate270),
            (200, 150),
        ))
        .expect("ink");
        assert_eq!(
            (r270.0 as i32, r270.1 as i32, r270.2 as i32, r270.3 as i32),
            (200 + fy0, 150 - fx1, 200 + fy1, 150 - fx0)
        );
        // Tall and narrow, reading along the rotated direction.
        assert!(r90.3 - r90.1 > 3 * (r90.2 - r90.0));
    }

    #[test]
    fn coverage_blends_with_the_colour_and_its_alpha() {
        let red = RGBColor(200, 0, 0);
        let solid = render("l", &style(40).color(&red), (100, 100));
        // A 40-pixel stem is a few pixels wide: its middle is fully covered, in the colour.
        assert!(solid.chunks_exact(3).any(|p| p == [200, 0, 0]));
        assert!(solid.chunks_exact(3).all(|p| p[0] >= 200));

        let faint = red.mix(0.5);
        let half = render("l", &style(40).color(&faint), (100, 100));
        let darkest = half.chunks_exact(3).map(|p| p[1]).min().expect("pixels");
        assert!(
            (120..=135).contains(&darkest),
            "half-alpha stem green {darkest}"
        );

        let clear = RGBColor(0, 0, 0).mix(0.0);
        assert!(ink_box(&render("l", &style(40).color(&clear), (100, 100))).is_none());
    }

    #[test]
    fn other_families_go_to_the_inner_backend_and_odd_sizes_draw_nothing() {
        let mut buf = vec![255_u8; (W * H * 3) as usize];
        {
            let root = Typeset::new(
                BitMapBackend::with_buffer(&mut buf, (W, H)),
                FONT_BYTES,
                &[FAMILY],
            )
            .expect("font parses")
            .into_drawing_area();
            // Unknown to plotters too: its error, not ours.
            let unknown = ("no-such-family", 12).into_font();
            assert!(root.draw_text("x", &unknown.into(), (10, 10)).is_err());
            for size in [0.0, -3.0, f64::NAN, f64::INFINITY] {
                let s: TextStyle<'_> = (FAMILY, size).into_font().into();
                root.draw_text("x", &s, (10, 10)).expect("draws nothing");
            }
            // Off the canvas: clipped, not an error.
            root.draw_text("edge", &style(30), (-15, -10))
                .expect("clips");
            root.draw_text("edge", &style(30), (390, 290))
                .expect("clips");
        }
        assert!(
            ink_box(&buf).is_some(),
            "the visible part of clipped text is drawn"
        );
    }
}
