//! Command-line interface (clap derive only): global flags and one `Args` struct per subcommand.
//! No behaviour lives here; `app::run` turns these into calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A calendar date flag (`YYYY-MM-DD`) between 1970-01-01 and 9999-12-31: every date the tool
/// works with is in that range, and the arithmetic around a date (a window before it, lead times
/// after it) stays far from chrono's limits.
pub fn date_flag(text: &str) -> Result<chrono::NaiveDate, String> {
    let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|e| format!("{text:?} is not a date like 2026-11-27: {e}"))?;
    let earliest = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    let latest = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(chrono::NaiveDate::MAX);
    if date < earliest || date > latest {
        return Err(format!(
            "{date} is outside the dates the tool works with (1970 or later, up to 9999-12-31)"
        ));
    }
    Ok(date)
}

/// Inventory replenishment for Shopify + Cin7 Core: paid-order velocity, days of cover and draft
/// purchase orders.
///
/// Reports go to stdout; logs and progress go to stderr. Exit codes: 0 done, 1 a run failed,
/// 2 bad usage or configuration, 3 done but something needs a person.
#[derive(Debug, Parser)]
#[command(name = "replenish", version, propagate_version = true)]
pub struct Cli {
    /// Config file (default: ./replenish.toml, else the platform config dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Start the clock at this instant (RFC 3339) instead of the wall clock; it then moves on
    /// with real time. Every timestamp the run writes or compares comes from it. For tests and
    /// reproductions: give the sandbox and each command the same or later instants.
    #[arg(long, global = true, env = "REPLENISH_NOW", value_name = "RFC3339")]
    pub now: Option<String>,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented replenish.toml and a .env.example naming every secret (never overwrites).
    Init(InitArgs),
    /// Check a setup before the first sync (and in monitoring): config, secrets, Cin7 and Shopify
    /// credentials, the Shopify token's access scopes, locations on both sides, store, lock,
    /// alert channels. One line per check, with the fix.
    ///
    /// Exit 0 when everything needed works (warnings allowed), 2 when the configuration, a
    /// credential or a scope must be fixed, 1 when a service cannot be reached.
    Doctor(DoctorArgs),
    /// Pull Shopify orders and Cin7 stock, catalog and purchases into the local store.
    Sync(SyncArgs),
    /// Compute the replenishment plan from the store: what to order, from whom, and why.
    Plan(PlanArgs),
    /// Sync, plan, then create or update draft purchase orders in Cin7 for a buyer to approve.
    ///
    /// Exactly once: every PO is recorded in the store's ledger before Cin7 is asked to create
    /// it, and tagged `replenish:<id>` in its Note, so a crash or a lost answer never leads to a
    /// second PO. The tool updates its own untouched drafts and never touches one a person edited.
    /// Exit code 3 when something needs a person (alerts raised, POs held).
    Draft(DraftArgs),
    /// Last runs, open tool drafts, pending alerts and the age of the data.
    Status(StatusArgs),
    /// The nightly audit: the tool's drafts vs Cin7, missed or changed orders (a full re-pull of
    /// the window, fixed in the store), and anomalies (negative stock, velocity jumps, likely
    /// wholesale orders, SKUs selling with no supplier or lead time, stale data). The findings
    /// also go out as one alert. Exit code 3 when there are findings.
    Reconcile(ReconcileArgs),
    /// Event-driven mode: serve Shopify webhooks (orders/paid, orders/updated, orders/cancelled,
    /// refunds/create) on listen.bind, and within seconds of a sale refresh the touched SKUs'
    /// stock and draft through the same exactly-once path as `draft`. Needs
    /// SHOPIFY_WEBHOOK_SECRET. Runs until Ctrl-C.
    Listen(ListenArgs),
    /// Audit the SKU mapping: every Shopify variant SKU against the Cin7 products and the
    /// mapping table (skus.mapping_file), with the units each sold in the velocity window.
    ///
    /// Classes: exact; mapped (through the mapping table); normalized (equal once case, spaces,
    /// dashes and underscores are ignored: a suggested mapping); fuzzy (a close spelling with the
    /// same numbers and a score of at least 0.85: a suggestion to check); blank (a variant
    /// without a SKU); duplicate (a SKU on two variants, or on two Cin7 products); unmatched (no
    /// Cin7 product); unsold (an active stock product that sold nothing in the window);
    /// dangling_mapping (a mapping row that points at nothing). The match rate is the share of
    /// Shopify SKUs that planning resolves: exact or mapped. Planning never applies a suggestion
    /// by itself; map it with --write-mapping.
    ///
    /// The table shows what needs a person first: unmatched, normalized, fuzzy, blank,
    /// duplicate and dangling_mapping, then unsold and mapped; the exact matches are only counted
    /// unless --all lists them (last).
    ///
    /// Cin7 products and sales come from the store (run `replenish sync` first, or add --sync);
    /// variants are fetched from Shopify. Exit code 3 when a normalized, fuzzy, unmatched or
    /// blank SKU sold in the window: its demand is missing from the plan.
    Skus(SkusArgs),
    /// Replay history day by day with the real planner and measure what the policy would have
    /// achieved, side by side with simpler policies.
    ///
    /// Each simulated day: receipts arrive, the day's demand is served from the simulated stock
    /// (lost beyond it, unless --backorder), then each policy plans from what it could have known
    /// (sales up to yesterday, stock now) and its orders arrive after their lead time. Demand is
    /// the recorded paid units; on days the store showed a unit out of stock (censored sales) it
    /// is the stockout-adjusted velocity. Policies: `configured` (this config's planner), every
    /// point of the --service-level × --cover-days grid (classic), the other method (`adaptive`,
    /// or `classic` when adaptive is configured), `naive` (flat average, no safety stock, order
    /// up to lead time + cover when cover < lead time, in MOQ and packs), `cin7-levels` (Cin7
    /// reorder levels only) and `oracle` (knows the future demand and orders just in time: the
    /// ceiling no policy can pass). The velocity window's days before --from are the warm-up
    /// every policy sees (more, up to history_days, when stored: the adaptive models use it).
    ///
    /// Each unit is judged from its lead time on: before that, nothing any policy ordered can
    /// have arrived (--include-start-up counts those days too).
    ///
    /// Reads only the store: run `replenish sync --backfill-days 90` first (beyond 60 days
    /// Shopify needs the read_all_orders scope). Stock starts from the snapshot nearest --from,
    /// else the latest one, with nothing on order.
    Backtest(BacktestArgs),
    /// Find the adaptive method's settings: backtest every candidate and recommend one.
    ///
    /// Runs the backtest (as `replenish backtest` does, reading only the store) for every
    /// combination of --target-fill-rate, --carrying-rate and --models under
    /// `policy.method = "adaptive"`, beside the configured policy, `naive` and the `oracle` (which
    /// knows the future: the ceiling). Prints each candidate's fill rate, average inventory value,
    /// POs per week and lost revenue, marks the frontier (no other candidate fills as much with
    /// less inventory) and the recommended point (the frontier's best fill at no more inventory
    /// than the configured policy; else its leanest), and the `[policy]` block to paste. One
    /// thread per core, a progress bar on a terminal.
    Tune(TuneArgs),
    /// Serve a local imitation of the Cin7 Core and Shopify Admin APIs with a generated catalog.
    ///
    /// Its history ends at the clock's instant (the wall clock, or --now); from there its clock
    /// moves only when told to (POST /sandbox/tick?hours=N), so the tool at the same or a later
    /// --now never sees a record from its own future.
    Sandbox(SandboxArgs),
    /// Start the sandbox in-process and run the tool against it: the zero-configuration tour.
    Demo(DemoArgs),
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people (the default on a terminal).
    Table,
    /// JSON for programs (the default when stdout is not a terminal).
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to write replenish.toml and .env.example into.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Backfill this many days of orders with a bulk operation, even if the store already has
    /// orders (the first sync backfills the velocity window by itself). Beyond 60 days Shopify
    /// requires the read_all_orders scope.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub backfill_days: Option<u32>,

    /// Output format of the summary (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Formats of the plan report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// One row per SKU that needs ordering, then one block per draft purchase order, fitted to
    /// the terminal's width (else COLUMNS, else 100 columns).
    Table,
    /// One row per planning line, with a header row (spreadsheet-friendly: a text cell starting
    /// with =, +, -, @, tab or CR gets a leading ').
    Csv,
    /// The exact shape documented in docs/planning.md.
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Sync from Shopify and Cin7 first (otherwise the plan reads only the store: no network).
    #[arg(long)]
    pub sync: bool,
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Show every planning unit, not only those that need ordering.
    #[arg(long)]
    pub all: bool,
    /// Only this Cin7 SKU.
    #[arg(long, value_name = "SKU")]
    pub sku: Option<String>,
    /// Only this supplier (Cin7 supplier name).
    #[arg(long, value_name = "NAME")]
    pub supplier: Option<String>,
    /// Only this key location (Cin7 location name).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
    /// Plan as of this date in the shop timezone (default: today there). The window is the
    /// velocity_window_days days before it.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_flag)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Explain every number of this SKU's plan in words, for each of its locations.
    #[arg(long, value_name = "SKU")]
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TuneArgs {
    /// First simulated day (as for `backtest`).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_flag)]
    pub from: Option<chrono::NaiveDate>,
    /// Last simulated day (as for `backtest`).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_flag)]
    pub to: Option<chrono::NaiveDate>,
    /// Target fill rates to try, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = [0.9, 0.95, 0.98, 0.99])]
    pub target_fill_rate: Vec<f64>,
    /// Yearly carrying rates to try (a share of unit cost), comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = [0.25, 0.5, 1.0])]
    pub carrying_rate: Vec<f64>,
    /// Demand model sets to try, comma-separated: `all`, `flat`, or names joined by `+`
    /// (e.g. all,flat to see what the models are worth).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = ["all".to_string()])]
    pub models: Vec<String>,
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<BacktestFormat>,
    /// Draw the frontier (fill rate vs average inventory value) with the baselines into this PNG.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// First simulated day (default: the first day of stored orders + velocity_window_days, so
    /// every policy starts with a full window of history).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_flag)]
    pub from: Option<chrono::NaiveDate>,
    /// Last simulated day (default: the day before the last sync, at most yesterday in the shop
    /// timezone).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_flag)]
    pub to: Option<chrono::NaiveDate>,
    /// Service levels for the policy grid, comma-separated (e.g. 0.9,0.95,0.99); with
    /// --cover-days every combination is a policy. Without it, the configured service_level.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub service_level: Vec<f64>,
    /// Cover days for the policy grid, comma-separated (e.g. 14,30,45). Without it, the
    /// configured cover_days.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub cover_days: Vec<f64>,
    /// Add 0 to this many days to each order's lead time, drawn at random (seeded by --seed).
    #[arg(long, default_value_t = 0, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=365))]
    pub lead_time_jitter: u32,
    /// Seed for --lead-time-jitter: the same seed gives the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Demand beyond stock waits for the next receipt instead of being lost.
    #[arg(long)]
    pub backorder: bool,
    /// Report only this Cin7 SKU (the whole catalog is still simulated, so supplier minimums
    /// and POs behave as they would). With --plot, also draws its stock over time.
    #[arg(long, value_name = "SKU")]
    pub sku: Option<String>,
    /// Report only this key location (Cin7 location name).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
    /// Also judge each unit's start-up: the days before its lead time, when no policy's order
    /// can have arrived yet and stock is the starting stock's doing (left out by default, as it
    /// is the same under every policy).
    #[arg(long)]
    pub include_start_up: bool,
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<BacktestFormat>,
    /// Draw the trade-off chart (fill rate vs average inventory value, a point per policy) into
    /// this PNG; with --sku, also that SKU's stock over time into <FILE stem>-stock.png.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BacktestFormat {
    /// One row per policy, then fill rate per supplier.
    Table,
    /// `{"from", "to", "policies": [{"name", "params", "fill_rate", …, "suppliers": [...]}]}`.
    Json,
    /// One row per policy and per (policy, supplier), with a header row.
    Csv,
}

#[derive(Debug, Args)]
pub struct DraftArgs {
    /// Show what would be created, updated, left alone or held, per PO, and write nothing: not
    /// to Cin7, not to the ledger.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation before writing to Cin7 (for cron). Without it, `draft` asks on
    /// a terminal and refuses to write when there is no terminal to ask on.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Plan from the store as it is, without syncing first.
    #[arg(long)]
    pub no_sync: bool,
    /// Seconds to wait for another `draft` (or `listen`) holding the store's writer lock before
    /// giving up with exit code 1.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub lock_timeout: u64,
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Formats of the reconcile report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A table for people (the default on a terminal).
    Table,
    /// Markdown, for email.
    Md,
    /// JSON for programs (the default when stdout is not a terminal).
    Json,
}

/// Formats of the SKU audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SkusFormat {
    /// The match rate and counts, then one table per class, what needs a person first (exact
    /// matches only with --all), fitted to the terminal's width.
    Table,
    /// One row per finding, with a header row (spreadsheet-friendly).
    Csv,
    /// `{"summary": {<class>: count, "match_rate": r}, "entries": [...]}`.
    Json,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Audit the store as it is, without syncing first.
    #[arg(long)]
    pub no_sync: bool,
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Seconds to wait for another process holding the store's writer lock.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct SkusArgs {
    /// Sync from Shopify and Cin7 first (otherwise Cin7 products and sales come from the store).
    #[arg(long)]
    pub sync: bool,
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<SkusFormat>,
    /// List the exact matches in the table too, last (without it the table only counts them;
    /// csv and json always hold every finding).
    #[arg(long)]
    pub all: bool,
    /// Also write a mapping template here: CSV `shopify_sku,cin7_sku,confidence,class,units_sold`
    /// holding the mapping table's working rows and every suggestion. Check it, delete the rows
    /// that are wrong, then point skus.mapping_file at it (the extra columns are ignored). Never
    /// overwrites a file.
    #[arg(long, value_name = "FILE")]
    pub write_mapping: Option<PathBuf>,
    /// Count sales in the velocity_window_days days before this date, in the shop timezone
    /// (default: today there).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_flag)]
    pub as_of: Option<chrono::NaiveDate>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to bind (default: listen.bind, 127.0.0.1:8080). Keep it on 127.0.0.1 behind a
    /// TLS-terminating proxy.
    #[arg(long, value_name = "HOST:PORT")]
    pub bind: Option<String>,
    /// Milliseconds to gather a burst of webhooks before acting (default: listen.debounce_ms, 500).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub debounce_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also send one test alert on every configured channel (Slack, email).
    #[arg(long)]
    pub send_test_alert: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Report format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub bind: String,
    /// Seed of the generated world (everything generated is a pure function of seed and flags).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of Cin7 products.
    #[arg(long, default_value_t = 500)]
    pub skus: usize,
    /// Number of Cin7 warehouse locations.
    #[arg(long, default_value_t = 2)]
    pub locations: usize,
    /// Number of suppliers.
    #[arg(long, default_value_t = 12)]
    pub suppliers: usize,
    /// Days of order history before now.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Average paid orders per day.
    #[arg(long, default_value_t = 200)]
    pub orders_per_day: u32,
    /// Share of Shopify SKUs that differ from Cin7's (case, spaces, unknown).
    #[arg(long, default_value_t = 0.08)]
    pub mismatch_rate: f64,
    /// Share of API requests that fail at random (503, 429, 500, slow, dropped connection).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Share of `POST purchase` requests that create the purchase and then lose the answer, on
    /// top of --fault-rate (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub lost_answer_rate: f64,
    /// Cin7 requests allowed per rolling minute (Cin7 Core's documented limit is 60).
    #[arg(long, default_value_t = 60)]
    pub cin7_rpm: u32,
    /// HTTP status of Cin7 throttling answers: 503 (with the limit in the body) or 429 (with Retry-After).
    #[arg(long, default_value_t = 503)]
    pub throttle_status: u16,
    /// Retry-After seconds sent with 429 answers.
    #[arg(long, default_value_t = 60)]
    pub retry_after_secs: u64,
    /// Deliver new orders as signed orders/paid webhooks to this URL.
    #[arg(long, requires = "webhook_secret")]
    pub webhook_url: Option<String>,
    /// Secret used to sign webhook deliveries.
    #[arg(long)]
    pub webhook_secret: Option<String>,
    /// Most rows Cin7 serves on one page, whatever `Limit` asks (Cin7's own default page is
    /// 100; its documented maximum 1000).
    #[arg(long, default_value_t = 1000)]
    pub cin7_page_cap: u32,
    /// Access scopes granted to the Shopify token, comma-separated (default: every scope the
    /// tool uses). A query touching data outside them is denied as Shopify denies it.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// Serve bulk-operation result files at this many bytes a second (default: as fast as
    /// possible), to imitate a large file's slow download.
    #[arg(long)]
    pub bulk_bytes_per_sec: Option<u64>,
    /// Cut the connection after this many bytes of each bulk-operation result file's first
    /// download (later requests, with or without a `Range`, are served whole).
    #[arg(long)]
    pub bulk_drop_after: Option<u64>,
    /// Plant hostile upstream text: a terminal escape in a SKU, a product name and a location
    /// name, a 100,000-character SKU, and a SKU, product and supplier named like a spreadsheet
    /// formula (=HYPERLINK(…)), to see that every report shows them safely.
    #[arg(long)]
    pub hostile_names: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of products in the demo catalog.
    #[arg(long, default_value_t = 200)]
    pub skus: usize,
    /// Seed of the generated world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output format of the summary (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}
