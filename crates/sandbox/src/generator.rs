//! The world generator: Cin7 locations, suppliers and products, the Shopify catalog and the
//! stockout periods, then (via `orders` and `stock`) the order history, stock and purchases.
//!
//! Everything is a pure function of the seed and the options. Each part draws from its own PRNG
//! stream, so changing one part's draws does not reshuffle the others. Every planning rule case is
//! guaranteed to appear even in small worlds: besides random draws, some cases are forced at fixed
//! positions of the product list (and, in `orders`, of the order sequence).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};

use super::SandboxOptions;
use super::orders::generate_span;
use super::rng::Rng;
use super::state::*;
use super::stock::{gen_purchases, gen_stock};

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

    let mut locations = gen_locations(opts.seed, warehouses);
    let mut suppliers = gen_suppliers(opts.seed, opts.suppliers.max(1), history_start, start);
    if opts.hostile_names {
        plant_hostile_names(&mut locations, &mut suppliers);
    }
    let mut products = gen_products(opts, &suppliers, warehouses, history_start, start);
    let formula_product = if opts.hostile_names {
        plant_hostile_skus(&mut products)
    } else {
        None
    };

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
        bulk_downloads: Vec::new(),
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
    gen_shapes(&mut w);
    if let Some(p) = formula_product {
        // Shopify spells the formula SKU in lower case: a normalized suggestion, so it lands in
        // the mapping template too.
        for v in w.variants.iter_mut().filter(|v| v.product == Some(p)) {
            v.sku = v.sku.as_deref().map(str::to_lowercase);
        }
    }
    gen_stockouts(&mut w);
    generate_span(&mut w, history_start, start, false);
    gen_stock(&mut w);
    gen_purchases(&mut w);
    w
}

/// A terminal escape that retitles the terminal (`ESC ] 0 ; … BEL`), planted by `hostile_names`.
pub const HOSTILE_TITLE: &str = "\u{1b}]0;pwned\u{7}";
/// A spreadsheet formula, planted by `hostile_names`.
pub const HOSTILE_FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";
/// The length in characters of the long SKU planted by `hostile_names`.
pub const HOSTILE_LONG_SKU_CHARS: usize = 100_000;

/// `--hostile-names`: the second warehouse's name carries [`HOSTILE_TITLE`], the first
/// supplier's name starts with [`HOSTILE_FORMULA`] and carries [`HOSTILE_TITLE`].
fn plant_hostile_names(locations: &mut [Cin7Location], suppliers: &mut [Supplier]) {
    if let Some(l) = locations
        .iter_mut()
        .filter(|l| l.kind == LocKind::Warehouse)
        .nth(1)
    {
        l.name = format!("{} {HOSTILE_TITLE}", l.name);
    }
    if let Some(s) = suppliers.first_mut() {
        s.name = format!("{HOSTILE_FORMULA} {HOSTILE_TITLE}{}", s.name);
    }
}

/// `--hostile-names`: the first three active stock products with a supplier get a SKU and name
/// carrying [`HOSTILE_TITLE`], a SKU of [`HOSTILE_LONG_SKU_CHARS`] characters, and the SKU and
/// name [`HOSTILE_FORMULA`] (returned: its Shopify variants spell it in lower case).
fn plant_hostile_skus(products: &mut [Product]) -> Option<u32> {
    let picked: Vec<usize> = (0..products.len())
        .filter(|&i| {
            let p = &products[i];
            p.active && p.kind == "Stock" && !p.suppliers.is_empty() && !p.mismatched
        })
        .take(3)
        .collect();
    let [title, long, formula] = picked[..] else {
        return None;
    };
    let p = &mut products[title];
    p.sku = format!("{}{HOSTILE_TITLE}", p.sku);
    p.name = format!("{HOSTILE_TITLE}{}", p.name);
    let p = &mut products[long];
    let pad = HOSTILE_LONG_SKU_CHARS.saturating_sub(p.sku.chars().count() + 1);
    p.sku = format!("{}-{}", p.sku, "L".repeat(pad));
    let p = &mut products[formula];
    p.sku = HOSTILE_FORMULA.to_string();
    p.name = HOSTILE_FORMULA.to_string();
    p.mismatched = true;
    for s in &mut p.suppliers {
        s.product_name = HOSTILE_FORMULA.to_string();
    }
    u32::try_from(formula).ok()
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

pub fn rand_time(rng: &mut Rng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
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

pub fn round2(x: f64) -> f64 {
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
                        *rng.pick(&[10.0, 12.0, 20.0, 24.0, 50.0, 100.0, 7.5])
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
            // Retired draw (the old linear trend): still made, so that the ids and every later
            // draw of this stream stay as they were. Shapes come from `gen_shapes`.
            let _ = rng.uniform(-0.6, 0.9);
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
                shape: Shape::Steady,
                growth: 1.0,
                peak_day: 1,
                amplitude: 0.0,
                promotions: Vec::new(),
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
        // Retired draws (the old demand level): still made, so that the ids and every later draw
        // of this stream stay as they were. `gen_shapes` sets the level: here `base` is only the
        // product's multiplier of it.
        let _ = (rng.normal(), rng.chance(0.12));
        let base = if prod.kind == "Service" { 0.2 } else { 1.0 };
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
            Some(EXTRA_WEIGHT),
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

/// The demand shapes' shares of the products sold on Shopify; the rest are steady.
pub const SHAPE_SHARES: [(Shape, f64); 5] = [
    (Shape::Intermittent, 0.40),
    (Shape::Trending, 0.10),
    (Shape::Fading, 0.10),
    (Shape::Seasonal, 0.10),
    (Shape::Promoted, 0.06),
];
/// Intermittent products' mean demand: log-uniform in this range of units a day (before the
/// per-warehouse factors, 0.5–1.5 each).
pub const INTERMITTENT_UNITS_PER_DAY: (f64, f64) = (0.05, 0.5);
/// The other products' levels are Pareto-distributed with this index (heavy-tailed: a tenth of
/// them carry about 40 % of their volume), at least 1 and at most [`PARETO_CAP`].
pub const PARETO_ALPHA: f64 = 1.6;
pub const PARETO_CAP: f64 = 40.0;
/// Trending products grow by a factor in this range every [`TREND_DAYS`] (120: a 120-day history
/// shows it whole); fading ones fall to a share of their level in [`FADING_GROWTH`].
pub const TRENDING_GROWTH: (f64, f64) = (2.0, 3.5);
pub const FADING_GROWTH: (f64, f64) = (0.2, 0.4);
/// Seasonal amplitude (a share of the level) range.
pub const SEASONAL_AMPLITUDE: (f64, f64) = (0.5, 0.9);
/// Promotions: 1–3 windows a promoted product, each of these many days, at this uplift.
pub const PROMOTION_DAYS: (i64, i64) = (3, 10);
pub const PROMOTION_UPLIFT: (f64, f64) = (3.0, 6.0);
/// Promotion windows fall in the history or up to this many days after it (for the ticks).
pub const PROMOTION_FUTURE_DAYS: i64 = 30;
/// The weight of each Shopify-only item, in units of the smallest Pareto level.
const EXTRA_WEIGHT: f64 = 0.4;
/// True demand an order brings on average (lines × quantity × the share that counts), measured
/// on generated worlds: it turns the intermittent products' units a day into weights.
pub const UNITS_PER_ORDER: f64 = 2.0;
/// At most this share of the volume goes to intermittent products (a catalog far larger than
/// its order volume scales their rates down so the other shapes keep the bulk).
const INTERMITTENT_MAX_SHARE: f64 = 1.0 / 3.0;

/// A product's demand profile, before its level becomes a weight.
struct Profile {
    shape: Shape,
    /// The Pareto level, or for an intermittent product its units a day.
    level: f64,
    growth: f64,
    peak_day: u16,
    amplitude: f64,
    promotions: Vec<Promotion>,
}

/// Gives every sellable of a Cin7 product a demand shape and level, from its own stream: shapes by
/// quota ([`SHAPE_SHARES`], shuffled), so every shape has its share even in a small world. A
/// product's second listing (the bundle) shares its shape. Intermittent products get an absolute
/// rate (units a day, whatever the order volume), turned into a weight against the others' sum.
fn gen_shapes(w: &mut World) {
    let mut rng = Rng::stream(w.opts.seed, "shapes");
    let products: Vec<u32> = w
        .sellables
        .iter()
        .filter_map(|s| s.product)
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let n = products.len();
    let mut shapes: Vec<Shape> = Vec::with_capacity(n);
    for (shape, share) in SHAPE_SHARES {
        let k = (n as f64 * share).round() as usize;
        shapes.extend(std::iter::repeat_n(shape, k.min(n - shapes.len())));
    }
    shapes.resize(n, Shape::Steady);
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        shapes.swap(i, j);
    }

    let first = day_key(w.history_start);
    let last = day_key(w.start) + PROMOTION_FUTURE_DAYS as i32;
    let mut profiles: HashMap<u32, Profile> = HashMap::new();
    for (&p, &shape) in products.iter().zip(&shapes) {
        let u = rng.f64();
        let mut profile = Profile {
            shape,
            level: if shape == Shape::Intermittent {
                let (lo, hi) = INTERMITTENT_UNITS_PER_DAY;
                lo * (hi / lo).powf(u)
            } else {
                (1.0 - u).powf(-1.0 / PARETO_ALPHA).min(PARETO_CAP)
            },
            growth: 1.0,
            peak_day: 1,
            amplitude: 0.0,
            promotions: Vec::new(),
        };
        match shape {
            Shape::Trending => profile.growth = rng.uniform(TRENDING_GROWTH.0, TRENDING_GROWTH.1),
            Shape::Fading => profile.growth = rng.uniform(FADING_GROWTH.0, FADING_GROWTH.1),
            Shape::Seasonal => {
                profile.peak_day = rng.range(1, 365) as u16;
                profile.amplitude = rng.uniform(SEASONAL_AMPLITUDE.0, SEASONAL_AMPLITUDE.1);
            }
            Shape::Promoted => {
                for _ in 0..rng.range(1, 3) {
                    let days = rng.range(PROMOTION_DAYS.0, PROMOTION_DAYS.1) as i32;
                    let from = first + rng.range(0, i64::from((last - first - days).max(0))) as i32;
                    let uplift = rng.uniform(PROMOTION_UPLIFT.0, PROMOTION_UPLIFT.1);
                    profile.promotions.push(Promotion {
                        from,
                        to: from + days,
                        uplift,
                    });
                }
                profile.promotions.sort_by_key(|p| p.from);
            }
            Shape::Steady | Shape::Intermittent => {}
        }
        profiles.insert(p, profile);
    }

    // Levels into weights: the others' weights are their levels; an intermittent rate r becomes
    // the weight that draws r units a day out of the orders' expected volume.
    let (mut others, mut rates) = (0.0, 0.0);
    for s in &mut w.sellables {
        let Some(profile) = s.product.and_then(|p| profiles.get(&p)) else {
            // A Shopify-only item: steady at its weight.
            others += s.base;
            continue;
        };
        s.shape = profile.shape;
        s.base *= profile.level;
        s.growth = profile.growth;
        s.peak_day = profile.peak_day;
        s.amplitude = profile.amplitude;
        s.promotions.clone_from(&profile.promotions);
        if s.shape == Shape::Intermittent {
            rates += s.base;
        } else {
            others += s.base;
        }
    }
    let volume = f64::from(w.opts.orders_per_day) * UNITS_PER_ORDER;
    let scale = if rates > 0.0 {
        (volume * INTERMITTENT_MAX_SHARE / rates).min(1.0)
    } else {
        1.0
    };
    let to_weight = if volume > 0.0 {
        scale * others / (volume - scale * rates)
    } else {
        0.0
    };
    for s in w
        .sellables
        .iter_mut()
        .filter(|s| s.shape == Shape::Intermittent)
    {
        s.base *= to_weight;
    }
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
