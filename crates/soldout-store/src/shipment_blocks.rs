//! Imported shipment rows packed into blocks: up to [`BLOCK_ROWS`] rows of one quarter
//! of one import per block, each block a dictionary of the distinct (market, channel,
//! product, SKU, currency) keys and, per row, its day in the quarter, its key, its
//! units and its revenue, encoded with postcard (varints). A ten-million-row import
//! writes a few hundred blobs instead of ten million rows; every row is still there,
//! exactly, for listing and for taking a batch back out.

use crate::StoreError;
use chrono::{Days, NaiveDate};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use soldout_core::pos::Channel;
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::{Currency, MarketCode, ProductId, SkuCode};
use std::collections::HashMap;

/// Quarter totals of some rows: (quarter, market, channel, product, currency) →
/// (units, revenue).
pub(crate) type Totals = HashMap<(String, String, &'static str, String, &'static str), (i64, i64)>;

pub(crate) fn totals_of(rows: &[Shipment]) -> Totals {
    let mut totals = Totals::new();
    for row in rows {
        let key = (
            row.quarter().to_string(),
            row.market.to_string(),
            row.channel.as_str(),
            row.product.to_string(),
            row.currency.code(),
        );
        let entry = totals.entry(key).or_default();
        entry.0 += row.units;
        entry.1 += row.revenue;
    }
    totals
}

/// Rows per block.
pub(crate) const BLOCK_ROWS: usize = 65_536;
/// Rows held in open blocks at most, across quarters: past it the largest open block
/// is sealed early, so a file that jumps between many quarters keeps memory flat.
const OPEN_ROWS_MAX: usize = 1 << 20;
/// The first byte of every stored block: its encoding.
const BLOCK_FORMAT: u8 = 1;

/// A channel in a stored block: by name.
mod channel_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use soldout_core::pos::Channel;

    pub fn serialize<S: Serializer>(channel: &Channel, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(channel.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Channel, D::Error> {
        let name = String::deserialize(d)?;
        Channel::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("no channel {name:?}")))
    }
}

fn overflow() -> StoreError {
    StoreError::Invalid(
        "the imported units or revenue add up beyond what a total can hold; nothing was imported"
            .into(),
    )
}

/// What rows share in a block: everything but the day and the figures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct RowKey {
    market: MarketCode,
    #[serde(with = "channel_name")]
    channel: Channel,
    product: ProductId,
    sku: Option<SkuCode>,
    currency: Currency,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct PackedRow {
    /// Days since the quarter's first day.
    day: u8,
    key: u32,
    units: i64,
    revenue: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Block {
    keys: Vec<RowKey>,
    rows: Vec<PackedRow>,
}

/// A block being filled, with its keys' running totals.
#[derive(Default)]
struct OpenBlock {
    index: FxHashMap<RowKey, u32>,
    block: Block,
    /// Units and revenue per key.
    sums: Vec<(i64, i64)>,
}

/// A full block, ready to write.
pub(crate) struct SealedBlock {
    pub quarter: Quarter,
    pub rows: usize,
    pub data: Vec<u8>,
}

/// Packs rows into blocks per quarter and adds them up for the quarter totals.
#[derive(Default)]
pub(crate) struct BlockPacker {
    open: HashMap<Quarter, OpenBlock>,
    open_rows: usize,
    totals: Totals,
}

impl BlockPacker {
    /// Adds a row; returns a block when one is full (or open blocks hold too many
    /// rows). A sum beyond `i64` is an error.
    pub fn push(&mut self, row: Shipment) -> Result<Option<SealedBlock>, StoreError> {
        let quarter = row.quarter();
        let day = (row.date - quarter.start()).num_days() as u8;
        let open = self.open.entry(quarter).or_default();
        let key = RowKey {
            market: row.market,
            channel: row.channel,
            product: row.product,
            sku: row.sku,
            currency: row.currency,
        };
        let index = match open.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = open.block.keys.len() as u32;
                open.block.keys.push(key.clone());
                open.index.insert(key, i);
                open.sums.push((0, 0));
                i
            }
        };
        let sum = &mut open.sums[index as usize];
        sum.0 = sum.0.checked_add(row.units).ok_or_else(overflow)?;
        sum.1 = sum.1.checked_add(row.revenue).ok_or_else(overflow)?;
        open.block.rows.push(PackedRow {
            day,
            key: index,
            units: row.units,
            revenue: row.revenue,
        });
        self.open_rows += 1;
        let to_seal = if open.block.rows.len() >= BLOCK_ROWS {
            quarter
        } else if self.open_rows > OPEN_ROWS_MAX {
            *self
                .open
                .iter()
                .max_by_key(|(q, b)| (b.block.rows.len(), **q))
                .expect("a block is open")
                .0
        } else {
            return Ok(None);
        };
        let full = self.open.remove(&to_seal).expect("the block is open");
        self.open_rows -= full.block.rows.len();
        seal(to_seal, full, &mut self.totals).map(Some)
    }

    /// Every block not yet full, and the totals of all rows pushed.
    pub fn finish(mut self) -> Result<(Vec<SealedBlock>, Totals), StoreError> {
        let mut open: Vec<(Quarter, OpenBlock)> = self.open.drain().collect();
        open.sort_by_key(|(q, _)| *q);
        let blocks = open
            .into_iter()
            .map(|(q, block)| seal(q, block, &mut self.totals))
            .collect::<Result<_, _>>()?;
        Ok((blocks, self.totals))
    }
}

fn seal(quarter: Quarter, open: OpenBlock, totals: &mut Totals) -> Result<SealedBlock, StoreError> {
    add_sums(quarter, &open.block.keys, &open.sums, totals)?;
    let mut data = vec![BLOCK_FORMAT];
    data.extend(postcard::to_allocvec(&open.block).expect("a block always encodes"));
    Ok(SealedBlock {
        quarter,
        rows: open.block.rows.len(),
        data,
    })
}

fn add_sums(
    quarter: Quarter,
    keys: &[RowKey],
    sums: &[(i64, i64)],
    totals: &mut Totals,
) -> Result<(), StoreError> {
    for (key, (units, revenue)) in keys.iter().zip(sums) {
        let entry = totals
            .entry((
                quarter.to_string(),
                key.market.to_string(),
                key.channel.as_str(),
                key.product.to_string(),
                key.currency.code(),
            ))
            .or_default();
        entry.0 = entry.0.checked_add(*units).ok_or_else(overflow)?;
        entry.1 = entry.1.checked_add(*revenue).ok_or_else(overflow)?;
    }
    Ok(())
}

fn decode(data: &[u8]) -> Result<Block, StoreError> {
    let corrupt = |why: String| {
        StoreError::Backend(format!("a shipment block does not decode: {why}").into())
    };
    match data.split_first() {
        Some((&BLOCK_FORMAT, rest)) => {
            postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))
        }
        Some((format, _)) => Err(corrupt(format!("unknown format {format}"))),
        None => Err(corrupt("empty".into())),
    }
}

/// The rows of a block, as `source` wrote them.
pub(crate) fn unpack(
    quarter: Quarter,
    source: &str,
    data: &[u8],
) -> Result<Vec<Shipment>, StoreError> {
    let block = decode(data)?;
    let start: NaiveDate = quarter.start();
    block
        .rows
        .iter()
        .map(|row| {
            let key = block.keys.get(row.key as usize).ok_or_else(|| {
                StoreError::Backend(format!("a shipment block names key {}", row.key).into())
            })?;
            Ok(Shipment {
                date: start + Days::new(u64::from(row.day)),
                market: key.market.clone(),
                channel: key.channel,
                product: key.product.clone(),
                sku: key.sku.clone(),
                units: row.units,
                revenue: row.revenue,
                currency: key.currency,
                source: source.to_owned(),
            })
        })
        .collect()
}

/// Adds a block's rows to `totals`.
pub(crate) fn add_block_totals(
    quarter: Quarter,
    data: &[u8],
    totals: &mut Totals,
) -> Result<(), StoreError> {
    let block = decode(data)?;
    let mut sums = vec![(0i64, 0i64); block.keys.len()];
    for row in &block.rows {
        let sum = sums.get_mut(row.key as usize).ok_or_else(|| {
            StoreError::Backend(format!("a shipment block names key {}", row.key).into())
        })?;
        sum.0 = sum.0.checked_add(row.units).ok_or_else(overflow)?;
        sum.1 = sum.1.checked_add(row.revenue).ok_or_else(overflow)?;
    }
    add_sums(quarter, &block.keys, &sums, totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(date: &str, sku: Option<&str>, units: i64) -> Shipment {
        Shipment {
            date: date.parse().unwrap(),
            market: MarketCode::parse("IN").unwrap(),
            channel: Channel::Partner,
            product: ProductId::parse("redmi-note-4").unwrap(),
            sku: sku.map(|s| SkuCode::parse(s).unwrap()),
            units,
            revenue: units * 999_900,
            currency: Currency::parse("INR").unwrap(),
            source: String::new(),
        }
    }

    #[test]
    fn rows_come_back_exactly_and_add_up() {
        let rows = [
            shipment("2017-04-01", Some("RN4-3-32-GLD"), 3),
            shipment("2017-06-30", None, -1),
            shipment("2017-06-30", Some("RN4-3-32-GLD"), 5),
            shipment("2016-12-31", None, 2),
        ];
        let mut packer = BlockPacker::default();
        for row in rows.clone() {
            assert!(packer.push(row).unwrap().is_none());
        }
        let (blocks, totals) = packer.finish().unwrap();
        assert_eq!(blocks.len(), 2, "one block per quarter");
        let mut back = Vec::new();
        let mut again = Totals::new();
        for block in &blocks {
            back.extend(unpack(block.quarter, "import:x", &block.data).unwrap());
            add_block_totals(block.quarter, &block.data, &mut again).unwrap();
        }
        let expected: Vec<Shipment> = [&rows[3], &rows[0], &rows[1], &rows[2]]
            .into_iter()
            .map(|r| Shipment {
                source: "import:x".into(),
                ..r.clone()
            })
            .collect();
        assert_eq!(back, expected);
        assert_eq!(totals, again);
        let q2 = &totals[&(
            "2017Q2".to_string(),
            "IN".to_string(),
            "partner",
            "redmi-note-4".to_string(),
            "INR",
        )];
        assert_eq!(*q2, (7, 7 * 999_900));
        assert!(unpack(blocks[0].quarter, "x", &[0xff, 0xff]).is_err());
        assert!(unpack(blocks[0].quarter, "x", &[]).is_err());
        assert!(unpack(blocks[0].quarter, "x", &[BLOCK_FORMAT, 0xff]).is_err());
    }

    #[test]
    fn a_full_block_is_sealed() {
        let mut packer = BlockPacker::default();
        let sealed: Vec<SealedBlock> = (0..BLOCK_ROWS + 1)
            .filter_map(|_| packer.push(shipment("2017-05-05", None, 1)).unwrap())
            .collect();
        assert_eq!(sealed.len(), 1);
        assert_eq!(sealed[0].rows, BLOCK_ROWS);
        let (rest, totals) = packer.finish().unwrap();
        assert_eq!(rest[0].rows, 1);
        assert_eq!(
            totals.values().next(),
            Some(&(BLOCK_ROWS as i64 + 1, (BLOCK_ROWS as i64 + 1) * 999_900))
        );
    }

    #[test]
    fn sums_beyond_an_i64_are_refused() {
        let mut packer = BlockPacker::default();
        let mut big = shipment("2017-05-05", None, 1);
        big.revenue = i64::MAX;
        assert!(packer.push(big.clone()).unwrap().is_none());
        assert!(packer.push(big).is_err());
    }

    #[test]
    fn many_open_quarters_are_sealed_early() {
        let mut packer = BlockPacker::default();
        let days = ["2017-05-05", "2016-05-05", "2015-05-05", "2014-05-05"];
        let mut sealed = 0;
        for i in 0..(OPEN_ROWS_MAX + 10) {
            if let Some(block) = packer.push(shipment(days[i % 4], None, 1)).unwrap() {
                assert!(block.rows > 0 && block.rows <= BLOCK_ROWS);
                sealed += block.rows;
            }
            assert!(packer.open_rows <= OPEN_ROWS_MAX);
        }
        let (rest, _) = packer.finish().unwrap();
        let left: usize = rest.iter().map(|b| b.rows).sum();
        assert_eq!(sealed + left, OPEN_ROWS_MAX + 10);
    }
}
