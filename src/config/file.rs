//! The shape of `replenish.toml`, declared once as serde types: which tables and keys exist and
//! what type each value has. `deny_unknown_fields` makes every key not declared here an error,
//! so a typo never falls back to a default.
//!
//! Every key is optional here (a missing key takes its default in `validate`, which also does
//! every range and cross-field check); values keep their span (`Spanned`) so those checks can
//! name the line. The leaf types ([`Str`], [`Int`], [`Num`], …) only check the TOML type, with
//! the messages the docs promise ("expected an integer", …).
//!
//! [`read`] runs the deserializer over (a copy of) the kept document (`Source`) and turns its
//! errors into `file:line: dotted.key: reason`: the dotted key from the path
//! `serde_path_to_error` recorded; the line from the error's span (toml sets it: the key's for
//! an unknown key, the value's for a wrong type) or, for an error inside an array, from the
//! document at that path.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::source::{Source, Step, dotted};

/// The message for a key the file should not have.
pub(crate) const UNKNOWN_KEY: &str = "unknown key";
/// The message for a value that should be a table.
const NOT_A_TABLE: &str = "expected a table";
/// The message for a `[suppliers]` entry that is not a table.
const NOT_A_SUPPLIER_TABLE: &str =
    "expected a table of supplier overrides, e.g. [suppliers.\"Acme Ltd\"]";

/// A value the file may leave out, with where it is when present.
pub(crate) type Opt<T> = Option<Spanned<T>>;

// ---------------------------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------------------------

/// The whole file: one field per table (docs/config.md; additions are marked in their docs).
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ConfigFile {
    pub shopify: Table<ShopifyFile>,
    pub cin7: Table<Cin7File>,
    /// An addition to the fixed keys.
    pub http: Table<HttpFile>,
    pub store: Table<StoreFile>,
    pub policy: Table<PolicyFile>,
    pub locations: Table<LocationsFile>,
    pub skus: SkusFile,
    /// `[suppliers."<Cin7 supplier name>"]`, in file order.
    pub suppliers: Entries<SupplierTable>,
    pub alerts: Table<AlertsFile>,
    pub listen: Table<ListenFile>,
    /// An addition to the fixed keys.
    pub reconcile: Table<ReconcileFile>,
}

/// `[shopify]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShopifyFile {
    pub shop: Opt<Str>,
    pub api_version: Opt<Str>,
    pub base_url: Opt<Str>,
    pub access_token: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    pub webhook_secret_old: Option<Secret>,
    pub orders_page_size: Opt<Int>,
    pub line_items_page_size: Opt<Int>,
    pub watermark_overlap_secs: Opt<Int>,
    pub bulk_poll_ms: Opt<Int>,
    pub bulk_stall_ms: Opt<Int>,
}

/// `[cin7]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cin7File {
    pub base_url: Opt<Str>,
    pub requests_per_minute: Opt<Int>,
    pub page_size: Opt<Int>,
    pub purchase_approach: Opt<Str>,
    pub account_id: Option<Secret>,
    pub application_key: Option<Secret>,
}

/// `[http]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpFile {
    pub timeout_secs: Opt<Int>,
    pub max_retries: Opt<Int>,
    pub retry_initial_ms: Opt<Int>,
    pub retry_max_ms: Opt<Int>,
}

/// `[store]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreFile {
    pub path: Opt<Str>,
}

/// `[policy]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    pub timezone: Opt<Str>,
    pub velocity_window_days: Opt<Int>,
    pub cover_days: Opt<Num>,
    pub service_level: Opt<Num>,
    pub default_lead_time_days: Opt<Int>,
    pub stockout_adjust: Option<Flag>,
    pub min_in_stock_days: Opt<Int>,
    pub use_cin7_reorder_levels: Option<Flag>,
    pub below_minimum: Opt<Str>,
    pub max_data_age_minutes: Opt<Int>,
    pub snapshot_retention_days: Opt<Int>,
    pub method: Opt<Str>,
    pub history_days: Opt<Int>,
    pub demand_models: Opt<Strings>,
    pub target_fill_rate: Opt<Num>,
    pub carrying_rate: Opt<Num>,
    pub order_cost_po: Opt<Num>,
    pub order_cost_line: Opt<Num>,
}

/// `[locations]`, with its two sub-tables.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocationsFile {
    pub default: Opt<Str>,
    pub ignore: Opt<Strings>,
    /// `[locations.shopify]`: Shopify location id → Cin7 location name, in file order.
    #[serde(default)]
    pub shopify: Entries<Spanned<LocationName>>,
    /// `[locations.pools]`: key location → member locations, in file order.
    #[serde(default)]
    pub pools: Entries<LocationList>,
}

/// `[skus]`: `mapping_file`, and one table per SKU with overrides (in file order). Not derived:
/// a key here is either `mapping_file` or a SKU, so anything but a table under another name is
/// a misspelt key.
#[derive(Default)]
pub(crate) struct SkusFile {
    pub mapping_file: Opt<Str>,
    pub overrides: Vec<(String, SkuFile)>,
}

/// The keys of `[skus]` that are not SKUs.
const SKUS_KEYS: &[&str] = &["mapping_file"];

/// `[skus."<SKU>"]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SkuFile {
    pub supplier: Opt<Str>,
    pub moq: Opt<Num>,
    pub pack: Opt<Num>,
}

/// `[suppliers."<name>"]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SupplierFile {
    pub lead_time_days: Opt<Num>,
    pub moq: Opt<Num>,
    pub min_order_value: Opt<Amount>,
    /// An addition to the fixed keys.
    pub currency_rate: Opt<Num>,
}

/// `[alerts]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertsFile {
    pub slack_webhook_url: Option<Secret>,
    pub email_to: Opt<Strings>,
    pub email_from: Opt<Str>,
    pub smtp_host: Opt<Str>,
    pub smtp_port: Opt<Int>,
    pub smtp_username: Opt<Str>,
    pub smtp_password: Option<Secret>,
    pub smtp_tls: Opt<Str>,
    pub repeat_after_hours: Opt<Int>,
}

/// `[listen]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListenFile {
    pub bind: Opt<Str>,
    pub debounce_ms: Opt<Int>,
    pub header_timeout_ms: Opt<Int>,
    pub body_timeout_ms: Opt<Int>,
    pub idle_timeout_ms: Opt<Int>,
    pub max_connections: Opt<Int>,
    pub max_buffered_mib: Opt<Int>,
}

/// `[reconcile]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReconcileFile {
    pub stale_draft_days: Opt<Int>,
    pub velocity_jump_sigma: Opt<Num>,
}

/// True when `key` of the table at `parents` is a name the user chose (a SKU, a supplier, a
/// Shopify location id, a pool's key location) rather than a key this file declares: such names
/// are always shown quoted.
pub(crate) fn is_named(parents: &[&str], key: &str) -> bool {
    match parents {
        ["skus"] => !SKUS_KEYS.contains(&key),
        ["suppliers"] | ["locations", "shopify"] | ["locations", "pools"] => true,
        _ => false,
    }
}

/// What a value that should be the table at `path` is told when it is a date-time (which reaches
/// the table's type as a map holding toml's private key, and fails there as an unknown key).
fn not_a_table(path: &[&str]) -> &'static str {
    match path {
        ["skus", _] => UNKNOWN_KEY,
        ["suppliers", _] => NOT_A_SUPPLIER_TABLE,
        _ => NOT_A_TABLE,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Deserializes the document into the file's shape; an unknown key or a value of the wrong
/// type is `file:line: dotted.key: reason`.
pub(crate) fn read(src: &Source<'_>) -> Result<ConfigFile, ConfigError> {
    let mut doc = src.doc.clone();
    pin_oversized(doc.get_mut());
    let de = toml::de::Deserializer::from(doc);
    serde_path_to_error::deserialize(de).map_err(|e| shape_error(src, &e))
}

/// The text of `i128::MAX`, the largest integer toml hands over as such.
const LARGEST_INT: &str = "170141183460469231731687303715884105727";

/// toml refuses to hand over an integer beyond i128/u128 or a float beyond f64 (its own error,
/// before any type sees the value). Such numbers are pinned here, in place, to the largest it
/// does hand over (`i128::MAX`, `inf`), so every type sees a value and says what is wrong with
/// it as it would of any number too large (`must be at most …`, `must be a finite number`,
/// `expected a string`, …). Recovering from toml's error instead would not do:
/// `serde_path_to_error` keeps the path of the first error it sees, recovered or not.
fn pin_oversized(table: &mut DeTable<'_>) {
    for (_, value) in table.iter_mut() {
        pin_value(value);
    }
}

fn pin_value(value: &mut Spanned<DeValue<'_>>) {
    let pinned = match value.get_ref() {
        DeValue::Integer(i)
            if i128::from_str_radix(i.as_str(), i.radix()).is_err()
                && u128::from_str_radix(i.as_str(), i.radix()).is_err() =>
        {
            Some(LARGEST_INT)
        }
        DeValue::Float(f)
            if !f.as_str().contains("inf")
                && f.as_str().parse::<f64>().is_ok_and(f64::is_infinite) =>
        {
            Some("inf")
        }
        _ => None,
    };
    if let Some(text) = pinned {
        if let Ok(number) = DeValue::parse(text) {
            *value.get_mut() = number.into_inner();
        }
        return;
    }
    match value.get_mut() {
        DeValue::Table(t) => pin_oversized(t),
        DeValue::Array(items) => items.iter_mut().for_each(pin_value),
        _ => {}
    }
}

/// The private keys toml and serde_spanned use to carry date-times and spans through serde.
fn is_private(key: &str) -> bool {
    key.starts_with("$__serde_spanned_private") || key.starts_with("$__toml_private")
}

fn shape_error(src: &Source<'_>, e: &serde_path_to_error::Error<toml::de::Error>) -> ConfigError {
    use serde_path_to_error::Segment;
    let steps: Vec<Step> = e
        .path()
        .iter()
        .filter_map(|seg| match seg {
            Segment::Map { key } if !is_private(key) => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        })
        .collect();
    let keys: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            Step::Index(_) => None,
        })
        .collect();
    let inner = e.inner();
    let raw = inner.message();
    let message = match unknown_field(raw) {
        // A date-time where a table belongs reaches the table's type as a map with toml's
        // private key in it.
        Some(field) if is_private(field) => not_a_table(&keys),
        Some(_) => UNKNOWN_KEY,
        None => raw,
    };
    // Inside an array the deserializer's span is the whole array's: the item is found in the
    // document instead.
    let offset = if matches!(steps.last(), Some(Step::Index(_))) {
        src.offset_of(&steps)
    } else {
        inner.span().map(|s| s.start)
    }
    .unwrap_or_else(|| src.table_offset(&keys));
    src.invalid(offset, dotted(&keys, message == UNKNOWN_KEY), message)
}

/// The field named by serde's "unknown field `x`, expected …" (the text `deny_unknown_fields`
/// produces), if that is what `message` is.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.rfind("`, ")?;
    rest.get(..end)
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/// A table of declared keys (`T`); anything else there is "expected a table".
#[derive(Default)]
pub(crate) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        table(d, NOT_A_TABLE).map(Table)
    }
}

/// A `[suppliers."<name>"]` table.
pub(crate) struct SupplierTable(pub SupplierFile);

impl<'de> Deserialize<'de> for SupplierTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        table(d, NOT_A_SUPPLIER_TABLE).map(SupplierTable)
    }
}

/// A table whose keys are names the user chose, each with a `V`, in file order.
pub(crate) struct Entries<V>(pub Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

/// A visitor's scalar visits (boolean, integer, float, string) all fail with `self.wrong()`.
macro_rules! reject_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(self.wrong()))
        }
    };
}

/// What a visitor says of a value of the wrong type.
trait Wrong {
    fn wrong(&self) -> &'static str;
}

/// `T` from a table; anything else is `wrong`.
fn table<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    wrong: &'static str,
) -> Result<T, D::Error> {
    struct V<T>(&'static str, PhantomData<T>);
    impl<T> Wrong for V<T> {
        fn wrong(&self) -> &'static str {
            self.0
        }
    }
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a table")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
            Err(de::Error::custom(self.0))
        }
        reject_scalars!();
    }
    d.deserialize_any(V(wrong, PhantomData))
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<V> Wrong for Vis<V> {
            fn wrong(&self) -> &'static str {
                NOT_A_TABLE
            }
        }
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if is_private(&key) {
                        return Err(de::Error::custom(NOT_A_TABLE));
                    }
                    out.push((key, map.next_value::<V>()?));
                }
                Ok(Entries(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(de::Error::custom(NOT_A_TABLE))
            }
            reject_scalars!();
        }
        d.deserialize_any(Vis(PhantomData))
    }
}

impl<'de> Deserialize<'de> for SkusFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A SKU's table; anything else under a name other than `mapping_file` is a misspelt key.
        struct SkuTable(SkuFile);
        impl<'de> Deserialize<'de> for SkuTable {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                table(d, UNKNOWN_KEY).map(SkuTable)
            }
        }
        struct Vis;
        impl Wrong for Vis {
            fn wrong(&self) -> &'static str {
                NOT_A_TABLE
            }
        }
        impl<'de> Visitor<'de> for Vis {
            type Value = SkusFile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SkusFile, A::Error> {
                let mut out = SkusFile::default();
                while let Some(key) = map.next_key::<String>()? {
                    if is_private(&key) {
                        return Err(de::Error::custom(NOT_A_TABLE));
                    }
                    if key == SKUS_KEYS[0] {
                        out.mapping_file = Some(map.next_value()?);
                    } else {
                        let SkuTable(sku) = map.next_value()?;
                        out.overrides.push((key, sku));
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<SkusFile, A::Error> {
                Err(de::Error::custom(NOT_A_TABLE))
            }
            reject_scalars!();
        }
        // As a struct, so the key list below can read SKUS_KEYS like a derived table's.
        d.deserialize_struct("SkusFile", SKUS_KEYS, Vis)
    }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// One TOML value as the deserializer hands it over, before its type is checked.
enum Raw {
    Str(String),
    /// An integer (one beyond i128 is `i128::MAX`, which no range admits: see
    /// [`pin_oversized`]).
    Int(i128),
    Float(f64),
    Bool(bool),
    /// An array, a table or a date-time.
    Other,
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
                Ok(Raw::Int(v.into()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
                Ok(Raw::Int(i128::try_from(v).unwrap_or(i128::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Raw::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Raw::Other)
            }
        }
        d.deserialize_any(Vis)
    }
}

/// Declares a leaf type: its `Deserialize` reads a [`Raw`] and keeps what `$take` makes of it,
/// or fails with `$take`'s message.
macro_rules! leaf {
    ($(#[$doc:meta])* $name:ident($inner:ty), $take:expr) => {
        $(#[$doc])*
        pub(crate) struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let take: fn(Raw) -> Result<$inner, &'static str> = $take;
                take(Raw::deserialize(d)?).map($name).map_err(de::Error::custom)
            }
        }
    };
}

leaf!(
    /// A string.
    Str(String),
    |raw| match raw {
        Raw::Str(s) => Ok(s),
        _ => Err("expected a string"),
    }
);

leaf!(
    /// A secret string: a `SecretString` from the moment it is read.
    Secret(SecretString),
    |raw| match raw {
        Raw::Str(s) => Ok(SecretString::from(s)),
        _ => Err("expected a string"),
    }
);

leaf!(
    /// `true` or `false`.
    Flag(bool),
    |raw| match raw {
        Raw::Bool(b) => Ok(b),
        _ => Err("expected true or false"),
    }
);

leaf!(
    /// A whole number, kept wide so the range check can name the bound it breaks.
    Int(i128),
    |raw| match raw {
        Raw::Int(i) => Ok(i),
        _ => Err("expected an integer"),
    }
);

leaf!(
    /// A number, integer or float. An integer beyond i64 is taken as infinite, so the
    /// finiteness check refuses it; NaN and infinities pass through to that check too.
    Num(f64),
    |raw| match raw {
        Raw::Int(i) => Ok(i64::try_from(i).map_or(f64::INFINITY, |i| i as f64)),
        Raw::Float(f) => Ok(f),
        _ => Err("expected a number"),
    }
);

leaf!(
    /// An exact decimal amount: a TOML integer, float or string ("500.50"). A float is taken
    /// in its shortest round-trip form, so 500.1 is exactly 500.1.
    Amount(Decimal),
    |raw| {
        const BAD: &str = "expected an amount, e.g. 500, 500.5 or \"500.50\"";
        match raw {
            Raw::Int(i) => i64::try_from(i).map(Decimal::from).map_err(|_| BAD),
            Raw::Float(f) if !f.is_finite() => Err("must be a finite number"),
            Raw::Float(f) => Decimal::from_str(&format!("{f}")).map_err(|_| BAD),
            Raw::Str(s) => Decimal::from_str_exact(s.trim()).map_err(|_| BAD),
            _ => Err(BAD),
        }
    }
);

leaf!(
    /// A `[locations.shopify]` value: a Cin7 location name.
    LocationName(String),
    |raw| match raw {
        Raw::Str(s) => Ok(s),
        _ => Err("expected a string (a Cin7 location name)"),
    }
);

/// An array of strings, each with its span.
pub(crate) struct Strings(pub Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_array(d, "expected an array of strings").map(Strings)
    }
}

/// A `[locations.pools]` value: an array of Cin7 location names.
pub(crate) struct LocationList(pub Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for LocationList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_array(d, "expected an array of Cin7 location names").map(LocationList)
    }
}

/// An array whose items are strings; anything else (or an item of another type) is `wrong`.
fn string_array<'de, D: Deserializer<'de>>(
    d: D,
    wrong: &'static str,
) -> Result<Vec<Spanned<String>>, D::Error> {
    struct Item(&'static str);
    impl<'de> de::DeserializeSeed<'de> for Item {
        type Value = Spanned<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            let raw = Spanned::<Raw>::deserialize(d)?;
            let span = raw.span();
            match raw.into_inner() {
                Raw::Str(s) => Ok(Spanned::new(span, s)),
                _ => Err(de::Error::custom(self.0)),
            }
        }
    }
    struct Vis(&'static str);
    impl Wrong for Vis {
        fn wrong(&self) -> &'static str {
            self.0
        }
    }
    impl<'de> Visitor<'de> for Vis {
        type Value = Vec<Spanned<String>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element_seed(Item(self.0))? {
                out.push(item);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom(self.0))
        }
        reject_scalars!();
    }
    d.deserialize_any(Vis(wrong))
}

// ---------------------------------------------------------------------------------------------
// The key list, read from the types
// ---------------------------------------------------------------------------------------------

/// The keys a derived table declares, as serde's derive hands them to `deserialize_struct`.
#[cfg(test)]
fn fields<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a table"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("read the fields"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut out: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut out));
    out
}

/// Every table of the file and the keys it declares, read from the serde types above (so a key
/// added there is in this list). Tables named by the user appear once, as `skus."<SKU>"` and
/// `suppliers."<supplier>"`; a key that is itself a table here (`locations.shopify`) is listed
/// as that table too.
#[cfg(test)]
pub(crate) fn tables() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("", fields::<ConfigFile>()),
        ("shopify", fields::<ShopifyFile>()),
        ("cin7", fields::<Cin7File>()),
        ("http", fields::<HttpFile>()),
        ("store", fields::<StoreFile>()),
        ("policy", fields::<PolicyFile>()),
        ("locations", fields::<LocationsFile>()),
        ("locations.shopify", &[]),
        ("locations.pools", &[]),
        ("skus", fields::<SkusFile>()),
        ("skus.\"<SKU>\"", fields::<SkuFile>()),
        ("suppliers", &[]),
        ("suppliers.\"<supplier>\"", fields::<SupplierFile>()),
        ("alerts", fields::<AlertsFile>()),
        ("listen", fields::<ListenFile>()),
        ("reconcile", fields::<ReconcileFile>()),
    ]
}
