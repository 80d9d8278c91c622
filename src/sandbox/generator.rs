//! The world generator: Cin7 locations, suppliers, products, stock and purchases, the Shopify
//! catalog, and the order stream (history and, via [`generate_span`], the orders of later ticks).
//!
//! Everything is a pure function of the seed and the options. Each part draws from its own PRNG
//! stream, so changing one part's draws does not reshuffle the others. Every planning rule case is
//! guaranteed to appear even in small worlds: besides random draws, some cases are forced at fixed
//! positions of the order sequence (`seq % 101`) and of the product list.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Timelike, Utc};

use super::SandboxOptions;
use super::rng::Rng;
use super::state::*;

const WAREHOUSES: [&str; 6] = [
    "Main Warehouse",
    "East Warehouse",
    "West Warehouse",
    "North Warehouse",
    "South Warehouse",
    "Central Warehouse",
];

const SUPPLIER_PREFIX: [&str; 25] = [
    "Acme",
    "Borealis",
    "Cobalt",
    "Dunmore",
    "Evergreen",
    "Fjord",
    "Granite",
    "Harbor",
    "Ironbark",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Northwind",
    "Orchard",
    "Pinnacle",
    "Quarry",
    "Redwood",
    "Summit",
    "Tidewater",
    "Umber",
    "Vantage",
    "Willow",
    "Yarrow",
    "Zephyr",
];
const SUPPLIER_SUFFIX: [&str; 12] = [
    "Ltd",
    "Trading",
    "Supply Co",
    "& Sons",
    "Imports",
    "Goods",
    "Wholesale",
    "Textiles",
    "Manufacturing",
    "Packaging",
    "Distribution",
    "Home",
];
const CITIES: [(&str, &str, &str); 6] = [
    ("Portland", "OR", "US"),
    ("Austin", "TX", "US"),
    ("Leeds", "West Yorkshire", "GB"),
    ("Rotterdam", "Zuid-Holland", "NL"),
    ("Auckland", "Auckland", "NZ"),
    ("Denver", "CO", "US"),
];
const ADJECTIVES: [&str; 16] = [
    "Classic",
    "Everyday",
    "Organic",
    "Deluxe",
    "Compact",
    "Vintage",
    "Urban",
    "Coastal",
    "Alpine",
    "Modern",
    "Rustic",
    "Essential",
    "Premium",
    "Travel",
    "Soft",
    "Heavy-Duty",
];
const NOUNS: [(&str, &str); 16] = [
    ("Cotton Tee", "TEE"),
    ("Ceramic Mug", "MUG"),
    ("Canvas Tote", "TOT"),
    ("Wool Beanie", "BNE"),
    ("Steel Bottle", "BTL"),
    ("Linen Apron", "APR"),
    ("Leather Wallet", "WAL"),
    ("Notebook", "NBK"),
    ("Candle", "CDL"),
    ("Hoodie", "HOD"),
    ("Socks", "SCK"),
    ("Cutting Board", "CTB"),
    ("Backpack", "BPK"),
    ("Throw Blanket", "THR"),
    ("Plant Pot", "POT"),
    ("Water Filter", "FLT"),
];
const COLORS: [&str; 8] = ["BLK", "WHT", "RED", "NVY", "GRN", "GRY", "OAT", "BLU"];

/// Relative order volume by hour of day (UTC), mean 1.
const HOURLY: [f64; 24] = [
    0.35, 0.25, 0.18, 0.15, 0.15, 0.22, 0.40, 0.65, 0.95, 1.15, 1.25, 1.35, 1.45, 1.45, 1.35, 1.30,
    1.30, 1.40, 1.60, 1.75, 1.65, 1.35, 1.00, 0.63,
];
/// Relative order volume by weekday (Mon..Sun).
const WEEKLY: [f64; 7] = [0.95, 0.92, 0.97, 1.02, 1.10, 1.22, 0.82];

fn cin7_time(t: DateTime<Utc>) -> NaiveDateTime {
    let n = t.naive_utc();
    n.with_nanosecond((n.nanosecond() / 1_000_000) * 1_000_000)
        .unwrap_or(n)
}

/// A SKU spelled differently only by case, space or dash.
pub fn mangle(sku: &str, kind: u64) -> String {
    match kind % 3 {
        0 => sku.to_lowercase(),
        1 => sku.replacen('-', " ", 1),
        _ => sku.replace('-', ""),
    }
}

/// Builds the whole world for `opts`; `base_url` is where the sandbox is served.
pub fn build(opts: &SandboxOptions, base_url: String) -> World {
    let start = opts.now.with_nanosecond(0).unwrap_or(opts.now);
    let history_start = start - Duration::days(i64::from(opts.days));
    let warehouses = opts.locations.max(1);

    let locations = gen_locations(opts.seed, warehouses);
    let suppliers = gen_suppliers(opts.seed, opts.suppliers.max(1), history_start, start);
    let products = gen_products(opts, &suppliers, warehouses, history_start, start);

    let mut w = World {
        opts: opts.clone(),
        base_url,
        now: start,
        start,
        history_start,
        locations,
        warehouses,
        suppliers,
        products,
        stock: Vec::new(),
        stock_index: HashMap::new(),
        purchases: Vec::new(),
        next_po: 1,
        shop_locations: Vec::new(),
        variants: Vec::new(),
        gift_variants: Vec::new(),
        sellables: Vec::new(),
        stockouts: HashMap::new(),
        orders: Vec::new(),
        order_index: HashMap::new(),
        next_order_num: 5_830_000_000_000,
        next_order_name: 1001,
        next_line_num: 14_200_000_000_000,
        next_fo_num: 6_410_000_000_000,
        order_seq: 0,
        demand: HashMap::new(),
        censored: HashMap::new(),
        bulk_ops: Vec::new(),
        next_bulk: 1,
        rng_orders: Rng::stream(opts.seed, "orders"),
        rng_tick: Rng::stream(opts.seed, "tick"),
        rng_faults: Rng::stream(opts.seed, "faults"),
        rng_webhooks: Rng::stream(opts.seed, "webhooks"),
        requests: Default::default(),
        throttled_cin7: 0,
        throttled_shopify: 0,
        faults: 0,
        faults_by_kind: Default::default(),
        webhook_deliveries: 0,
        webhook_log: Vec::new(),
        cin7_window: Default::default(),
        bucket: Bucket {
            available: opts.shopify_bucket,
            last: std::time::Instant::now(),
        },
    };
    gen_shopify_catalog(&mut w);
    gen_stockouts(&mut w);
    generate_span(&mut w, history_start, start, false);
    gen_stock(&mut w);
    gen_purchases(&mut w);
    w
}

fn gen_locations(seed: u64, warehouses: usize) -> Vec<Cin7Location> {
    let mut rng = Rng::stream(seed, "locations");
    let mut out = Vec::new();
    for i in 0..warehouses {
        let name = match WAREHOUSES.get(i) {
            Some(n) => (*n).to_string(),
            None => format!("Warehouse {}", i + 1),
        };
        out.push(Cin7Location {
            id: rng.guid(),
            name,
            is_default: i == 0,
            kind: LocKind::Warehouse,
        });
    }
    out.push(Cin7Location {
        id: rng.guid(),
        name: "Old Depot".into(),
        is_default: false,
        kind: LocKind::Deprecated,
    });
    out.push(Cin7Location {
        id: rng.guid(),
        name: "Returns".into(),
        is_default: false,
        kind: LocKind::Returns,
    });
    out
}

fn rand_time(rng: &mut Rng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = (to - from).num_seconds().max(1);
    from + Duration::seconds(rng.below(span as u64) as i64)
}

fn gen_suppliers(seed: u64, n: usize, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Supplier> {
    let mut rng = Rng::stream(seed, "suppliers");
    (0..n)
        .map(|i| {
            let prefix = SUPPLIER_PREFIX[i % SUPPLIER_PREFIX.len()];
            let suffix = SUPPLIER_SUFFIX[i % SUPPLIER_SUFFIX.len()];
            let round = i / SUPPLIER_PREFIX.len();
            let name = if round == 0 {
                format!("{prefix} {suffix}")
            } else {
                format!("{prefix} {suffix} {}", round + 1)
            };
            let currency = match i {
                3 => "EUR",
                7 => "GBP",
                _ => "USD",
            };
            let (city, state, country) = *rng.pick(&CITIES);
            let street = format!("{} {} Street", rng.range(1, 999), prefix);
            let postcode = format!("{:05}", rng.range(1000, 99999));
            let addr = |kind: &'static str| Address {
                line1: street.clone(),
                line2: String::new(),
                city: city.into(),
                state: state.into(),
                postcode: postcode.clone(),
                country: country.into(),
                kind,
            };
            let contact = Contact {
                name: format!("{} Sales", prefix),
                phone: format!("+1 555 {:04}", rng.range(0, 9999)),
                email: format!("orders@{}.example", prefix.to_lowercase()),
            };
            Supplier {
                id: rng.guid(),
                name,
                currency: currency.into(),
                payment_term: if i % 5 == 4 {
                    "14 days".into()
                } else {
                    "30 days".into()
                },
                tax_rule: "Tax on Purchases".into(),
                // The last supplier of a larger set is deprecated (hidden from `GET supplier`).
                active: !(n >= 4 && i == n - 1),
                discount: 0.0,
                comments: String::new(),
                last_modified: cin7_time(rand_time(&mut rng, from, to)),
                addresses: vec![addr("Business"), addr("Billing")],
                contacts: vec![contact],
            }
        })
        .collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn gen_products(
    opts: &SandboxOptions,
    suppliers: &[Supplier],
    warehouses: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Product> {
    let mut rng = Rng::stream(opts.seed, "products");
    let active_suppliers: Vec<usize> = (0..suppliers.len())
        .filter(|&i| suppliers[i].active)
        .collect();
    let deprecated_supplier = suppliers.iter().position(|s| !s.active);
    let mut out = Vec::with_capacity(opts.skus);
    for i in 0..opts.skus {
        let adj = *rng.pick(&ADJECTIVES);
        let (noun, code) = *rng.pick(&NOUNS);
        let sku = if rng.chance(0.15) {
            format!("{code}-{}-{:03}", rng.pick(&COLORS), i + 1)
        } else {
            format!("SKU-{:05}", i + 1)
        };
        let name = format!("{adj} {noun}");
        let service = i % 97 == 9;
        let deprecated = i % 53 == 11;
        let no_supplier = i % 61 == 13;
        let missing_lead = i % 67 == 19;
        let cost_cents =
            ((800f64.ln() + 0.8 * rng.normal()).exp().round() as i64).clamp(50, 50_000);
        let price_cents = ((cost_cents as f64) * rng.uniform(1.8, 3.0)).round() as i64;
        let carton = if !service && rng.chance(0.3) {
            *rng.pick(&[6.0, 12.0, 24.0])
        } else {
            0.0
        };
        let (mbr, rq) = if rng.chance(0.06) {
            (rng.range(5, 50) as f64, rng.range(10, 100) as f64)
        } else {
            (0.0, 0.0)
        };
        let mut reorder_levels = Vec::new();
        if !service && rng.chance(0.15) {
            for l in 0..warehouses {
                if rng.chance(0.7) {
                    let zero = rng.chance(0.2);
                    reorder_levels.push(ReorderLevel {
                        location: l as u16,
                        minimum_before_reorder: if zero { 0.0 } else { rng.range(5, 40) as f64 },
                        reorder_quantity: if zero { 0.0 } else { rng.range(10, 120) as f64 },
                        stock_locator: format!(
                            "{}-{:02}",
                            (b'A' + (l as u8 % 26)) as char,
                            rng.range(1, 40)
                        ),
                    });
                }
            }
        }
        let mut links = Vec::new();
        if !service && !no_supplier && !active_suppliers.is_empty() {
            let count = if rng.chance(0.25) && active_suppliers.len() > 1 {
                2
            } else {
                1
            };
            let mut chosen: Vec<usize> = Vec::new();
            if i % 71 == 17
                && let Some(d) = deprecated_supplier
            {
                chosen.push(d);
            }
            while chosen.len() < count {
                let s = *rng.pick(&active_suppliers);
                if !chosen.contains(&s) {
                    chosen.push(s);
                }
            }
            for (k, &s) in chosen.iter().enumerate() {
                let cost = if k == 0 {
                    cost_cents
                } else {
                    ((cost_cents as f64) * rng.uniform(0.9, 1.2)).round() as i64
                };
                let mut options = vec![SupplierOption {
                    id: rng.guid(),
                    location: None,
                    null_name: rng.chance(0.3),
                    reorder_quantity: if rng.chance(0.3) {
                        rng.range(10, 200) as f64
                    } else {
                        0.0
                    },
                    lead: if missing_lead || rng.chance(0.08) {
                        0
                    } else {
                        rng.range(3, 60) as u32
                    },
                    safety: if rng.chance(0.3) {
                        rng.range(0, 5) as u32
                    } else {
                        0
                    },
                    minimum_to_reorder: if rng.chance(0.25) {
                        *rng.pick(&[10.0, 12.0, 20.0, 24.0, 50.0, 100.0])
                    } else {
                        0.0
                    },
                }];
                if !missing_lead {
                    for l in 0..warehouses {
                        if rng.chance(0.6) {
                            options.push(SupplierOption {
                                id: rng.guid(),
                                location: Some(l as u16),
                                null_name: false,
                                reorder_quantity: 0.0,
                                lead: if rng.chance(0.85) {
                                    rng.range(3, 60) as u32
                                } else {
                                    0
                                },
                                safety: if rng.chance(0.3) {
                                    rng.range(1, 5) as u32
                                } else {
                                    0
                                },
                                minimum_to_reorder: 0.0,
                            });
                        }
                    }
                }
                let supplier_code: String = suppliers[s].name.chars().take(3).collect();
                links.push(ProductSupplier {
                    supplier: s,
                    product_supplier_id: rng.guid(),
                    inventory_code: format!(
                        "{}-{}",
                        supplier_code.to_uppercase(),
                        rng.range(10_000, 999_999)
                    ),
                    product_name: name.clone(),
                    cost_cents: cost,
                    fixed_cost_cents: 0,
                    drop_ship: false,
                    last_supplied: Some(
                        rand_time(&mut rng, from - Duration::days(180), to).date_naive(),
                    ),
                    options,
                });
            }
        }
        out.push(Product {
            id: rng.guid(),
            sku,
            name,
            barcode: format!("0{:011}", rng.below(100_000_000_000)),
            category: code.to_string(),
            kind: if service { "Service" } else { "Stock" },
            active: !deprecated,
            minimum_before_reorder: mbr,
            reorder_quantity: rq,
            average_cost_cents: ((cost_cents as f64) * rng.uniform(0.9, 1.1)).round() as i64,
            price_cents,
            carton_quantity: carton,
            last_modified: cin7_time(rand_time(&mut rng, from, to)),
            suppliers: links,
            reorder_levels,
            mismatched: !service
                && !deprecated
                && opts.mismatch_rate > 0.0
                && (i % 89 == 21 || rng.chance(opts.mismatch_rate)),
        });
    }
    out
}

fn gen_shopify_catalog(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "shopify");
    for i in 0..w.warehouses {
        w.shop_locations.push(ShopLocation {
            num: i as u64 + 1,
            name: w.locations[i].name.clone(),
            active: true,
            cin7: i as u16,
            pos: false,
        });
    }
    w.shop_locations.push(ShopLocation {
        num: w.warehouses as u64 + 1,
        name: "Downtown Store".into(),
        active: true,
        cin7: (w.warehouses - 1) as u16,
        pos: true,
    });

    let mut product_num = 7_310_000_000u64;
    let mut variant_num = 42_800_000_000u64;
    let span_secs = (w.start - w.history_start).num_seconds().max(86_400) as f64;
    let warehouses = w.warehouses;
    let mut push = |w: &mut World,
                    rng: &mut Rng,
                    sku: Option<String>,
                    title: String,
                    status: &'static str,
                    product: Option<u32>,
                    price: i64,
                    gift: bool,
                    weight: Option<f64>| {
        product_num += 1 + rng.below(40);
        variant_num += 1 + rng.below(90);
        w.variants.push(Variant {
            num: variant_num,
            sku,
            title: if gift {
                "$50".into()
            } else {
                "Default Title".into()
            },
            product_num,
            product_title: title,
            product_status: status,
            product,
            price_cents: price,
            gift_card: gift,
        });
        let v = (w.variants.len() - 1) as u32;
        if gift {
            w.gift_variants.push(v);
        }
        if let Some(base) = weight {
            let trend = rng.uniform(-0.6, 0.9);
            let loc_factor = (0..warehouses).map(|_| rng.uniform(0.5, 1.5)).collect();
            let until = match product {
                Some(p) if !w.products[p as usize].active => Some(
                    w.history_start + Duration::seconds((span_secs * rng.uniform(0.3, 0.7)) as i64),
                ),
                _ => None,
            };
            w.sellables.push(Sellable {
                variant: v,
                product,
                base,
                trend,
                loc_factor,
                until,
            });
        }
    };

    let mut duplicate_done = false;
    for p in 0..w.products.len() {
        if p % 43 == 23 {
            continue; // wholesale-only: in Cin7, never sold on Shopify
        }
        let prod = w.products[p].clone();
        let sku = if prod.mismatched {
            mangle(&prod.sku, rng.below(3))
        } else {
            prod.sku.clone()
        };
        let mut base = (1.1 * rng.normal()).exp();
        if rng.chance(0.12) {
            base *= 0.05;
        }
        if prod.kind == "Service" {
            base *= 0.2;
        }
        let status = if prod.active { "ACTIVE" } else { "ARCHIVED" };
        push(
            w,
            &mut rng,
            Some(sku.clone()),
            prod.name.clone(),
            status,
            Some(p as u32),
            prod.price_cents,
            false,
            Some(base),
        );
        if !duplicate_done && prod.active && prod.kind == "Stock" && !prod.mismatched {
            duplicate_done = true;
            push(
                w,
                &mut rng,
                Some(sku),
                format!("{} (Bundle listing)", prod.name),
                "ACTIVE",
                Some(p as u32),
                prod.price_cents,
                false,
                Some(base * 0.3),
            );
        }
    }
    // Shopify-only items: not in Cin7 at all, some with blank SKUs.
    let extras: [(Option<&str>, &str); 6] = [
        (Some("BUNDLE-STARTER"), "Starter Bundle"),
        (Some("SAMPLE-KIT"), "Sample Kit"),
        (Some("PROMO-TOTE-2024"), "Promo Tote"),
        (Some("SHIP-PROTECT"), "Shipping Protection"),
        (Some(""), "Sticker Pack"),
        (None, "Limited Print"),
    ];
    for (sku, title) in extras {
        let price = rng.range(300, 4000);
        push(
            w,
            &mut rng,
            sku.map(str::to_string),
            title.to_string(),
            "ACTIVE",
            None,
            price,
            false,
            Some(0.25),
        );
    }
    push(
        w,
        &mut rng,
        Some("GIFT-CARD".into()),
        "Gift Card".into(),
        "ACTIVE",
        None,
        5000,
        true,
        None,
    );
    push(
        w,
        &mut rng,
        None,
        "e-Gift Card".into(),
        "ACTIVE",
        None,
        2500,
        true,
        None,
    );
}

fn gen_stockouts(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "stockouts");
    let first = day_key(w.history_start);
    let today = day_key(w.start);
    let days = i64::from(w.opts.days);
    for p in 0..w.products.len() {
        let prod = &w.products[p];
        if !prod.active || prod.kind != "Stock" {
            continue;
        }
        for l in 0..w.warehouses {
            let mut periods = Vec::new();
            if days > 16 && rng.chance(0.05) {
                let s = first + rng.range(0, days - 16) as i32;
                periods.push((s, s + rng.range(3, 14) as i32));
            }
            if rng.chance(0.025) {
                periods.push((today - rng.range(2, 10) as i32, today + 1));
            }
            if !periods.is_empty() {
                w.stockouts.insert((p as u32, l as u16), periods);
            }
        }
    }
}

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
}

fn weights_for(w: &World, t: DateTime<Utc>) -> Weights {
    let span = (w.start - w.history_start).num_seconds().max(86_400) as f64;
    let x = (t - w.history_start).num_seconds() as f64 / span;
    let cum = (0..w.warehouses)
        .map(|l| {
            let mut acc = 0.0;
            w.sellables
                .iter()
                .map(|s| {
                    let alive = s.until.is_none_or(|u| t < u);
                    if alive {
                        let trend = (1.0 + s.trend * (x - 0.5)).clamp(0.15, 3.0);
                        acc += s.base * trend * s.loc_factor[l];
                    }
                    acc
                })
                .collect()
        })
        .collect();
    Weights {
        day: day_key(t),
        cum,
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
    let span = (w.start - w.history_start).num_seconds().max(86_400) as f64;
    let hourly_mean = HOURLY.iter().sum::<f64>() / 24.0;
    let mut weights = weights_for(w, from);
    let mut h = from;
    while h < to {
        let end = (h + Duration::hours(1)).min(to);
        let frac = (end - h).num_seconds() as f64 / 3600.0;
        if day_key(h) != weights.day {
            weights = weights_for(w, h);
        }
        let x = (h - w.history_start).num_seconds() as f64 / span;
        let global = (1.0 + 0.1 * (x - 0.5)).clamp(0.5, 2.0);
        let lambda = f64::from(w.opts.orders_per_day) / 24.0 * HOURLY[h.hour() as usize]
            / hourly_mean
            * WEEKLY[h.weekday().num_days_from_monday() as usize]
            * global
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
    let mut updated = later(rng, 0, 36 * 3600);
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

fn gen_stock(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "stock");
    let today = day_key(w.start);
    let window = i64::from(w.opts.days.clamp(1, 28)) as i32;
    let mut rate: HashMap<(u32, u16), f64> = HashMap::new();
    for (&(p, l, d), &v) in &w.demand {
        if d >= today - window && d < today {
            *rate.entry((p, l)).or_insert(0.0) += v / f64::from(window);
        }
    }
    let mut bin_counter = 0u32;
    for p in 0..w.products.len() {
        let prod = &w.products[p];
        if !prod.active || prod.kind != "Stock" {
            continue;
        }
        let cost = prod.average_cost_cents;
        let _ = cost;
        for l in 0..w.locations.len() {
            let kind = w.locations[l].kind;
            let (on_hand, allocated) = match kind {
                LocKind::Returns => {
                    if rng.chance(0.05) {
                        (rng.range(1, 4) as f64, 0.0)
                    } else {
                        continue;
                    }
                }
                LocKind::Deprecated => {
                    if rng.chance(0.02) {
                        (rng.range(1, 10) as f64, 0.0)
                    } else {
                        continue;
                    }
                }
                LocKind::Warehouse => {
                    let r = rate.get(&(p as u32, l as u16)).copied().unwrap_or(0.0);
                    let out_now = w.is_stocked_out(p as u32, l as u16, today);
                    if out_now {
                        match rng.below(3) {
                            0 => (0.0, 0.0),
                            1 => (0.0, rng.range(1, 3) as f64),
                            _ => (-(rng.range(1, 2) as f64), 0.0),
                        }
                    } else if rng.chance(0.01) {
                        let oh = rng.range(0, 3) as f64;
                        (oh, oh + rng.range(1, 5) as f64)
                    } else {
                        let base = if r > 0.0 {
                            (r * rng.uniform(2.0, 90.0)).round()
                        } else if rng.chance(0.5) {
                            0.0
                        } else {
                            rng.range(1, 40) as f64
                        };
                        let alloc = if base > 0.0 && rng.chance(0.3) {
                            rng.range(1, 5) as f64
                        } else {
                            0.0
                        };
                        (base + alloc, alloc)
                    }
                }
            };
            let in_transit = if kind == LocKind::Warehouse && rng.chance(0.03) {
                rng.range(5, 50) as f64
            } else {
                0.0
            };
            let split = if kind == LocKind::Warehouse && on_hand >= 4.0 && rng.chance(0.08) {
                rng.range(2, 3) as usize
            } else {
                1
            };
            let batches = split > 1 && rng.chance(0.4);
            let mut left = on_hand;
            for k in 0..split {
                let part = if k + 1 == split {
                    left
                } else {
                    (left * rng.uniform(0.3, 0.7)).floor()
                };
                left -= part;
                bin_counter += 1;
                let (bin, batch, expiry) = if split == 1 {
                    (
                        if kind == LocKind::Returns {
                            Some("RETURNS".to_string())
                        } else {
                            None
                        },
                        None,
                        None,
                    )
                } else if batches {
                    (
                        None,
                        Some(format!("LOT-{:04}", 2400 + bin_counter % 600)),
                        Some((w.start + Duration::days(rng.range(60, 720))).date_naive()),
                    )
                } else {
                    (
                        Some(format!(
                            "{}-{:02}-{:02}",
                            (b'A' + (k as u8)) as char,
                            rng.range(1, 30),
                            rng.range(1, 9)
                        )),
                        None,
                        None,
                    )
                };
                w.stock.push(StockRow {
                    product: p as u32,
                    location: l as u16,
                    bin,
                    batch,
                    expiry,
                    on_hand: part,
                    allocated: if k == 0 { allocated } else { 0.0 },
                    in_transit: if k == 0 { in_transit } else { 0.0 },
                });
            }
        }
    }
    w.rebuild_stock_index();
}

fn purchase_lines(
    w: &World,
    rng: &mut Rng,
    products: &[u32],
    location: u16,
    with_tax: bool,
) -> Vec<PurchaseLine> {
    let count = rng.range(2, 6).min(products.len() as i64).max(1) as usize;
    let mut chosen: Vec<u32> = Vec::new();
    while chosen.len() < count {
        let p = *rng.pick(products);
        if !chosen.contains(&p) {
            chosen.push(p);
        }
    }
    chosen
        .into_iter()
        .map(|p| {
            let prod = &w.products[p as usize];
            let link = &prod.suppliers[0];
            let window = f64::from(w.opts.days.clamp(1, 28));
            let today = day_key(w.start);
            let rate: f64 = (1..=window as i32)
                .map(|d| {
                    w.demand
                        .get(&(p, location, today - d))
                        .copied()
                        .unwrap_or(0.0)
                })
                .sum::<f64>()
                / window;
            let mut qty = (rate * rng.uniform(14.0, 45.0))
                .round()
                .max(rng.range(5, 30) as f64);
            if prod.carton_quantity > 0.0 {
                qty = (qty / prod.carton_quantity).ceil() * prod.carton_quantity;
            }
            let price = link.cost_cents as f64 / 100.0;
            let discount = if rng.chance(0.1) { 5.0 } else { 0.0 };
            let net = round2(qty * price * (1.0 - discount / 100.0));
            let tax = if with_tax { round2(net * 0.1) } else { 0.0 };
            PurchaseLine {
                product: p,
                sku: prod.sku.clone(),
                name: prod.name.clone(),
                quantity: qty,
                price,
                discount,
                tax,
                tax_rule: if with_tax {
                    "Tax on Purchases".into()
                } else {
                    "Tax Exempt".into()
                },
                supplier_sku: link.inventory_code.clone(),
                comment: String::new(),
                total: round2(net + tax),
            }
        })
        .collect()
}

fn gen_purchases(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "purchases");
    let start = w.start.naive_utc();
    let days = i64::from(w.opts.days.max(1));
    let notes = [
        "Spring restock",
        "Per call with rep — confirm ship date",
        "Top-up before promo",
        "",
        "Reorder from last month",
    ];
    let mut drafts: Vec<Purchase> = Vec::new();
    for s in 0..w.suppliers.len() {
        if !w.suppliers[s].active {
            continue;
        }
        for l in 0..w.warehouses {
            let products: Vec<u32> = (0..w.products.len() as u32)
                .filter(|&p| {
                    let pr = &w.products[p as usize];
                    pr.active
                        && pr.kind == "Stock"
                        && pr.suppliers.first().is_some_and(|x| x.supplier == s)
                })
                .collect();
            if products.is_empty() {
                continue;
            }
            let mut kinds = Vec::new();
            if rng.chance(0.6) {
                kinds.push("RECEIVED");
            }
            if rng.chance(0.5) {
                kinds.push("ORDERED");
            }
            if rng.chance(0.3) {
                kinds.push("ORDERING");
            }
            if rng.chance(0.1) {
                kinds.push("VOIDED");
            }
            for kind in kinds {
                let (order_date, required_by) = match kind {
                    "RECEIVED" => {
                        let od = start - Duration::days(rng.range(20, days + 30));
                        (od, od + Duration::days(rng.range(5, 30)))
                    }
                    "ORDERED" => (
                        start - Duration::days(rng.range(1, 20)),
                        start + Duration::days(rng.range(-3, 30)),
                    ),
                    _ => (
                        start - Duration::days(rng.range(0, 10)),
                        start + Duration::days(rng.range(7, 40)),
                    ),
                };
                let with_tax = rng.chance(0.3);
                let lines = purchase_lines(w, &mut rng, &products, l as u16, with_tax);
                let note = notes[rng.below(notes.len() as u64) as usize].to_string();
                drafts.push(make_purchase(
                    w,
                    &mut rng,
                    s,
                    l as u16,
                    kind,
                    order_date,
                    required_by,
                    lines,
                    note,
                    start,
                ));
            }
        }
    }
    // Guarantee one of each open kind, a header-only draft and a tool-tagged draft.
    let first = (0..w.products.len() as u32).find(|&p| {
        let pr = &w.products[p as usize];
        pr.active
            && pr.kind == "Stock"
            && pr
                .suppliers
                .first()
                .is_some_and(|x| w.suppliers[x.supplier].active)
    });
    if let Some(p) = first {
        let s = w.products[p as usize].suppliers[0].supplier;
        let od = start - Duration::days(2);
        let rb = start + Duration::days(14);
        for kind in ["ORDERED", "ORDERING"] {
            if !drafts.iter().any(|d| d.status == kind) {
                let lines = purchase_lines(w, &mut rng, &[p], 0, false);
                drafts.push(make_purchase(
                    w,
                    &mut rng,
                    s,
                    0,
                    kind,
                    od,
                    rb,
                    lines,
                    "Placed by phone".into(),
                    start,
                ));
            }
        }
        drafts.push(make_purchase(
            w,
            &mut rng,
            s,
            0,
            "DRAFT",
            od,
            rb,
            Vec::new(),
            "Started, not finished".into(),
            start,
        ));
        let lines = purchase_lines(w, &mut rng, &[p], 0, false);
        drafts.push(make_purchase(
            w,
            &mut rng,
            s,
            0,
            "ORDERING",
            od,
            rb,
            lines,
            "replenish: plan 0000 (copied by hand from another account)".into(),
            start,
        ));
    }
    drafts.sort_by(|a, b| a.order_date.cmp(&b.order_date).then(a.id.cmp(&b.id)));
    for mut d in drafts {
        d.order_number = format!("PO-{:05}", w.next_po);
        w.next_po += 1;
        w.purchases.push(d);
    }
}

#[allow(clippy::too_many_arguments)]
fn make_purchase(
    w: &World,
    rng: &mut Rng,
    supplier: usize,
    location: u16,
    kind: &str,
    order_date: NaiveDateTime,
    required_by: NaiveDateTime,
    lines: Vec<PurchaseLine>,
    note: String,
    now: NaiveDateTime,
) -> Purchase {
    let (order_status, received) = match kind {
        "DRAFT" => ("NOT AVAILABLE", "NOT AVAILABLE"),
        "ORDERING" => ("DRAFT", "NOT AVAILABLE"),
        "ORDERED" => ("AUTHORISED", "NOT AVAILABLE"),
        "RECEIVED" => ("AUTHORISED", "AUTHORISED"),
        _ => ("VOIDED", "NOT AVAILABLE"),
    };
    let sup = &w.suppliers[supplier];
    let updated = (order_date + Duration::hours(rng.range(1, 72))).min(now);
    Purchase {
        id: rng.guid(),
        order_number: String::new(),
        supplier,
        location,
        approach: if rng.chance(0.8) { "INVOICE" } else { "STOCK" }.into(),
        status: kind.into(),
        order_status: order_status.into(),
        stock_received_status: received.into(),
        invoice_status: "NOT AVAILABLE".into(),
        required_by: Some(
            required_by
                .date()
                .and_hms_opt(0, 0, 0)
                .unwrap_or(required_by),
        ),
        order_date: order_date.date().and_hms_opt(0, 0, 0).unwrap_or(order_date),
        note,
        terms: sup.payment_term.clone(),
        tax_rule: sup.tax_rule.clone(),
        currency_rate: 1.0,
        memo: String::new(),
        combine_additional_charges: false,
        last_updated: updated,
        lines,
    }
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
