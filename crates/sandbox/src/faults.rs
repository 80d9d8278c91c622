//! Fault injection (`fault_rate`): which API requests fail, how, and the broken answers themselves.
//!
//! The draw uses the world's own fault PRNG stream, advanced once per API request, so a run with a
//! given seed and request sequence fails the same way every time. Inspection routes never fail.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::state::World;

/// How long a "slow" answer waits before answering normally.
pub const SLOW: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 with a plain server-error text (not the throttle text).
    Unavailable,
    /// 429 with `Retry-After`.
    TooManyRequests,
    /// 500.
    Internal,
    /// Cin7 only: HTTP 200 with an `ErrorCode` body.
    ErrorCode200,
    /// Sleep, then answer normally.
    Slow,
    /// The body breaks off mid-way.
    Dropped,
    /// `POST purchase` only: the purchase is created, then the answer is lost.
    CreatedLost,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Unavailable => "503",
            Fault::TooManyRequests => "429",
            Fault::Internal => "500",
            Fault::ErrorCode200 => "error_code_200",
            Fault::Slow => "slow",
            Fault::Dropped => "dropped_connection",
            Fault::CreatedLost => "created_but_answer_lost",
        }
    }
}

/// Draws whether this request fails and how. `cin7` enables the Cin7-only kind; `creates` (for
/// `POST purchase`) enables "created but the answer was lost".
pub fn draw(w: &mut World, cin7: bool, creates: bool) -> Option<Fault> {
    if creates && w.opts.lost_answer_rate > 0.0 && w.rng_faults.f64() < w.opts.lost_answer_rate {
        let fault = Fault::CreatedLost;
        w.faults += 1;
        *w.faults_by_kind
            .entry(fault.name().to_string())
            .or_insert(0) += 1;
        return Some(fault);
    }
    let rate = w.opts.fault_rate;
    let r = w.rng_faults.f64();
    let k = w.rng_faults.next_u64();
    if rate <= 0.0 || r >= rate {
        return None;
    }
    let mut kinds = vec![
        Fault::Unavailable,
        Fault::TooManyRequests,
        Fault::Internal,
        Fault::Slow,
        Fault::Dropped,
    ];
    if cin7 {
        kinds.push(Fault::ErrorCode200);
    }
    if creates {
        kinds.push(Fault::CreatedLost);
        kinds.push(Fault::CreatedLost);
    }
    let fault = kinds[(k % kinds.len() as u64) as usize];
    w.faults += 1;
    *w.faults_by_kind
        .entry(fault.name().to_string())
        .or_insert(0) += 1;
    Some(fault)
}

/// The answer for a fault that replaces the normal answer (not `Slow` / `CreatedLost`).
pub fn respond(fault: Fault, cin7: bool, retry_after_secs: u64) -> Response {
    match fault {
        Fault::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Service Unavailable: the server is temporarily unable to handle the request.",
        )
            .into_response(),
        Fault::TooManyRequests => {
            let body = if cin7 {
                r#"[{"ErrorCode":429,"Exception":"Too many requests. Please retry later."}]"#
            } else {
                r#"{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}"#
            };
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                body,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Fault::Internal => {
            let body = if cin7 {
                r#"[{"ErrorCode":500,"Exception":"Object reference not set to an instance of an object."}]"#
            } else {
                r#"{"errors":"Internal Server Error"}"#
            };
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                body,
            )
                .into_response()
        }
        Fault::ErrorCode200 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            r#"[{"ErrorCode":500,"Exception":"An unexpected error occurred while processing the request. Please try again."}]"#,
        )
            .into_response(),
        Fault::Dropped => {
            let partial: &'static [u8] = if cin7 {
                br#"{"Total": 1, "Page": 1, "Lis"#
            } else {
                br#"{"data": {"ord"#
            };
            broken(StatusCode::OK, Bytes::from_static(partial))
        }
        // Not replacing faults: answer something sane if ever called.
        Fault::Slow | Fault::CreatedLost => StatusCode::OK.into_response(),
    }
}

/// A response whose body sends `partial` and then fails, so the client sees a broken answer.
pub fn broken(status: StatusCode, partial: Bytes) -> Response {
    use futures_util::StreamExt;
    let head = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(partial) });
    // A short pause lets the status line and the first bytes reach the client before the break.
    let tail = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped",
        ))
    });
    let mut r = Response::new(Body::from_stream(head.chain(tail)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// Turns a finished answer into one that is lost half-way (used after a write really happened).
pub async fn lose_answer(resp: Response) -> Response {
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let half = bytes.slice(0..bytes.len() / 2);
    broken(status, half)
}
