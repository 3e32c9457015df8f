//! The encoding of a group commit in a sale's journal: the batch's events, in
//! order, as postcard bytes.

use soldout_core::sale::SaleEvent;

pub fn encode(events: &[SaleEvent]) -> Vec<u8> {
    postcard::to_allocvec(events).expect("encoding events into memory cannot fail")
}

pub fn decode(body: &[u8]) -> Result<Vec<SaleEvent>, postcard::Error> {
    postcard::from_bytes(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use soldout_core::sale::{OrderId, PaymentOutcome};
    use soldout_core::CustomerId;

    #[test]
    fn events_round_trip() {
        let events = vec![
            SaleEvent::Registered {
                customer: CustomerId(7),
            },
            SaleEvent::FairStartDrawn { seed: u64::MAX },
            SaleEvent::Reserved {
                order: OrderId::new(1_499_130_000_000, 12345),
                customer: CustomerId(7),
                quantity: 2,
                key: u128::MAX - 1,
                at_ms: 1_499_130_000_000,
            },
            SaleEvent::PaymentRecorded {
                order: OrderId::new(1_499_130_000_000, 12345),
                event_id: "evt_1".into(),
                outcome: PaymentOutcome::Succeeded,
                at_ms: 1_499_130_000_500,
            },
            SaleEvent::Ended {
                at_ms: 1_499_140_000_000,
            },
        ];
        let bytes = encode(&events);
        assert_eq!(decode(&bytes).unwrap(), events);
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
