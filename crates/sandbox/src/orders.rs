//! The Shopify order stream: orders for any span of the sandbox clock (the history at start-up and
//! every tick), with every case the planning rules care about, the true demand kept alongside, and
//! the later refunds and cancellations a tick applies to existing orders.
//!
//! Besides random draws, rule cases are forced at fixed positions of the order sequence
//! (`seq % 101`), so even a small world has test, cancelled, pending, refunded, gift-card,
//! blank-SKU, unknown-SKU, mismatched-SKU, POS and split-fulfillment orders.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

use super::generator::rand_time;
use super::rng::Rng;
use super::state::*;

/// Relative order volume by hour of day (UTC), mean 1.
const HOURLY: [f64; 24] = [
    0.35, 0.25, 0.18, 0.15, 0.15, 0.22, 0.40, 0.65, 0.95, 1.15, 1.25, 1.35, 1.45, 1.45, 1.35, 1.30,
    1.30, 1.40, 1.60, 1.75, 1.65, 1.35, 1.00, 0.63,
];
/// Relative order volume by weekday (Mon..Sun).
const WEEKLY: [f64; 7] = [0.95, 0.92, 0.97, 1.02, 1.10, 1.22, 0.82];

/// The Cin7 location the planning rules attribute an order to, with the banner's mapping.
fn attribute(w: &World, fos: &[FulfillmentOrder], retail: Option<u32>) -> u16 {
    if let Some(fo) = fos.iter().min_by_key(|f| f.num) {
        return w.shop_locations[fo.location as usize].cin7;
    }
    if let Some(r) = retail {
        return w.shop_locations[r as usize].cin7;
    }
    0
}

struct Weights {
    day: i32,
    /// Cumulative sellable weights per warehouse.
    cum: Vec<Vec<f64>>,
    /// The order volume's multiplier: the sellables' summed weight over its value at shape factor
    /// 1 (the sum of their bases), so each product's demand follows its own shape, whatever the
    /// others do, and `orders_per_day` stays about the average volume.
    volume: f64,
}

/// `t`'s position in the history span: 0 at its start, 1 at its end (the sandbox's start), above 1
/// for the ticks after it.
fn span_position(w: &World, t: DateTime<Utc>) -> f64 {
    let span = (w.start - w.history_start).num_seconds().max(86_400) as f64;
    (t - w.history_start).num_seconds() as f64 / span
}

/// The sellables' weights at `t` (recomputed each day): base × shape factor × warehouse factor.
/// The shapes move each product's share of the orders' lines, and the order volume with the
/// summed weight, so that a product's expected demand is its base's share of the volume times
/// its own shape factor.
fn weights_for(w: &World, t: DateTime<Utc>) -> Weights {
    let mid = w.history_start + (w.start - w.history_start) / 2;
    let level: Vec<f64> = w
        .sellables
        .iter()
        .map(|s| {
            if s.until.is_none_or(|u| t < u) {
                s.base * s.factor(t, mid)
            } else {
                0.0
            }
        })
        .collect();
    let cum = (0..w.warehouses)
        .map(|l| {
            let mut acc = 0.0;
            w.sellables
                .iter()
                .zip(&level)
                .map(|(s, v)| {
                    acc += v * s.loc_factor[l];
                    acc
                })
                .collect()
        })
        .collect();
    let reference: f64 = w.sellables.iter().map(|s| s.base).sum();
    let volume = if reference > 0.0 {
        level.iter().sum::<f64>() / reference
    } else {
        1.0
    };
    Weights {
        day: day_key(t),
        cum,
        volume,
    }
}

/// Generates the orders created in [from, to) and appends them to the world. In `live` mode
/// (ticks) stockouts come from the current stock, and sold units leave the stock.
/// Returns the indexes of the new orders.
pub fn generate_span(
    w: &mut World,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    live: bool,
) -> Vec<usize> {
    let mut rng = std::mem::replace(&mut w.rng_orders, Rng::new(0));
    let mut new = Vec::new();
    if w.sellables.is_empty() {
        w.rng_orders = rng;
        return new;
    }
    let hourly_mean = HOURLY.iter().sum::<f64>() / 24.0;
    let mut weights = weights_for(w, from);
    let mut h = from;
    while h < to {
        let end = (h + Duration::hours(1)).min(to);
        let frac = (end - h).num_seconds() as f64 / 3600.0;
        if day_key(h) != weights.day {
            weights = weights_for(w, h);
        }
        let x = span_position(w, h);
        let global = (1.0 + 0.1 * (x - 0.5)).clamp(0.5, 2.0);
        let lambda = f64::from(w.opts.orders_per_day) / 24.0 * HOURLY[h.hour() as usize]
            / hourly_mean
            * WEEKLY[h.weekday().num_days_from_monday() as usize]
            * global
            * weights.volume
            * frac;
        let n = rng.poisson(lambda);
        let secs = (end - h).num_seconds().max(1) as u64;
        let mut times: Vec<i64> = (0..n).map(|_| rng.below(secs) as i64).collect();
        times.sort_unstable();
        for s in times {
            let t = h + Duration::seconds(s);
            if let Some(order) = make_order(w, &mut rng, &weights, t, to, live) {
                if live && !order.test && order.cancelled.is_none() {
                    for l in &order.lines {
                        if let Some(p) = l.product {
                            w.add_stock(p, order.cin7_loc, -f64::from(l.quantity));
                        }
                    }
                }
                new.push(w.push_order(order));
            }
        }
        h = end;
    }
    w.rng_orders = rng;
    new
}

fn censored_now(w: &World, product: u32, loc: u16, t: DateTime<Utc>, live: bool) -> bool {
    let p = &w.products[product as usize];
    if p.kind != "Stock" {
        return false;
    }
    if live {
        // Deprecated products are no longer stocked anywhere: never censor their sales.
        p.active && w.available(product, loc) <= 0.0
    } else {
        w.is_stocked_out(product, loc, day_key(t))
    }
}

fn line_for(w: &mut World, rng: &mut Rng, variant: u32, qty: u32) -> LineItem {
    w.next_line_num += 1 + rng.below(3);
    let v = &w.variants[variant as usize];
    LineItem {
        num: w.next_line_num,
        variant: Some(variant),
        sku: v.sku.clone(),
        quantity: qty,
        current: qty,
        gift_card: v.gift_card,
        product: v.product,
        price_cents: v.price_cents,
    }
}

fn draw_qty(rng: &mut Rng) -> u32 {
    let r = rng.f64();
    if r < 0.75 {
        1
    } else if r < 0.92 {
        2
    } else if r < 0.97 {
        3
    } else {
        rng.range(4, 8) as u32
    }
}

fn make_order(
    w: &mut World,
    rng: &mut Rng,
    weights: &Weights,
    t: DateTime<Utc>,
    end: DateTime<Utc>,
    live: bool,
) -> Option<Order> {
    let seq = w.order_seq;
    w.order_seq += 1;
    let case = seq % 101;
    let forced = matches!(
        case,
        3 | 7 | 13 | 19 | 23 | 29 | 31 | 37 | 41 | 43 | 47 | 53 | 59 | 61 | 67 | 71 | 73 | 79 | 83
    );
    let nw = w.warehouses;
    let pos_idx = nw as u32;

    // Where the order comes from.
    let mut retail = None;
    let mut fo_locs: Vec<u32> = Vec::new();
    let mut two_fos_reversed = false;
    let r = rng.f64();
    if case == 79 || (!forced && r < 0.02) {
        // no location at all
    } else if case == 61 || (!forced && r < 0.10) {
        retail = Some(pos_idx);
        if case != 61 && rng.chance(0.3) {
            fo_locs.push(0);
        }
    } else {
        let primary = if nw == 1 || rng.chance(0.6) {
            0
        } else {
            1 + rng.below(nw as u64 - 1) as u32
        };
        fo_locs.push(primary);
        if nw > 1 && (case == 67 || rng.chance(0.04)) {
            let mut other = rng.below(nw as u64) as u32;
            if other == primary {
                other = (primary + 1) % nw as u32;
            }
            fo_locs.push(other);
            two_fos_reversed = case == 67 || rng.chance(0.5);
        }
    }

    // Financial state.
    let test = case == 3 || (!forced && rng.chance(0.01));
    let mut fin = Fin::Paid;
    let mut cancel = false;
    let r = rng.f64();
    match case {
        7 => cancel = true,
        13 => fin = Fin::Pending,
        19 => fin = Fin::Authorized,
        23 => fin = Fin::PartiallyPaid,
        29 => fin = Fin::Voided,
        31 => fin = Fin::Expired,
        37 => fin = Fin::Refunded,
        41 => fin = Fin::PartiallyRefunded,
        _ if !forced => {
            fin = if r < 0.012 {
                cancel = true;
                Fin::Paid
            } else if r < 0.020 {
                Fin::Pending
            } else if r < 0.028 {
                Fin::Authorized
            } else if r < 0.032 {
                Fin::PartiallyPaid
            } else if r < 0.036 {
                Fin::Voided
            } else if r < 0.039 {
                Fin::Expired
            } else if r < 0.051 {
                Fin::Refunded
            } else if r < 0.081 {
                Fin::PartiallyRefunded
            } else {
                Fin::Paid
            };
        }
        _ => {}
    }
    let would_count = !test && !cancel && fin.counts() && fin != Fin::Refunded;
    let cin7_loc_guess = {
        let fos: Vec<FulfillmentOrder> = fo_locs
            .iter()
            .enumerate()
            .map(|(i, &l)| FulfillmentOrder {
                num: i as u64,
                location: l,
            })
            .collect();
        attribute(w, &fos, retail)
    };

    // Lines.
    let gift_only = !forced && rng.chance(0.003);
    let n_lines = if gift_only {
        0
    } else if seq % 3001 == 777 || seq == 5 {
        rng.range(31, 45) as usize
    } else {
        let r = rng.f64();
        if r < 0.60 {
            1
        } else if r < 0.85 {
            2
        } else if r < 0.97 {
            3
        } else {
            rng.range(4, 5) as usize
        }
    };
    let cum = &weights.cum[cin7_loc_guess as usize];
    let day = day_key(t);
    let mut lines: Vec<LineItem> = Vec::new();
    for _ in 0..n_lines {
        let mut tries = 0;
        loop {
            tries += 1;
            let s = rng.weighted(cum);
            let sellable = &w.sellables[s];
            let variant = sellable.variant;
            let product = sellable.product;
            let qty = draw_qty(rng);
            if let Some(p) = product
                && censored_now(w, p, cin7_loc_guess, t, live)
            {
                if forced && tries < 10 {
                    continue;
                }
                if would_count {
                    let k = (p, cin7_loc_guess, day);
                    *w.demand.entry(k).or_insert(0.0) += f64::from(qty);
                    *w.censored.entry(k).or_insert(0.0) += f64::from(qty);
                }
                break;
            }
            let line = line_for(w, rng, variant, qty);
            lines.push(line);
            break;
        }
    }
    // Forced and random special lines.
    if gift_only || case == 43 || (!forced && rng.chance(0.01)) {
        if !w.gift_variants.is_empty() {
            let g = *rng.pick(&w.gift_variants.clone());
            lines.push(line_for(w, rng, g, 1));
        }
        if gift_only {
            fo_locs.clear();
        }
    }
    let blank = match case {
        47 => Some(None),
        71 => Some(Some("   ".to_string())),
        73 => Some(Some(String::new())),
        _ if !forced && rng.chance(0.005) => Some(match rng.below(3) {
            0 => None,
            1 => Some(String::new()),
            _ => Some(" ".to_string()),
        }),
        _ => None,
    };
    if let Some(sku) = blank {
        w.next_line_num += 1;
        lines.push(LineItem {
            num: w.next_line_num,
            variant: None,
            sku,
            quantity: 1,
            current: 1,
            gift_card: false,
            product: None,
            price_cents: rng.range(500, 3000),
        });
    }
    let pick_variant = |w: &World, rng: &mut Rng, f: &dyn Fn(&Sellable, &World) -> bool| {
        let c: Vec<u32> = w
            .sellables
            .iter()
            .filter(|s| f(s, w))
            .map(|s| s.variant)
            .collect();
        if c.is_empty() {
            None
        } else {
            Some(*rng.pick(&c))
        }
    };
    let special = match case {
        53 => pick_variant(w, rng, &|s, w| {
            s.product.is_none()
                && w.variants[s.variant as usize]
                    .sku
                    .as_deref()
                    .is_some_and(|x| !x.trim().is_empty())
        }),
        59 => pick_variant(w, rng, &|s, w| {
            s.product.is_some_and(|p| w.products[p as usize].mismatched)
        }),
        83 => pick_variant(w, rng, &|s, w| {
            s.product
                .is_some_and(|p| w.products[p as usize].kind == "Service")
        }),
        _ => None,
    };
    if let Some(v) = special {
        lines.push(line_for(w, rng, v, 1));
    }
    if lines.is_empty() {
        return None;
    }

    // Fulfillment orders (ids in creation order; sometimes listed in reverse).
    let mut fos: Vec<FulfillmentOrder> = fo_locs
        .iter()
        .map(|&l| {
            w.next_fo_num += 1 + rng.below(5);
            FulfillmentOrder {
                num: w.next_fo_num,
                location: l,
            }
        })
        .collect();
    if two_fos_reversed {
        fos.reverse();
    }
    let cin7_loc = attribute(w, &fos, retail);

    // Refunds and cancellation.
    let later = |rng: &mut Rng, min_s: i64, max_s: i64| -> DateTime<Utc> {
        (t + Duration::seconds(rng.range(min_s, max_s)))
            .min(end)
            .max(t)
    };
    // An order's last update lands up to 36 h after it was placed; for orders placed less than
    // 36 h before the end of the history the offset is scaled into the time left, so that the
    // newest orders' updates spread out instead of all landing on "now".
    let mut updated = {
        let max_s: i64 = 36 * 3600;
        let offset = rng.range(0, max_s);
        let left = (end - t).num_seconds().clamp(0, max_s);
        (t + Duration::seconds(offset * left / max_s))
            .min(end)
            .max(t)
    };
    let mut cancelled = None;
    if cancel {
        let c = later(rng, 600, 3 * 86_400);
        cancelled = Some(c);
        updated = updated.max(c);
        let r = rng.f64();
        if r < 0.5 {
            fin = Fin::Refunded;
            lines.iter_mut().for_each(|l| l.current = 0);
        } else if r < 0.8 {
            fin = Fin::Paid;
        } else {
            fin = Fin::Voided;
            lines.iter_mut().for_each(|l| l.current = 0);
        }
    } else if fin == Fin::Refunded {
        lines.iter_mut().for_each(|l| l.current = 0);
        updated = updated.max(later(rng, 3600, 10 * 86_400));
    } else if fin == Fin::PartiallyRefunded {
        partially_refund(rng, &mut lines);
        updated = updated.max(later(rng, 3600, 10 * 86_400));
    }

    w.next_order_num += 1 + rng.below(7);
    let number = w.next_order_name;
    w.next_order_name += 1;
    Some(Order {
        num: w.next_order_num,
        number,
        created: t,
        updated,
        cancelled,
        test,
        fin,
        retail,
        fos,
        lines,
        cin7_loc,
    })
}

/// Refunds part of an order: at least one unit goes, at least one unit stays.
pub fn partially_refund(rng: &mut Rng, lines: &mut [LineItem]) {
    let idx: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].gift_card && lines[i].current > 0)
        .collect();
    if idx.is_empty() {
        return;
    }
    let total: u32 = idx.iter().map(|&i| lines[i].current).sum();
    let i = *rng.pick(&idx);
    if total <= 1 {
        lines[i].quantity += 1;
        lines[i].current = 1;
        return;
    }
    let remove_max = if total - lines[i].current == 0 {
        lines[i].current - 1
    } else {
        lines[i].current
    };
    let remove = rng.range(1, i64::from(remove_max.max(1))) as u32;
    lines[i].current -= remove.min(lines[i].current);
}

/// Marks a few recent counting orders refunded (partly or fully) or cancelled during [from, to),
/// with an `updatedAt` in that span, keeping the true demand in step. Returns how many changed.
pub fn update_orders(w: &mut World, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    let hours = (to - from).num_seconds() as f64 / 3600.0;
    let mut rng = std::mem::replace(&mut w.rng_tick, Rng::new(0));
    let lambda = f64::from(w.opts.orders_per_day) * hours / 24.0 * 0.02;
    let mut n = rng.poisson(lambda) as usize;
    if n == 0 && hours >= 1.0 {
        n = 1;
    }
    let oldest = from - Duration::days(30);
    let candidates: Vec<usize> = w
        .orders
        .iter()
        .enumerate()
        .rev()
        .take_while(|(_, o)| o.created >= oldest)
        .filter(|(_, o)| o.created < from && o.counts() && o.fin == Fin::Paid)
        .map(|(i, _)| i)
        .collect();
    let mut changed: Vec<usize> = Vec::new();
    for _ in 0..n {
        if candidates.is_empty() {
            break;
        }
        let i = *rng.pick(&candidates);
        if changed.contains(&i) {
            continue;
        }
        let when = rand_time(&mut rng, from, to);
        let before = World::contribution(&w.orders[i]);
        let r = rng.f64();
        let o = &mut w.orders[i];
        let units: u32 = o
            .lines
            .iter()
            .filter(|l| !l.gift_card)
            .map(|l| l.current)
            .sum();
        if r < 0.5 && units > 1 {
            partially_refund(&mut rng, &mut o.lines);
            o.fin = Fin::PartiallyRefunded;
        } else if r < 0.75 {
            o.lines.iter_mut().for_each(|l| l.current = 0);
            o.fin = Fin::Refunded;
        } else {
            o.cancelled = Some(when);
            o.lines.iter_mut().for_each(|l| l.current = 0);
            o.fin = Fin::Refunded;
        }
        o.updated = when.max(o.created);
        let after = World::contribution(&w.orders[i]);
        w.add_demand(&before, -1.0);
        w.add_demand(&after, 1.0);
        changed.push(i);
    }
    w.rng_tick = rng;
    changed.len()
}
