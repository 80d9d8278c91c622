//! Settling the tool's open drafts against Cin7, which every `draft` run does before it plans and
//! `reconcile` does as its first check ([`settle_drafts`]): one `GET purchase?ID=` per open row
//! (and a lookup by tag for an intent), the store's copy of each purchase refreshed, then what
//! `core::settle` decides — adopt, finish, keep or close, and which (supplier, location) must not
//! be written this run — carried out and recorded in the ledger. A row that cannot be checked
//! blocks only its own key, with an alert; the others go on.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::Run;
use crate::adapters::cin7::{Cin7Client, PurchaseHint};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::settle::{
    self, Blocked, CloseReason, IntentStep, Recovered, Settlement, intent_step,
};
use crate::report::draft::Recovery;
use crate::store::{LedgerEntry, LedgerState, Store};

/// The tool's open drafts after checking each against Cin7, and what that found.
#[derive(Debug)]
pub struct Settled {
    /// Rows adopted, finished or closed (approved, voided, edited, gone, never created).
    pub recovered: Vec<Recovery>,
    /// Rows still the tool's open drafts.
    pub open: Vec<LedgerEntry>,
    /// (supplier ID, location) that must not be written this run, and why (a draft that could
    /// not be checked, an unconfirmed create, an approval newer than the stock snapshot).
    pub unchecked: Vec<((String, String), Blocked)>,
}

/// What `draft` does first, for `reconcile`: settles every open ledger row against Cin7 (the
/// caller holds the writer lock).
pub async fn settle_drafts(
    settings: &Settings,
    store: &mut Store,
    cin7: &Cin7Client,
    clock: Clock,
) -> Result<Settled> {
    let mut run = Run::new(settings, cin7, clock, clock.now(), false);
    let open = run.check_ledger(store).await?;
    Ok(Settled {
        recovered: run.recovered,
        open,
        unchecked: run.blocked.into_iter().collect(),
    })
}

impl Run<'_> {
    /// Settles every open ledger entry against Cin7 before planning: adopts purchases an
    /// interrupted run created, finishes or rolls back interrupted line writes, and closes entries
    /// that are no longer the tool's (approved, voided, edited by a person, gone). Returns the
    /// entries still open. An entry that cannot be checked now blocks only its own (supplier,
    /// location) for this run, with an alert; the others go on.
    pub(super) async fn check_ledger(&mut self, store: &mut Store) -> Result<Vec<LedgerEntry>> {
        let snapshot_at = store.latest_snapshot()?.map(|s| s.taken_at);
        let mut open = Vec::new();
        for e in store.open_drafts()? {
            let key = (e.supplier_id.clone(), e.location.clone());
            let what = format!(
                "the tool's draft {} for {} at {}",
                e.order_number.as_deref().unwrap_or("(not created yet)"),
                e.supplier,
                e.location
            );
            match self.check_entry(store, e, snapshot_at).await {
                Ok(Some(e)) => open.push(e),
                Ok(None) => {}
                Err(err) => {
                    let blocked = Blocked::Unchecked {
                        what,
                        error: format!("{err:#}"),
                    };
                    self.alert(
                        "draft_unchecked",
                        None,
                        Some(&key.0),
                        Some(&key.1),
                        format!("{blocked}; nothing is written for it until it can be checked"),
                    );
                    self.blocked.insert(key, blocked);
                    self.failed = true;
                }
            }
        }
        Ok(open)
    }

    /// One ledger entry against Cin7: `Some` while it stays the tool's open draft.
    async fn check_entry(
        &mut self,
        store: &mut Store,
        mut e: LedgerEntry,
        snapshot_at: Option<DateTime<Utc>>,
    ) -> Result<Option<LedgerEntry>> {
        let key = (e.supplier_id.clone(), e.location.clone());
        if e.state == LedgerState::Intent {
            let found = self
                .cin7
                .find_tagged_purchase(
                    &e.supplier_id,
                    &e.supplier,
                    self.lookup_since(e.created_at),
                    &e.tag(),
                )
                .await?;
            let age = self.clock.now() - e.created_at;
            match intent_step(found.is_some(), age, self.confirm_after()) {
                IntentStep::NeverCreated => {
                    self.close(store, &e, CloseReason::NeverCreated)?;
                    return Ok(None);
                }
                IntentStep::Wait => {
                    self.blocked.insert(key, Blocked::Unconfirmed);
                    self.failed = true;
                    return Ok(None);
                }
                IntentStep::Adopt => {}
            }
            if let Some(p) = found {
                let (id, number) = (p.id().to_string(), p.order_number().to_string());
                self.record(store, |w| {
                    w.ledger_created(&e.intent_id, &id, &number, self.clock.now())
                })?;
                self.recovered.push(Recovery {
                    supplier: e.supplier.clone(),
                    location: e.location.clone(),
                    order_number: Some(number.clone()),
                    what: Recovered::Adopted,
                });
                e.state = LedgerState::Created;
                e.purchase_id = Some(id);
                e.order_number = Some(number);
            }
        }
        let Some(purchase_id) = e.purchase_id.clone() else {
            return Ok(Some(e));
        };
        let purchase = self.cin7.purchase(&purchase_id, &self.hint(&e)).await?;
        // The planning store sees Cin7 as it is now.
        if !self.dry_run {
            match &purchase {
                None => store.write(|w| w.delete_purchase(&purchase_id))?,
                Some(p) => store.write(|w| w.upsert_purchases(std::slice::from_ref(p)))?,
            }
        }
        match settle::settle(&e, purchase.as_ref(), snapshot_at) {
            Settlement::Close { reason, block } => {
                self.close(store, &e, reason)?;
                if let Some(block) = block {
                    self.blocked.insert(key, block);
                }
                Ok(None)
            }
            Settlement::Finish(lines) => {
                // An interrupted write had landed.
                self.record(store, |w| {
                    w.ledger_lines_written(&e.intent_id, &lines, self.clock.now())
                })?;
                self.recovered.push(Recovery {
                    supplier: e.supplier.clone(),
                    location: e.location.clone(),
                    order_number: e.order_number.clone(),
                    what: Recovered::Finished,
                });
                e.lines = lines;
                e.state = LedgerState::Done;
                e.pending_lines = None;
                Ok(Some(e))
            }
            // Untouched; an unfinished write will simply be redone.
            Settlement::Keep => Ok(Some(e)),
        }
    }

    /// Where a lookup for a lost purchase starts (`core::settle::lookup_since`).
    pub(super) fn lookup_since(&self, intent_at: DateTime<Utc>) -> DateTime<Utc> {
        settle::lookup_since(intent_at, self.now)
    }

    /// What a 404 from `GET purchase` is checked against before the entry's purchase is taken
    /// to be gone: `purchaseList` rows updated since the lookup start of its intent (every
    /// purchase it created was updated after that), looked for by ID.
    pub(super) fn hint<'e>(&self, e: &'e LedgerEntry) -> PurchaseHint<'e> {
        PurchaseHint {
            order_number: e.order_number.as_deref(),
            updated_since: Some(self.lookup_since(e.created_at)),
        }
    }

    /// How old an unconfirmed intent must be before "Cin7 shows no such purchase" is believed.
    fn confirm_after(&self) -> Duration {
        settle::confirm_after(self.settings.http.timeout_secs)
    }

    /// Closes the row (unless this is a dry run) and reports it closed.
    fn close(&mut self, store: &mut Store, e: &LedgerEntry, reason: CloseReason) -> Result<()> {
        self.record(store, |w| {
            w.ledger_close(&e.intent_id, &reason.to_string(), self.clock.now())
        })?;
        self.recovered.push(Recovery {
            supplier: e.supplier.clone(),
            location: e.location.clone(),
            order_number: e.order_number.clone(),
            what: Recovered::Closed(reason),
        });
        Ok(())
    }
}
