//! Stock transfers between two locations of one market. A transfer is `requested`
//! (by a clerk, into their store), `in_transit` once shipped (the source's `on_hand`
//! drops, the destination shows the units as `incoming`), and `received` when the
//! destination counts what arrived; a shortfall becomes a discrepancy.

use crate::ids::{LocationId, SkuCode};
use crate::stock::QUANTITY_MAX;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// Most lines on one transfer.
pub const TRANSFER_LINES_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Asked for by a store's clerk; nothing has moved yet.
    Requested,
    /// Shipped: out of the source, incoming at the destination.
    InTransit,
    /// Counted in at the destination.
    Received,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Requested => "requested",
            TransferStatus::InTransit => "in_transit",
            TransferStatus::Received => "received",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        [
            TransferStatus::Requested,
            TransferStatus::InTransit,
            TransferStatus::Received,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A SKU and a count of its units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitCount {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(example = 20)]
    pub quantity: i64,
}

/// Body of `POST /v1/transfers`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    #[schema(example = "wh-in-sricity")]
    pub from: LocationId,
    #[schema(example = "store-in-bengaluru")]
    pub to: LocationId,
    pub lines: Vec<UnitCount>,
}

/// One line of a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransferLine {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    /// Units shipped (or requested).
    pub quantity: i64,
    /// Units counted in at the destination, once received.
    pub received: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transfer {
    pub id: i64,
    pub from: LocationId,
    pub to: LocationId,
    pub status: TransferStatus,
    pub lines: Vec<TransferLine>,
    pub created_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("a transfer needs 1 to {TRANSFER_LINES_MAX} lines; this one has {0}")]
    LineCount(usize),
    #[error("the quantity of {sku} is {quantity}; it must be between 1 and {QUANTITY_MAX}")]
    Quantity { sku: SkuCode, quantity: i64 },
    #[error("{0} appears on two lines")]
    DuplicateSku(SkuCode),
    #[error("a transfer goes between two different locations")]
    SameLocation,
    #[error("{sku} is not on this transfer")]
    NotOnTransfer { sku: SkuCode },
    #[error("{received} units of {sku} received, but only {shipped} were shipped")]
    MoreThanShipped {
        sku: SkuCode,
        received: i64,
        shipped: i64,
    },
    #[error("the transfer is {status}; this needs it {needed}", status = status.as_str(), needed = needed.as_str())]
    WrongStatus {
        status: TransferStatus,
        needed: TransferStatus,
    },
}

/// Checks a list of counts: 1 to [`TRANSFER_LINES_MAX`] lines, each SKU once, each
/// quantity between `min` and [`QUANTITY_MAX`].
fn check_counts(lines: &[UnitCount], min: i64) -> Result<(), TransferError> {
    if lines.is_empty() || lines.len() > TRANSFER_LINES_MAX {
        return Err(TransferError::LineCount(lines.len()));
    }
    let mut seen = HashSet::new();
    for line in lines {
        if line.quantity < min || line.quantity > QUANTITY_MAX {
            return Err(TransferError::Quantity {
                sku: line.sku.clone(),
                quantity: line.quantity,
            });
        }
        if !seen.insert(&line.sku) {
            return Err(TransferError::DuplicateSku(line.sku.clone()));
        }
    }
    Ok(())
}

impl NewTransfer {
    pub fn validate(&self) -> Result<(), TransferError> {
        if self.from == self.to {
            return Err(TransferError::SameLocation);
        }
        check_counts(&self.lines, 1)
    }
}

/// What a receipt at the destination comes to, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedLine {
    pub sku: SkuCode,
    pub received: i64,
    /// Shipped but not received.
    pub short: i64,
}

impl Transfer {
    /// Checks that the transfer may ship now.
    pub fn check_ship(&self) -> Result<(), TransferError> {
        self.check_status(TransferStatus::Requested)
    }

    fn check_status(&self, needed: TransferStatus) -> Result<(), TransferError> {
        if self.status != needed {
            return Err(TransferError::WrongStatus {
                status: self.status,
                needed,
            });
        }
        Ok(())
    }

    /// Decides a receipt: each counted SKU must be on the transfer and not exceed
    /// what was shipped; a line left out of the count was received as 0 units.
    pub fn plan_receipt(&self, counts: &[UnitCount]) -> Result<Vec<ReceivedLine>, TransferError> {
        self.check_status(TransferStatus::InTransit)?;
        check_counts(counts, 0)?;
        let mut counted: HashMap<&SkuCode, i64> = HashMap::new();
        for count in counts {
            if !self.lines.iter().any(|l| l.sku == count.sku) {
                return Err(TransferError::NotOnTransfer {
                    sku: count.sku.clone(),
                });
            }
            counted.insert(&count.sku, count.quantity);
        }
        self.lines
            .iter()
            .map(|line| {
                let received = counted.get(&line.sku).copied().unwrap_or(0);
                if received > line.quantity {
                    return Err(TransferError::MoreThanShipped {
                        sku: line.sku.clone(),
                        received,
                        shipped: line.quantity,
                    });
                }
                Ok(ReceivedLine {
                    sku: line.sku.clone(),
                    received,
                    short: line.quantity - received,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(s: &str) -> SkuCode {
        SkuCode::parse(s).unwrap()
    }

    fn in_transit() -> Transfer {
        Transfer {
            id: 1,
            from: LocationId::parse("wh").unwrap(),
            to: LocationId::parse("store").unwrap(),
            status: TransferStatus::InTransit,
            lines: vec![
                TransferLine {
                    sku: sku("A-1"),
                    quantity: 10,
                    received: None,
                },
                TransferLine {
                    sku: sku("B-1"),
                    quantity: 5,
                    received: None,
                },
            ],
            created_at: DateTime::UNIX_EPOCH,
            shipped_at: Some(DateTime::UNIX_EPOCH),
            received_at: None,
        }
    }

    #[test]
    fn a_receipt_names_each_shortfall() {
        let t = in_transit();
        let plan = t
            .plan_receipt(&[UnitCount {
                sku: sku("A-1"),
                quantity: 8,
            }])
            .unwrap();
        assert_eq!(
            plan,
            vec![
                ReceivedLine {
                    sku: sku("A-1"),
                    received: 8,
                    short: 2
                },
                ReceivedLine {
                    sku: sku("B-1"),
                    received: 0,
                    short: 5
                },
            ]
        );
        assert!(matches!(
            t.plan_receipt(&[UnitCount {
                sku: sku("A-1"),
                quantity: 11
            }]),
            Err(TransferError::MoreThanShipped { .. })
        ));
        assert!(matches!(
            t.plan_receipt(&[UnitCount {
                sku: sku("C-1"),
                quantity: 1
            }]),
            Err(TransferError::NotOnTransfer { .. })
        ));
        let received = Transfer {
            status: TransferStatus::Received,
            ..t
        };
        assert!(matches!(
            received.plan_receipt(&[]),
            Err(TransferError::WrongStatus { .. })
        ));
    }

    #[test]
    fn new_transfers_are_checked() {
        let a = LocationId::parse("a").unwrap();
        let b = LocationId::parse("b").unwrap();
        let line = |q| UnitCount {
            sku: sku("A-1"),
            quantity: q,
        };
        let t = |from: &LocationId, lines| NewTransfer {
            from: from.clone(),
            to: b.clone(),
            lines,
        };
        assert!(t(&a, vec![line(1)]).validate().is_ok());
        assert_eq!(
            t(&b, vec![line(1)]).validate(),
            Err(TransferError::SameLocation)
        );
        assert!(t(&a, vec![line(0)]).validate().is_err());
        assert!(t(&a, vec![line(-1)]).validate().is_err());
        assert!(t(&a, vec![]).validate().is_err());
        assert!(t(&a, vec![line(1), line(2)]).validate().is_err());
    }
}
