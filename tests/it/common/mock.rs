//! Wiremock shorthands: a mock for a method and path ([`get`], [`post`]), answers as one call
//! ([`json`], [`text`]), and mounting one answer after another ([`mount_then`]).

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate, Times};

/// A mock for `GET <path>`; add matchers with `.and(…)`.
pub fn get(p: &str) -> MockBuilder {
    Mock::given(method("GET")).and(path(p))
}

/// A mock for `POST <path>`; add matchers with `.and(…)`.
pub fn post(p: &str) -> MockBuilder {
    Mock::given(method("POST")).and(path(p))
}

/// An answer of `status` with `body` as JSON.
pub fn json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// An answer of `status` with `body` as plain text.
pub fn text(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(body)
}

/// Mounts `given` answering `answer`, expected `times` times (`..`: any number).
pub async fn mount(
    server: &MockServer,
    given: MockBuilder,
    answer: ResponseTemplate,
    times: impl Into<Times>,
) {
    given.respond_with(answer).expect(times).mount(server).await;
}

/// Mounts `first` for the first `n` requests it matches, then `then`: a server that fails and
/// recovers.
pub async fn mount_then(server: &MockServer, first: Mock, n: u64, then: Mock) {
    first.up_to_n_times(n).mount(server).await;
    then.mount(server).await;
}
