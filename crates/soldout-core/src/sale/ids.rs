//! Identifiers of sales and orders, and the fingerprint of an idempotency key.

use crate::customer::CustomerId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;

/// A sale's number, assigned when it is created.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct SaleId(pub i64);

impl fmt::Display for SaleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An order id: a ULID (sortable by creation time), written as 26 characters in
/// JSON and as 16 bytes in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
#[schema(value_type = String, example = "01BX5ZZKBKACTAV9WEVGEMMVRZ")]
pub struct OrderId(pub u128);

impl OrderId {
    /// Builds an id from a millisecond timestamp and 80 random bits the caller drew.
    pub fn new(unix_ms: u64, random: u128) -> Self {
        OrderId(ulid::Ulid::from_parts(unix_ms, random).0)
    }
    pub fn parse(text: &str) -> Option<Self> {
        ulid::Ulid::from_string(text).ok().map(|u| OrderId(u.0))
    }
    /// A new id of an order of `sale`: the sale's number rides in the upper 32 of the
    /// 80 random bits (the rest are `random48`), so a payment or a lookup finds the
    /// order's sale with no index. Online orders carry sale 0.
    pub fn of_sale(sale: SaleId, unix_ms: u64, random48: u64) -> Self {
        let sale_bits = (sale.0 as u128 & 0xFFFF_FFFF) << 48;
        OrderId::new(unix_ms, sale_bits | u128::from(random48 & 0xFFFF_FFFF_FFFF))
    }
    /// The sale this order belongs to (see [`OrderId::of_sale`]).
    pub fn sale(self) -> SaleId {
        SaleId(((self.0 >> 48) & 0xFFFF_FFFF) as i64)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", ulid::Ulid(self.0))
    }
}

impl Serialize for OrderId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            self.0.to_le_bytes().serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for OrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            OrderId::parse(&text)
                .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an order id")))
        } else {
            <[u8; 16]>::deserialize(d).map(|b| OrderId(u128::from_le_bytes(b)))
        }
    }
}

/// Serde for a `u128` as 16 fixed bytes in binary formats: the journal's keys and ids
/// are random, so a varint would only cost time.
pub mod fixed_u128 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &u128, s: S) -> Result<S::Ok, S::Error> {
        value.to_le_bytes().serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        <[u8; 16]>::deserialize(d).map(u128::from_le_bytes)
    }
}

/// A stable 128-bit fingerprint of a customer's idempotency key. Keys are scoped to
/// the customer: two customers may use the same key.
pub fn idempotency_fingerprint(customer: CustomerId, key: &str) -> u128 {
    let mut bytes = Vec::with_capacity(8 + key.len());
    bytes.extend_from_slice(&customer.0.to_le_bytes());
    bytes.extend_from_slice(key.as_bytes());
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_round_trip_and_sort_by_time() {
        let a = OrderId::new(1_499_130_000_000, 7);
        let b = OrderId::new(1_499_130_000_001, 0);
        assert!(a < b);
        assert_eq!(OrderId::parse(&a.to_string()), Some(a));
        assert_eq!(a.to_string().len(), 26);
        assert_eq!(OrderId::parse("not-an-id"), None);
    }

    #[test]
    fn fingerprints_are_scoped_to_the_customer() {
        let k = idempotency_fingerprint(CustomerId(1), "key-1");
        assert_eq!(k, idempotency_fingerprint(CustomerId(1), "key-1"));
        assert_ne!(k, idempotency_fingerprint(CustomerId(2), "key-1"));
        assert_ne!(k, idempotency_fingerprint(CustomerId(1), "key-2"));
    }
}
