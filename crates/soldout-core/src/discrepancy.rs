//! Stock discrepancies: the ledger and the shelf disagree, and someone has to count.
//! Raised by an offline sale that found too little stock on record, an offline sale
//! of a product not launched yet, or a transfer that arrived short; resolved by an
//! admin with a note.

use crate::ids::{LocationId, SkuCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// An offline sale sold more units than the ledger had available.
    OfflineOversold,
    /// An offline sale of a product not yet launched in the market at that time.
    OfflineNotLaunched,
    /// A transfer arrived with fewer units than were shipped.
    TransferShortfall,
}

impl DiscrepancyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::OfflineOversold => "offline_oversold",
            DiscrepancyKind::OfflineNotLaunched => "offline_not_launched",
            DiscrepancyKind::TransferShortfall => "transfer_shortfall",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        [
            DiscrepancyKind::OfflineOversold,
            DiscrepancyKind::OfflineNotLaunched,
            DiscrepancyKind::TransferShortfall,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A discrepancy to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscrepancy {
    pub location: LocationId,
    pub sku: SkuCode,
    pub kind: DiscrepancyKind,
    /// Units the ledger could not account for.
    pub quantity: i64,
    /// What raised it: `pos:<id>`, `transfer:<id>`.
    pub reference: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Discrepancy {
    pub id: i64,
    #[schema(example = "store-in-bengaluru")]
    pub location: LocationId,
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    pub kind: DiscrepancyKind,
    pub quantity: i64,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reference: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What the admin found, once resolved.
    pub resolution: Option<String>,
}
