//! The bulk-operation result: downloaded to a scratch file beside the store, then put back
//! together into whole orders without holding the file in memory.
//!
//! - **Download** ([`download`]): streamed to disk with no total timeout; what is watched is
//!   progress — no byte for `shopify.bulk_stall_ms` is a stall. A stalled or broken transfer is
//!   retried (bounded by `[http] max_retries`, each retry logged) and resumed from the bytes
//!   already on disk with `Range: bytes=N-`; a server that answers the range with a whole `200`
//!   (or a range that does not start at N) makes it start over.
//! - **Staging** ([`stage`]): each JSONL line goes into a [`Spool`] keyed by the order it belongs
//!   to (its own id, or `__parentId` for a child), so that children which come anywhere after
//!   their parent meet it again. Order lines are decoded here (for the newest `updatedAt`, which
//!   moves the watermark); children are decoded when read back.
//! - **Reading** ([`BulkOrders::for_each_batch`]): whole orders, a batch at a time, in id order.
//!
//! Nothing here knows about the store's tables; the spool is only a scratch file.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::OrderProgress;
use super::dto::{FulfillmentOrderNode, LineItemNode, OrderNode};
use crate::adapters::http::{
    ApiError, Counters, ErrorClass, RetryPolicy, parse_retry_after, with_retry,
};
use crate::clock::Clock;
use crate::core::model::Order;
use crate::store::{Spool, SpoolRecord, StoreError};

/// Endpoint label of the download (requests, retries and errors are counted under it).
pub const DOWNLOAD: &str = "shopify bulk download";
/// Label of errors in the result's content.
pub const RESULT: &str = "shopify bulk result";

const KIND_ORDER: u8 = 0;
const KIND_LINE_ITEM: u8 = 1;
const KIND_FULFILLMENT_ORDER: u8 = 2;

/// Where bulk results are written while a run uses them: a folder (the store's, so a large file
/// lands on the disk the store is on, not a RAM-backed `/tmp`) and a file-name prefix naming the
/// store, so leftovers of a killed run can be recognised and removed.
#[derive(Debug, Clone)]
pub struct BulkScratch {
    pub dir: PathBuf,
    pub prefix: String,
}

impl BulkScratch {
    /// Scratch files beside the store at `store_path`: `.<store file name>.bulk-…`.
    pub fn beside(store_path: &Path) -> BulkScratch {
        let dir = match store_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = store_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "replenish".to_string());
        BulkScratch {
            dir,
            prefix: format!(".{name}.bulk-"),
        }
    }

    /// Deletes scratch files an earlier run left behind (killed before it could clean up).
    /// Only for a caller holding the store's writer lock: no other run is using them then.
    pub fn remove_leftovers(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(&self.prefix)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                tracing::info!(file = %entry.path().display(), "removed a bulk scratch file left by an earlier run");
                removed += 1;
            }
        }
        removed
    }

    fn create(&self, suffix: &str) -> Result<tempfile::NamedTempFile, ApiError> {
        tempfile::Builder::new()
            .prefix(&self.prefix)
            .suffix(suffix)
            .tempfile_in(&self.dir)
            .map_err(|e| {
                ApiError::new(
                    DOWNLOAD,
                    ErrorClass::Client,
                    format!(
                        "cannot create a scratch file in {}: {e}",
                        self.dir.display()
                    ),
                )
            })
    }
}

/// A bulk result put back together on disk: whole orders, read a batch at a time.
pub struct BulkOrders {
    spool: Option<Spool>,
    orders: u64,
    lines: u64,
    bytes: u64,
    newest_updated_at: Option<DateTime<Utc>>,
}

impl BulkOrders {
    /// The result of an operation that matched nothing (Shopify gives no file then).
    pub fn empty() -> BulkOrders {
        BulkOrders {
            spool: None,
            orders: 0,
            lines: 0,
            bytes: 0,
            newest_updated_at: None,
        }
    }

    /// Orders in the result.
    pub fn len(&self) -> u64 {
        self.orders
    }

    pub fn is_empty(&self) -> bool {
        self.orders == 0
    }

    /// JSONL lines read (blank ones included).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Size of the downloaded file.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The newest `updatedAt` among the orders.
    pub fn newest_updated_at(&self) -> Option<DateTime<Utc>> {
        self.newest_updated_at
    }

    /// Calls `f` with whole orders (children attached), at most `batch` at a time, in id order.
    /// A child whose parent is not in the file, or a child line that does not decode, is an
    /// error (naming the line), which stops the walk.
    pub fn for_each_batch<E: From<ApiError>>(
        &self,
        batch: usize,
        mut f: impl FnMut(&[Order]) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(spool) = &self.spool else {
            return Ok(());
        };
        let batch = batch.max(1);
        let mut orders: Vec<Order> = Vec::with_capacity(batch);
        let walked = spool.for_each_group(|key, records| -> Result<(), Walk<E>> {
            orders.push(assemble(key, records).map_err(Walk::Api)?);
            if orders.len() >= batch {
                f(&orders).map_err(Walk::Caller)?;
                orders.clear();
            }
            Ok(())
        });
        match walked {
            Ok(()) => {}
            Err(Walk::Api(e)) => return Err(E::from(e)),
            Err(Walk::Caller(e)) => return Err(e),
        }
        if !orders.is_empty() {
            f(&orders)?;
        }
        Ok(())
    }

    /// Every order at once (for small results and tests; a sync uses [`Self::for_each_batch`]).
    pub fn into_vec(self) -> Result<Vec<Order>, ApiError> {
        let mut all = Vec::new();
        self.for_each_batch(1024, |batch| -> Result<(), ApiError> {
            all.extend_from_slice(batch);
            Ok(())
        })?;
        Ok(all)
    }
}

/// An error while walking the spool: the result's own (or the spool's), or the caller's.
enum Walk<E> {
    Api(ApiError),
    Caller(E),
}

impl<E> From<StoreError> for Walk<E> {
    fn from(e: StoreError) -> Self {
        Walk::Api(scratch_error(e))
    }
}

fn scratch_error(e: StoreError) -> ApiError {
    ApiError::new(
        RESULT,
        ErrorClass::Client,
        format!("the scratch file beside the store failed: {e}"),
    )
}

/// One order from its spooled group: the order line, then its children in file order.
fn assemble(key: &str, records: &[SpoolRecord]) -> Result<Order, ApiError> {
    let mut head: Option<OrderNode> = None;
    let mut lines = Vec::new();
    let mut fos = Vec::new();
    for r in records {
        match r.kind {
            KIND_ORDER => {
                let node: OrderNode = decode_line(r.seq, &r.body)?;
                // The same order twice (not something Shopify documents): keep the newest.
                if head
                    .as_ref()
                    .is_none_or(|h| node.updated_at >= h.updated_at)
                {
                    head = Some(node);
                }
            }
            KIND_LINE_ITEM => lines.push(decode_line::<LineItemNode>(r.seq, &r.body)?),
            KIND_FULFILLMENT_ORDER => {
                fos.push(decode_line::<FulfillmentOrderNode>(r.seq, &r.body)?)
            }
            _ => {}
        }
    }
    let Some(head) = head else {
        return Err(ApiError::new(
            RESULT,
            ErrorClass::Decode,
            format!("a child line names parent {key}, which is not in the file"),
        ));
    };
    Ok(head.into_order(lines, fos))
}

/// Decodes one JSONL line into `T`, naming the line, its id and the JSON path of a bad field.
fn decode_line<T: DeserializeOwned>(line: u64, raw: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let id = serde_json::from_slice::<Probe<'_>>(raw)
            .ok()
            .and_then(|p| p.id.map(Cow::into_owned))
            .unwrap_or_default();
        ApiError::new(
            RESULT,
            ErrorClass::Decode,
            format!(
                "JSONL line {line} ({id}): field `{}`: {}",
                e.path(),
                e.inner()
            ),
        )
    })
}

/// What staging needs of a line before deciding where it goes.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "__parentId", borrow)]
    parent: Option<Cow<'a, str>>,
}

/// Reads JSONL from `input` into a new spool in `scratch`, counting lines into `lines_read` as it
/// goes. Malformed JSON and order lines that do not decode are errors naming the line.
pub fn stage(
    input: impl BufRead,
    scratch: &BulkScratch,
    bytes: u64,
    lines_read: &AtomicU64,
) -> Result<BulkOrders, ApiError> {
    let mut input = input;
    let mut spool = Spool::create_in(&scratch.dir, &scratch.prefix).map_err(scratch_error)?;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut line_no: u64 = 0;
    let mut orders = 0u64;
    let mut newest: Option<DateTime<Utc>> = None;
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).map_err(|e| {
            ApiError::new(
                RESULT,
                ErrorClass::Client,
                format!("reading the downloaded file: {e}"),
            )
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        lines_read.store(line_no, Ordering::Relaxed);
        let raw = buf.trim_ascii();
        if raw.is_empty() {
            continue;
        }
        let probe: Probe<'_> = serde_json::from_slice(raw).map_err(|e| {
            ApiError::new(
                RESULT,
                ErrorClass::Decode,
                format!("JSONL line {line_no}: malformed JSON: {e}"),
            )
        })?;
        let id = probe.id.as_deref().unwrap_or("");
        let (key, kind) = match probe.parent.as_deref() {
            None => {
                let node: OrderNode = decode_line(line_no, raw)?;
                newest = newest.max(Some(node.updated_at));
                orders += 1;
                (node.id, KIND_ORDER)
            }
            Some(parent) if id.contains("/LineItem/") => (parent.to_string(), KIND_LINE_ITEM),
            Some(parent) if id.contains("/FulfillmentOrder/") => {
                (parent.to_string(), KIND_FULFILLMENT_ORDER)
            }
            Some(_) => {
                tracing::debug!(%id, "ignoring unknown bulk child");
                continue;
            }
        };
        spool
            .push(&key, line_no, kind, raw)
            .map_err(scratch_error)?;
    }
    spool.seal().map_err(scratch_error)?;
    Ok(BulkOrders {
        spool: Some(spool),
        orders,
        lines: line_no,
        bytes,
        newest_updated_at: newest,
    })
}

/// Downloads the link's URL into a new scratch file and stages it (see the module docs). The JSONL file is
/// deleted once staged; the spool lives as long as the returned [`BulkOrders`].
pub async fn fetch(
    link: &Link<'_>,
    scratch: &BulkScratch,
    retry: &RetryPolicy,
    counters: &Counters,
    on_progress: &mut dyn FnMut(OrderProgress),
) -> Result<BulkOrders, ApiError> {
    let mut file = scratch.create(".jsonl")?;
    let started = Instant::now();
    let bytes = download(link, file.as_file_mut(), retry, counters, on_progress).await?;
    tracing::info!(
        bytes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "bulk result downloaded"
    );
    on_progress(OrderProgress::BulkDownloading {
        bytes,
        total: Some(bytes),
    });

    // Staging is disk and CPU work: off the async threads, reporting progress while it runs.
    let lines_read = Arc::new(AtomicU64::new(0));
    let staging = Instant::now();
    let staged = {
        let lines_read = Arc::clone(&lines_read);
        let scratch = scratch.clone();
        let mut reader = file.reopen().map_err(|e| {
            ApiError::new(
                RESULT,
                ErrorClass::Client,
                format!("reopening the downloaded file: {e}"),
            )
        })?;
        tokio::task::spawn_blocking(move || {
            reader.seek(SeekFrom::Start(0)).map_err(|e| {
                ApiError::new(
                    RESULT,
                    ErrorClass::Client,
                    format!("reading the downloaded file: {e}"),
                )
            })?;
            stage(
                BufReader::with_capacity(256 * 1024, reader),
                &scratch,
                bytes,
                &lines_read,
            )
        })
    };
    tokio::pin!(staged);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let staged = loop {
        tokio::select! {
            done = &mut staged => break done,
            _ = tick.tick() => on_progress(OrderProgress::BulkReading {
                lines: lines_read.load(Ordering::Relaxed),
            }),
        }
    };
    drop(file); // the JSONL is no longer needed: the spool holds it
    let orders = staged.map_err(|e| {
        ApiError::new(
            RESULT,
            ErrorClass::Client,
            format!("reading the bulk result stopped: {e}"),
        )
    })??;
    on_progress(OrderProgress::BulkReading {
        lines: orders.lines(),
    });
    tracing::info!(
        orders = orders.len(),
        lines = orders.lines(),
        elapsed_ms = staging.elapsed().as_millis() as u64,
        "bulk result staged"
    );
    Ok(orders)
}

/// What a download attempt resumes from: the file and how much of it holds the result.
struct Transfer<'a> {
    file: &'a mut File,
    written: u64,
    /// The whole file's size, once the server said it.
    total: Option<u64>,
    on_progress: &'a mut dyn FnMut(OrderProgress),
    reported: Instant,
}

impl Transfer<'_> {
    fn restart(&mut self) -> Result<(), ApiError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| write_error(&e))?;
        self.written = 0;
        self.total = None;
        Ok(())
    }

    fn append(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        if self.written + chunk.len() as u64 > MAX_BULK_FILE_BYTES {
            return Err(ApiError::new(
                DOWNLOAD,
                ErrorClass::Decode,
                format!(
                    "the bulk result is larger than {} GiB: stopped (a broken proxy or server?)",
                    MAX_BULK_FILE_BYTES >> 30
                ),
            ));
        }
        self.file.write_all(chunk).map_err(|e| write_error(&e))?;
        self.written += chunk.len() as u64;
        if self.reported.elapsed() >= Duration::from_millis(250) {
            self.reported = Instant::now();
            (self.on_progress)(OrderProgress::BulkDownloading {
                bytes: self.written,
                total: self.total,
            });
        }
        Ok(())
    }

    /// "1234 of 5678 bytes" (or "of ?" before the size is known).
    fn position(&self) -> String {
        match self.total {
            Some(total) => format!("{} of {total} bytes", self.written),
            None => format!("{} bytes", self.written),
        }
    }
}

/// The largest bulk result file accepted: far beyond a busy shop's years of orders (a 90-day
/// backfill of a shop with 10,000 orders a day is about 1 GiB), yet a limit on a runaway body.
pub const MAX_BULK_FILE_BYTES: u64 = 64 << 30;

fn write_error(e: &std::io::Error) -> ApiError {
    ApiError::new(
        DOWNLOAD,
        ErrorClass::Client,
        format!("cannot write the bulk result to the scratch file: {e}"),
    )
}

/// What a download talks to: the client, the signed URL, the stall timeout, and the clock (for a
/// `Retry-After` date).
pub struct Link<'a> {
    pub client: &'a reqwest::Client,
    pub url: &'a str,
    pub stall: Duration,
    pub clock: Clock,
}

/// Downloads the link's URL into `file` (empty), resuming after stalls and broken connections;
/// returns the number of bytes written. Retries are bounded by `retry` and counted and logged
/// under [`DOWNLOAD`].
pub async fn download(
    link: &Link<'_>,
    file: &mut File,
    retry: &RetryPolicy,
    counters: &Counters,
    on_progress: &mut dyn FnMut(OrderProgress),
) -> Result<u64, ApiError> {
    let transfer = tokio::sync::Mutex::new(Transfer {
        file,
        written: 0,
        total: None,
        on_progress,
        reported: Instant::now(),
    });
    let transfer = &transfer;
    with_retry(retry, counters, DOWNLOAD, true, move || async move {
        let mut t = transfer.lock().await;
        counters.request(DOWNLOAD);
        attempt(link, &mut t).await
    })
    .await?;
    let written = transfer.lock().await.written;
    Ok(written)
}

fn stalled(stall: Duration, t: &Transfer<'_>) -> ApiError {
    ApiError::new(
        DOWNLOAD,
        ErrorClass::Transient,
        format!(
            "stalled: no data for {:.1} s (shopify.bulk_stall_ms) after {}",
            stall.as_secs_f64(),
            t.position()
        ),
    )
}

/// One request: from the start, or from byte `written` with a `Range` request.
async fn attempt(link: &Link<'_>, t: &mut Transfer<'_>) -> Result<(), ApiError> {
    let stall = link.stall;
    let offset = t.written;
    // The result URL is pre-signed: it gets no access token.
    let mut request = link.client.get(link.url);
    if offset > 0 {
        tracing::info!(
            offset,
            "resuming the bulk download with a Range request from byte {offset}"
        );
        request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
    }
    let resp = match tokio::time::timeout(stall, request.send()).await {
        Err(_) => return Err(stalled(stall, t)),
        Ok(sent) => sent.map_err(|e| ApiError::from_transport(DOWNLOAD, &e))?,
    };
    let status = resp.status().as_u16();
    let content_range = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range);
    match status {
        200 => {
            if offset > 0 {
                tracing::warn!(
                    offset,
                    "the server answered the Range request with the whole file (200): starting over"
                );
                t.restart()?;
            }
            t.total = resp.content_length();
        }
        206 if offset > 0 => match content_range {
            Some((Some(start), total)) if start == offset => t.total = total,
            _ => {
                t.restart()?;
                return Err(ApiError::new(
                    DOWNLOAD,
                    ErrorClass::Transient,
                    format!(
                        "asked for bytes from {offset}, the server answered {}: starting over",
                        header_text(&resp, reqwest::header::CONTENT_RANGE)
                    ),
                )
                .with_status(status));
            }
        },
        416 if offset > 0 => {
            // Nothing left from `offset`: complete if that is the whole file, else start over.
            if let Some((_, Some(total))) = content_range
                && total == offset
            {
                t.total = Some(total);
                return Ok(());
            }
            t.restart()?;
            return Err(ApiError::new(
                DOWNLOAD,
                ErrorClass::Transient,
                format!("the server refused the range from byte {offset} (416): starting over"),
            )
            .with_status(status));
        }
        429 => {
            let mut e = ApiError::new(
                DOWNLOAD,
                ErrorClass::Throttling,
                "throttled (429) fetching the bulk result",
            )
            .with_status(status);
            e.retry_after = parse_retry_after(resp.headers(), link.clock.now());
            return Err(e);
        }
        500..=599 => {
            return Err(ApiError::new(
                DOWNLOAD,
                ErrorClass::Server,
                format!("HTTP {status} for the bulk result"),
            )
            .with_status(status));
        }
        _ => {
            return Err(ApiError::new(
                DOWNLOAD,
                ErrorClass::Client,
                format!(
                    "HTTP {status} for the bulk result (its signed URL is valid for a week after the operation completes)"
                ),
            )
            .with_status(status));
        }
    }
    let mut stream = resp.bytes_stream();
    loop {
        match tokio::time::timeout(stall, stream.next()).await {
            Err(_) => return Err(stalled(stall, t)),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let mut err = ApiError::from_transport(DOWNLOAD, &e);
                err.message = format!("{} after {}", err.message, t.position());
                return Err(err);
            }
            Ok(Some(Ok(chunk))) => t.append(&chunk)?,
        }
    }
    match t.total {
        Some(total) if t.written < total => Err(ApiError::new(
            DOWNLOAD,
            ErrorClass::Transient,
            format!("the transfer ended early, after {}", t.position()),
        )),
        Some(total) if t.written > total => {
            let message = format!(
                "received {} bytes of a {total}-byte file: starting over",
                t.written
            );
            t.restart()?;
            Err(ApiError::new(DOWNLOAD, ErrorClass::Transient, message))
        }
        _ => Ok(()),
    }
}

fn header_text(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "without Content-Range".to_string())
}

/// `Content-Range: bytes START-END/TOTAL` → (Some(START), Some(TOTAL)); `bytes */TOTAL` →
/// (None, Some(TOTAL)); `*` for the total → None.
fn parse_content_range(value: &str) -> Option<(Option<u64>, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let start = match range.trim() {
        "*" => None,
        r => {
            let (start, end) = r.split_once('-')?;
            let start: u64 = start.trim().parse().ok()?;
            let end: u64 = end.trim().parse().ok()?;
            if end < start {
                return None;
            }
            Some(start)
        }
    };
    Some((start, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(dir: &Path, lines: &[&str]) -> Result<BulkOrders, ApiError> {
        let text = lines.join("\n");
        let scratch = BulkScratch {
            dir: dir.to_path_buf(),
            prefix: ".t.bulk-".into(),
        };
        stage(
            text.as_bytes(),
            &scratch,
            text.len() as u64,
            &AtomicU64::new(0),
        )
    }

    #[test]
    fn bulk_children_anywhere_after_their_parent_are_attached() {
        let dir = tempfile::tempdir().unwrap();
        let result = staged(dir.path(), &[
            r#"{"id":"gid://shopify/Order/1","createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z","cancelledAt":null,"test":false,"displayFinancialStatus":"PAID","retailLocation":null}"#,
            r#"{"id":"gid://shopify/Order/2","createdAt":"2026-11-02T10:00:00Z","updatedAt":"2026-11-02T11:00:00Z","cancelledAt":null,"test":false,"displayFinancialStatus":"PARTIALLY_REFUNDED","retailLocation":{"id":"gid://shopify/Location/9"}}"#,
            r#"{"id":"gid://shopify/LineItem/20","sku":"B","quantity":3,"currentQuantity":2,"isGiftCard":false,"variant":{"id":"gid://shopify/ProductVariant/2"},"__parentId":"gid://shopify/Order/2"}"#,
            r#"{"id":"gid://shopify/LineItem/10","sku":"A","quantity":1,"currentQuantity":1,"isGiftCard":false,"variant":null,"__parentId":"gid://shopify/Order/1"}"#,
            r#"{"id":"gid://shopify/FulfillmentOrder/5","assignedLocation":{"location":{"id":"gid://shopify/Location/1"}},"__parentId":"gid://shopify/Order/1"}"#,
            r#"{"id":"gid://shopify/Something/5","__parentId":"gid://shopify/Order/1"}"#,
            "",
        ])
        .unwrap();
        assert_eq!(result.len(), 2);
        assert_eq!(result.lines(), 6, "the last newline ends line 6");
        assert_eq!(
            result.newest_updated_at(),
            Some("2026-11-02T11:00:00Z".parse().unwrap())
        );
        let orders = result.into_vec().unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].lines.len(), 1);
        assert_eq!(orders[0].lines[0].sku.as_deref(), Some("A"));
        assert_eq!(
            orders[0].fulfillment_location_id.as_deref(),
            Some("gid://shopify/Location/1")
        );
        assert_eq!(orders[1].lines[0].current_quantity, 2);
        assert_eq!(
            orders[1].retail_location_id.as_deref(),
            Some("gid://shopify/Location/9")
        );
        assert_eq!(orders[1].financial_status, "PARTIALLY_REFUNDED");
        // Only the spool is left in the folder while the result lives, and nothing after.
        drop(orders);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn batches_hold_at_most_the_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = (1..=5)
            .map(|n| format!(r#"{{"id":"gid://shopify/Order/{n}","createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z","test":false}}"#))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let result = staged(dir.path(), &refs).unwrap();
        let mut sizes = Vec::new();
        result
            .for_each_batch(2, |b| -> Result<(), ApiError> {
                sizes.push(b.len());
                Ok(())
            })
            .unwrap();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn bulk_orphan_child_and_bad_field_are_decode_errors_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let orphan = staged(dir.path(), &[r#"{"id":"gid://shopify/LineItem/1","sku":"A","quantity":1,"currentQuantity":1,"__parentId":"gid://shopify/Order/404"}"#]).unwrap();
        let e = orphan.into_vec().unwrap_err();
        assert_eq!(e.class, ErrorClass::Decode);
        assert!(e.message.contains("gid://shopify/Order/404"));
        let Err(e) = staged(
            dir.path(),
            &[
                r#"{"id":"gid://shopify/Order/1","createdAt":"yesterday","updatedAt":"2026-11-01T10:00:00Z","test":false}"#,
            ],
        ) else {
            panic!("a bad createdAt must not stage");
        };
        assert!(e.message.contains("JSONL line 1"), "{}", e.message);
        assert!(e.message.contains("createdAt"), "{}", e.message);
        let Err(e) = staged(dir.path(), &["", "{not json"]) else {
            panic!("malformed JSON must not stage");
        };
        assert!(
            e.message.contains("JSONL line 2: malformed JSON"),
            "{}",
            e.message
        );
        let bad_child = staged(dir.path(), &[
            r#"{"id":"gid://shopify/Order/1","createdAt":"2026-11-01T10:00:00Z","updatedAt":"2026-11-01T10:00:00Z","test":false}"#,
            r#"{"id":"gid://shopify/LineItem/1","sku":"A","quantity":"one","currentQuantity":1,"__parentId":"gid://shopify/Order/1"}"#,
        ])
        .unwrap();
        let e = bad_child.into_vec().unwrap_err();
        assert!(
            e.message
                .contains("JSONL line 2 (gid://shopify/LineItem/1): field `quantity`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn content_range_forms() {
        assert_eq!(
            parse_content_range("bytes 10-99/100"),
            Some((Some(10), Some(100)))
        );
        assert_eq!(parse_content_range("bytes */100"), Some((None, Some(100))));
        assert_eq!(parse_content_range("bytes 10-99/*"), Some((Some(10), None)));
        assert_eq!(parse_content_range("bytes 99-10/100"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn scratch_files_are_named_after_the_store_and_leftovers_removed() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = BulkScratch::beside(&dir.path().join("shop.db"));
        assert_eq!(scratch.dir, dir.path());
        assert_eq!(scratch.prefix, ".shop.db.bulk-");
        let kept = dir.path().join("shop.db");
        std::fs::write(&kept, b"store").unwrap();
        let other = dir.path().join(".other.db.bulk-x.jsonl");
        std::fs::write(&other, b"x").unwrap();
        let left = scratch.create(".jsonl").unwrap().keep().unwrap().1;
        assert_eq!(scratch.remove_leftovers(), 1);
        assert!(!left.exists());
        assert!(kept.exists() && other.exists());
        assert_eq!(
            BulkScratch::beside(Path::new("plain.db")).dir,
            PathBuf::from(".")
        );
    }
}
