//! What the commands report: plain data that `app` fills in and `output` renders (and serde
//! writes as the JSON reports). Both layers depend on this one; it depends on neither, so the
//! renderers import no `app` module. No IO and no decisions here beyond naming what a report
//! holds; states are enums that serialise to the words the JSON has always carried.
//!
//! - [`sync`]: what a sync did ([`sync::SyncSummary`]);
//! - [`draft`]: what a draft run did per purchase order, what it settled, held and alerted;
//! - [`reconcile`]: the nightly audit's findings;
//! - [`status`]: `replenish status`.

pub mod draft;
pub mod reconcile;
pub mod status;
pub mod sync;
