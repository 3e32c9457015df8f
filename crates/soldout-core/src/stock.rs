//! Stock locations and the stock ledger's rules.
//!
//! Stock only moves through ledger movements. Each movement kind has a fixed effect
//! on a SKU's levels at one location (`on_hand`, `reserved`, `incoming`), and the
//! levels are the sum of those effects. `available = on_hand - reserved` and no level
//! may ever go below zero: [`StockLevels::apply`] is the one place that says so, and
//! every store calls it inside the transaction that records the movement.

use crate::ids::{bounded_text, LocationId, MarketCode, SkuCode, TextError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest quantity one movement may carry (and largest absolute adjustment).
pub const QUANTITY_MAX: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Warehouse,
    Store,
}

impl LocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Warehouse => "warehouse",
            LocationKind::Store => "store",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "warehouse" => Some(LocationKind::Warehouse),
            "store" => Some(LocationKind::Store),
            _ => None,
        }
    }
}

/// A place that holds stock: a warehouse or a signature store, in one market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    #[schema(example = "store-in-bengaluru")]
    pub id: LocationId,
    pub kind: LocationKind,
    #[schema(example = "IN")]
    pub market: MarketCode,
    #[schema(
        example = "Mi Home Phoenix Marketcity",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(
        example = "Bengaluru",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub city: String,
}

/// Body of `POST /v1/locations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    #[schema(example = "store-in-bengaluru")]
    pub id: LocationId,
    pub kind: LocationKind,
    #[schema(example = "IN")]
    pub market: MarketCode,
    #[schema(
        example = "Mi Home Phoenix Marketcity",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(
        example = "Bengaluru",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub city: String,
}

impl NewLocation {
    pub fn validate(self) -> Result<Location, TextError> {
        Ok(Location {
            name: bounded_text("name", &self.name)?,
            city: bounded_text("city", &self.city)?,
            id: self.id,
            kind: self.kind,
            market: self.market,
        })
    }
}

/// Why stock moved. Each kind has one fixed effect on the levels; see [`LevelDelta::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Goods received from the factory or a supplier: `on_hand` up.
    Receipt,
    /// A counted correction, signed: `on_hand` up or down.
    Adjustment,
    /// A transfer leaves this location: `on_hand` down.
    TransferOut,
    /// A transfer is on its way here: `incoming` up.
    TransferIncoming,
    /// A transfer arrives: `incoming` down, `on_hand` up.
    TransferIn,
    /// Units set aside for a flash sale: `reserved` up.
    Allotment,
    /// A flash sale gives unsold units back: `reserved` down.
    AllotmentReturn,
    /// Units held for an order: `reserved` up.
    Reservation,
    /// A hold ends without a sale: `reserved` down.
    ReservationRelease,
    /// Units sold over the counter leave: `on_hand` down.
    Sale,
    /// Reserved or allotted units leave with their buyer: `on_hand` and `reserved` down.
    Fulfilment,
    /// A customer brings a unit back in resellable condition: `on_hand` up.
    CustomerReturn,
    /// A customer brings a damaged unit back: `damaged` up (it cannot be sold).
    DamagedReturn,
    /// Units shipped here that never arrived: `incoming` down.
    TransferShortfall,
}

impl MovementKind {
    pub const ALL: [MovementKind; 14] = [
        MovementKind::Receipt,
        MovementKind::Adjustment,
        MovementKind::TransferOut,
        MovementKind::TransferIncoming,
        MovementKind::TransferIn,
        MovementKind::Allotment,
        MovementKind::AllotmentReturn,
        MovementKind::Reservation,
        MovementKind::ReservationRelease,
        MovementKind::Sale,
        MovementKind::Fulfilment,
        MovementKind::CustomerReturn,
        MovementKind::DamagedReturn,
        MovementKind::TransferShortfall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Adjustment => "adjustment",
            MovementKind::TransferOut => "transfer_out",
            MovementKind::TransferIncoming => "transfer_incoming",
            MovementKind::TransferIn => "transfer_in",
            MovementKind::Allotment => "allotment",
            MovementKind::AllotmentReturn => "allotment_return",
            MovementKind::Reservation => "reservation",
            MovementKind::ReservationRelease => "reservation_release",
            MovementKind::Sale => "sale",
            MovementKind::Fulfilment => "fulfilment",
            MovementKind::CustomerReturn => "customer_return",
            MovementKind::DamagedReturn => "damaged_return",
            MovementKind::TransferShortfall => "transfer_shortfall",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("quantity {quantity} is not allowed for a {kind}: it must be between 1 and {QUANTITY_MAX}", kind = kind.as_str())]
    BadQuantity { kind: MovementKind, quantity: i64 },
    #[error("an adjustment's delta must be between -{QUANTITY_MAX} and {QUANTITY_MAX} and not 0; got {delta}")]
    BadAdjustment { delta: i64 },
    #[error("only {available} available; this {kind} needs {needed} more than that", kind = kind.as_str())]
    InsufficientAvailable {
        kind: MovementKind,
        available: i64,
        needed: i64,
    },
    #[error("only {level} {name}; this {kind} would take it to {would_be}", kind = kind.as_str())]
    NegativeLevel {
        kind: MovementKind,
        name: &'static str,
        level: i64,
        would_be: i64,
    },
}

/// The change one movement makes to a SKU's levels at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelDelta {
    pub on_hand: i64,
    pub reserved: i64,
    pub incoming: i64,
    pub damaged: i64,
}

impl LevelDelta {
    /// The effect of a movement of `kind`. `quantity` is positive for every kind but
    /// an adjustment, where it is the signed delta.
    pub fn of(kind: MovementKind, quantity: i64) -> Result<LevelDelta, StockError> {
        use MovementKind::*;
        if kind == Adjustment {
            if quantity == 0 || quantity.abs() > QUANTITY_MAX {
                return Err(StockError::BadAdjustment { delta: quantity });
            }
        } else if !(1..=QUANTITY_MAX).contains(&quantity) {
            return Err(StockError::BadQuantity { kind, quantity });
        }
        let q = quantity;
        let (on_hand, reserved, incoming, damaged) = match kind {
            Receipt | Adjustment | CustomerReturn => (q, 0, 0, 0),
            TransferOut | Sale => (-q, 0, 0, 0),
            TransferIncoming => (0, 0, q, 0),
            TransferIn => (q, 0, -q, 0),
            TransferShortfall => (0, 0, -q, 0),
            Allotment | Reservation => (0, q, 0, 0),
            AllotmentReturn | ReservationRelease => (0, -q, 0, 0),
            Fulfilment => (-q, -q, 0, 0),
            DamagedReturn => (0, 0, 0, q),
        };
        Ok(LevelDelta {
            on_hand,
            reserved,
            incoming,
            damaged,
        })
    }
}

/// A SKU's stock at one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct StockLevels {
    /// Units physically at the location.
    pub on_hand: i64,
    /// Units at the location held for orders or flash sales.
    pub reserved: i64,
    /// Units on their way to the location.
    pub incoming: i64,
    /// Units returned damaged: at the location, never sellable.
    pub damaged: i64,
}

impl StockLevels {
    /// Units that can still be sold or moved: `on_hand - reserved`, never negative.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    /// The levels after a movement, or why the movement is not allowed. This is the
    /// never-negative rule: no level below zero, and `available` not below zero.
    pub fn apply(&self, kind: MovementKind, delta: LevelDelta) -> Result<StockLevels, StockError> {
        debug_assert!(self.is_consistent(), "levels already broken: {self:?}");
        let next = StockLevels {
            on_hand: self.on_hand + delta.on_hand,
            reserved: self.reserved + delta.reserved,
            incoming: self.incoming + delta.incoming,
            damaged: self.damaged + delta.damaged,
        };
        for (name, level, would_be) in [
            ("on_hand", self.on_hand, next.on_hand),
            ("reserved", self.reserved, next.reserved),
            ("incoming", self.incoming, next.incoming),
            ("damaged", self.damaged, next.damaged),
        ] {
            if would_be < 0 {
                return Err(StockError::NegativeLevel {
                    kind,
                    name,
                    level,
                    would_be,
                });
            }
        }
        if next.available() < 0 {
            return Err(StockError::InsufficientAvailable {
                kind,
                available: self.available(),
                needed: -next.available(),
            });
        }
        assert!(next.is_consistent());
        Ok(next)
    }

    pub fn is_consistent(&self) -> bool {
        self.on_hand >= 0
            && self.reserved >= 0
            && self.incoming >= 0
            && self.damaged >= 0
            && self.available() >= 0
    }

    /// Levels that follow from a ledger's movements, applied in order; an error names
    /// the first movement the rules refuse.
    pub fn from_ledger(
        movements: impl IntoIterator<Item = (MovementKind, i64)>,
    ) -> Result<StockLevels, StockError> {
        movements
            .into_iter()
            .try_fold(StockLevels::default(), |levels, (kind, quantity)| {
                levels.apply(kind, LevelDelta::of(kind, quantity)?)
            })
    }
}

/// A SKU's levels at a location, as `GET /v1/locations/{id}/stock` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockLine {
    #[schema(example = "MI6-6-64-BLK")]
    pub sku: SkuCode,
    pub on_hand: i64,
    pub reserved: i64,
    pub incoming: i64,
    /// Units returned damaged.
    pub damaged: i64,
    /// `on_hand - reserved`.
    pub available: i64,
}

impl StockLine {
    pub fn new(sku: SkuCode, levels: StockLevels) -> Self {
        StockLine {
            sku,
            on_hand: levels.on_hand,
            reserved: levels.reserved,
            incoming: levels.incoming,
            damaged: levels.damaged,
            available: levels.available(),
        }
    }
}

/// A movement to record: what moves where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMovement {
    pub location: LocationId,
    pub sku: SkuCode,
    pub kind: MovementKind,
    /// Positive units, or the signed delta of an adjustment.
    pub quantity: i64,
    /// What the movement refers to: a delivery note, an order, a reason.
    pub reference: Option<String>,
    pub at: DateTime<Utc>,
}

impl NewMovement {
    /// The movement's effect on the levels, checking its quantity.
    pub fn delta(&self) -> Result<LevelDelta, StockError> {
        LevelDelta::of(self.kind, self.quantity)
    }
}

/// A recorded movement of the ledger, with the SKU's levels right after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    /// Position in the ledger; increases with every movement.
    pub id: i64,
    #[schema(example = "wh-in-chennai")]
    pub location: LocationId,
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    pub kind: MovementKind,
    /// Units moved; for an adjustment, the signed delta.
    pub quantity: i64,
    pub reference: Option<String>,
    pub at: DateTime<Utc>,
    /// The SKU's levels at this location after the movement.
    pub levels_after: StockLine,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use MovementKind::*;

    #[test]
    fn levels_follow_from_the_ledger() {
        let levels = StockLevels::from_ledger([
            (Receipt, 100),
            (Adjustment, -3),
            (Allotment, 40),
            (Fulfilment, 10),
            (AllotmentReturn, 5),
            (TransferIncoming, 20),
            (TransferIn, 15),
            (Sale, 2),
            (CustomerReturn, 1),
            (DamagedReturn, 1),
            (TransferShortfall, 2),
        ])
        .unwrap();
        assert_eq!(
            levels,
            StockLevels {
                on_hand: 100 - 3 - 10 + 15 - 2 + 1,
                reserved: 40 - 10 - 5,
                incoming: 5 - 2,
                damaged: 1,
            }
        );
        assert_eq!(levels.available(), 101 - 25);
    }

    #[test]
    fn available_never_goes_negative() {
        let levels = StockLevels::from_ledger([(Receipt, 10), (Reservation, 8)]).unwrap();
        let err = levels
            .apply(Sale, LevelDelta::of(Sale, 3).unwrap())
            .unwrap_err();
        assert_eq!(
            err,
            StockError::InsufficientAvailable {
                kind: Sale,
                available: 2,
                needed: 1
            }
        );
        assert!(levels
            .apply(Adjustment, LevelDelta::of(Adjustment, -3).unwrap())
            .is_err());
        assert!(levels
            .apply(Adjustment, LevelDelta::of(Adjustment, -2).unwrap())
            .is_ok());
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(LevelDelta::of(Receipt, 0).is_err());
        assert!(LevelDelta::of(Receipt, -1).is_err());
        assert!(LevelDelta::of(Receipt, QUANTITY_MAX).is_ok());
        assert!(LevelDelta::of(Receipt, QUANTITY_MAX + 1).is_err());
        assert!(LevelDelta::of(Adjustment, 0).is_err());
        assert!(LevelDelta::of(Adjustment, -QUANTITY_MAX).is_ok());
        assert!(LevelDelta::of(Adjustment, -QUANTITY_MAX - 1).is_err());
    }

    #[test]
    fn transfers_cannot_arrive_before_they_are_sent() {
        assert!(StockLevels::from_ledger([(TransferIn, 1)]).is_err());
        assert!(StockLevels::from_ledger([(AllotmentReturn, 1)]).is_err());
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in MovementKind::ALL {
            assert_eq!(MovementKind::parse(kind.as_str()), Some(kind));
        }
    }

    proptest! {
        /// Whatever sequence of movements is attempted, the accepted ones never leave
        /// a level or `available` below zero, and refused ones change nothing.
        #[test]
        fn accepted_movements_keep_every_level_non_negative(
            steps in proptest::collection::vec((0usize..MovementKind::ALL.len(), -50i64..50), 0..200)
        ) {
            let mut levels = StockLevels::default();
            for (k, q) in steps {
                let kind = MovementKind::ALL[k];
                let Ok(delta) = LevelDelta::of(kind, q) else { continue };
                let unchecked = StockLevels {
                    on_hand: levels.on_hand + delta.on_hand,
                    reserved: levels.reserved + delta.reserved,
                    incoming: levels.incoming + delta.incoming,
                    damaged: levels.damaged + delta.damaged,
                };
                match levels.apply(kind, delta) {
                    Ok(next) => {
                        prop_assert_eq!(next, unchecked);
                        levels = next;
                    }
                    Err(_) => prop_assert!(!unchecked.is_consistent()),
                }
                prop_assert!(levels.is_consistent());
            }
        }
    }
}
