//! Writing the tool's drafts to Cin7, exactly once: a create is intent (committed) → `POST
//! purchase` → purchase recorded → `POST purchase/order` → lines recorded, each step committed
//! before the next call; an answer that may or may not have created the purchase is followed by
//! a lookup by tag, never by a second create. An update reads the draft once more first, so a
//! person's change is never overwritten. What each Cin7 refusal closes the row as is a
//! [`CloseReason`]; the outcome of each PO a [`PoOutcome`].

use anyhow::Result;

use super::{CRASH_AT_ENV, Run};
use crate::adapters::cin7::{CreatedPurchase, DraftLine, NewPurchase, create_outcome_unknown};
use crate::adapters::http::{ApiError, ErrorClass};
use crate::core::plan::PurchaseOrder;
use crate::core::push::{OpenDraft, written_lines, written_purchase};
use crate::core::settle::{CloseReason, changed_meanwhile};
use crate::report::draft::{PoAction, PoOutcome, PoResult};
use crate::store::{LedgerEntry, NewIntent, Store, WrittenLine};

/// How often a create is attempted when Cin7 refused it without creating it (throttled), or an
/// unknown outcome was checked and nothing was found.
const CREATE_ATTEMPTS: u32 = 3;

/// Stops the process at a named step when the test-only variable asks for it.
fn crash_point(step: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|v| v == step) {
        eprintln!("{CRASH_AT_ENV}={step}: stopping the process here");
        std::process::abort();
    }
}

impl Run<'_> {
    fn rejected(
        &mut self,
        po: &PurchaseOrder,
        action: PoAction,
        order_number: Option<String>,
        e: &ApiError,
    ) -> PoOutcome {
        let message = format!("Cin7 rejected PO: {}", e.message);
        let number = order_number
            .as_deref()
            .map(|n| format!(", {n}"))
            .unwrap_or_default();
        self.alert(
            "po_rejected",
            None,
            Some(&po.supplier),
            Some(&po.location),
            format!(
                "{message} (supplier {}, location {}{number})",
                po.supplier, po.location
            ),
        );
        PoOutcome::for_po(po, action, PoResult::Rejected, order_number, Some(message))
    }

    fn failed(
        &mut self,
        po: &PurchaseOrder,
        action: PoAction,
        order_number: Option<String>,
        detail: String,
    ) -> PoOutcome {
        self.failed = true;
        tracing::warn!(supplier = %po.supplier, location = %po.location, "{detail}");
        self.alert(
            "po_failed",
            None,
            Some(&po.supplier),
            Some(&po.location),
            format!(
                "PO for {} at {} not written this run: {detail}",
                po.supplier, po.location
            ),
        );
        PoOutcome::for_po(po, action, PoResult::Failed, order_number, Some(detail))
    }

    fn draft_lines(&self, po: &PurchaseOrder) -> Vec<DraftLine> {
        po.lines
            .iter()
            .map(|l| DraftLine {
                product_id: l.product_id.clone(),
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                price: l.price,
                tax_rule: po.tax_rule.clone(),
                supplier_sku: l.supplier_sku.clone(),
            })
            .collect()
    }

    /// Creates one draft: intent, `POST purchase`, purchase recorded, `POST purchase/order`,
    /// lines recorded — each step committed before the next call.
    pub(super) async fn create(
        &mut self,
        store: &mut Store,
        po: &PurchaseOrder,
    ) -> Result<PoOutcome> {
        let lines = written_lines(po);
        for attempt in 1..=CREATE_ATTEMPTS {
            let intent_id = uuid::Uuid::new_v4().to_string();
            let intent = NewIntent {
                intent_id: &intent_id,
                supplier_id: &po.supplier_id,
                supplier: &po.supplier,
                location: &po.location,
                lines: &lines,
            };
            let intent_at = self.clock.now();
            store.write(|w| w.ledger_intent(&intent, intent_at, self.run_id))?;
            crash_point("after_intent");
            let header = NewPurchase {
                supplier_id: po.supplier_id.clone(),
                location: po.location.clone(),
                approach: self.settings.cin7.purchase_approach.as_cin7().to_string(),
                required_by: po.required_by,
                terms: po.payment_term.clone(),
                tax_rule: po.tax_rule.clone(),
                currency_rate: self
                    .settings
                    .suppliers
                    .get(&po.supplier)
                    .and_then(|o| o.currency_rate)
                    .unwrap_or(1.0),
                note: crate::core::ledger::tag(&intent_id),
            };
            let created: CreatedPurchase = match self.cin7.create_purchase(&header).await {
                Ok(c) => c,
                Err(e) if create_outcome_unknown(&e) => {
                    tracing::warn!(
                        "creating the PO for {} at {}: outcome unknown ({}); looking for it by its tag",
                        po.supplier,
                        po.location,
                        e.message
                    );
                    match self
                        .cin7
                        .find_tagged_purchase(
                            &po.supplier_id,
                            &po.supplier,
                            self.lookup_since(intent_at),
                            &crate::core::ledger::tag(&intent_id),
                        )
                        .await
                    {
                        Ok(Some(p)) => CreatedPurchase {
                            id: p.id().to_string(),
                            order_number: p.order_number().to_string(),
                        },
                        // Not there (yet): Cin7 may still be working on it, whatever it
                        // answered. The intent stays open and nothing more is sent for this PO
                        // now; the next run looks again before creating anything.
                        Ok(None) => {
                            return Ok(self.failed(
                                po,
                                PoAction::Create,
                                None,
                                format!(
                                    "Cin7 may or may not have created the PO ({}) and does not show it yet; the next run looks for it again before creating anything",
                                    e.message
                                ),
                            ));
                        }
                        Err(lookup) => {
                            return Ok(self.failed(
                                po,
                                PoAction::Create,
                                None,
                                format!(
                                    "Cin7 may or may not have created the PO ({}), and looking for it failed ({}); the next run looks again before creating anything",
                                    e.message, lookup.message
                                ),
                            ));
                        }
                    }
                }
                Err(e) if e.class == ErrorClass::Throttling => {
                    // Refused, not processed: safe to try again once the pacer allows.
                    store.write(|w| {
                        w.ledger_close(
                            &intent_id,
                            &CloseReason::NotCreatedThrottled.to_string(),
                            self.clock.now(),
                        )
                    })?;
                    if attempt == CREATE_ATTEMPTS {
                        return Ok(self.failed(
                            po,
                            PoAction::Create,
                            None,
                            format!("Cin7 kept throttling the create: {}", e.message),
                        ));
                    }
                    continue;
                }
                Err(e) => {
                    store.write(|w| {
                        w.ledger_close(
                            &intent_id,
                            &CloseReason::Rejected(e.message.clone()).to_string(),
                            self.clock.now(),
                        )
                    })?;
                    return Ok(self.rejected(po, PoAction::Create, None, &e));
                }
            };
            store.write(|w| {
                w.ledger_created(
                    &intent_id,
                    &created.id,
                    &created.order_number,
                    self.clock.now(),
                )
            })?;
            crash_point("after_header");
            return self
                .write_lines(
                    store,
                    po,
                    PoAction::Create,
                    &intent_id,
                    &created.id,
                    Some(created.order_number),
                    &lines,
                )
                .await;
        }
        Ok(self.failed(
            po,
            PoAction::Create,
            None,
            format!("Cin7 did not create the PO in {CREATE_ATTEMPTS} attempts"),
        ))
    }

    /// Rewrites the lines of the tool's own draft — after reading it once more, so that a change
    /// a person made while this run worked (or waited for confirmation) is never overwritten.
    pub(super) async fn update(
        &mut self,
        store: &mut Store,
        draft: &OpenDraft,
        entry: Option<&LedgerEntry>,
        po: &PurchaseOrder,
    ) -> Result<PoOutcome> {
        let Some(entry) = entry else {
            return Ok(self.failed(
                po,
                PoAction::Update,
                draft.order_number.clone(),
                "the ledger entry of this draft is missing".into(),
            ));
        };
        let Some(purchase_id) = entry.purchase_id.clone() else {
            return Ok(self.failed(
                po,
                PoAction::Update,
                draft.order_number.clone(),
                "the ledger entry of this draft has no purchase id".into(),
            ));
        };
        let fresh = match self.cin7.purchase(&purchase_id, &self.hint(entry)).await {
            Ok(p) => p,
            Err(e) => {
                return Ok(self.failed(
                    po,
                    PoAction::Update,
                    draft.order_number.clone(),
                    format!(
                        "could not read the draft again before updating it: {}",
                        e.message
                    ),
                ));
            }
        };
        if let Some(why) = changed_meanwhile(entry, fresh.as_ref()) {
            // Settled by the next run's check; nothing is written now.
            return Ok(PoOutcome::for_po(
                po,
                PoAction::Update,
                PoResult::LeftAlone,
                draft.order_number.clone(),
                Some(format!(
                    "changed while this run worked: {why}; left as it is"
                )),
            ));
        }
        let lines = written_lines(po);
        store.write(|w| {
            w.ledger_updating(&draft.intent_id, &lines, self.clock.now(), self.run_id)
        })?;
        self.write_lines(
            store,
            po,
            PoAction::Update,
            &draft.intent_id,
            &purchase_id,
            draft.order_number.clone(),
            &lines,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_lines(
        &mut self,
        store: &mut Store,
        po: &PurchaseOrder,
        action: PoAction,
        intent_id: &str,
        purchase_id: &str,
        order_number: Option<String>,
        lines: &[WrittenLine],
    ) -> Result<PoOutcome> {
        match self
            .cin7
            .write_purchase_order(purchase_id, &self.draft_lines(po))
            .await
        {
            Ok(()) => {
                // The store's copy of the purchase becomes what Cin7 now holds, so a plan made
                // before the next sync sees the tool's draft as written (and untouched).
                let purchase =
                    written_purchase(po, purchase_id, order_number.as_deref(), intent_id);
                store.write(|w| {
                    w.ledger_lines_written(intent_id, lines, self.clock.now())?;
                    w.upsert_purchases(std::slice::from_ref(&purchase))
                })?;
                crash_point("after_lines");
                let result = match action {
                    PoAction::Create => PoResult::Created,
                    _ => PoResult::Updated,
                };
                Ok(PoOutcome::for_po(po, action, result, order_number, None))
            }
            Err(e) if e.class == ErrorClass::Client && action == PoAction::Create => {
                // Cin7 took the header but refuses these lines: withdraw the empty purchase
                // rather than leave it for a buyer to find, and let go of it.
                let voided = self.cin7.void_purchase(purchase_id).await;
                let reason = CloseReason::RejectedLines {
                    message: e.message.clone(),
                    void_failed: voided.err().map(|v| v.message),
                };
                store
                    .write(|w| w.ledger_close(intent_id, &reason.to_string(), self.clock.now()))?;
                Ok(self.rejected(po, action, order_number, &e))
            }
            // The tool's draft keeps its old lines (the ledger's pending lines are settled by the
            // next run's check).
            Err(e) if e.class == ErrorClass::Client => {
                Ok(self.rejected(po, action, order_number, &e))
            }
            Err(e) => Ok(self.failed(
                po,
                action,
                order_number,
                format!(
                    "the lines were not written ({}); the next run writes them",
                    e.message
                ),
            )),
        }
    }
}
