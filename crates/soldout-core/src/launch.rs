//! Launches: when a product is teased, unveiled and first sold in a market, and the
//! status that follows from those dates and the current time. Nothing may be sold in a
//! market before its first-sale date there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A product's launch dates in one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Launch {
    /// When the first teaser goes out (RFC 3339).
    pub teaser_at: DateTime<Utc>,
    /// When the product is unveiled (RFC 3339).
    pub unveil_at: DateTime<Utc>,
    /// The first instant it may be sold in this market (RFC 3339).
    pub sale_from: DateTime<Utc>,
}

/// Where a product stands in a market at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LaunchStatus {
    /// Planned; the teaser has not gone out yet.
    Announced,
    /// Teased, not yet unveiled.
    Teased,
    /// Unveiled, not yet on sale.
    Unveiled,
    /// May be sold.
    OnSale,
}

impl LaunchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchStatus::Announced => "announced",
            LaunchStatus::Teased => "teased",
            LaunchStatus::Unveiled => "unveiled",
            LaunchStatus::OnSale => "on_sale",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("the dates are out of order: teaser_at ({teaser_at}) <= unveil_at ({unveil_at}) <= sale_from ({sale_from}) must hold")]
    OutOfOrder {
        teaser_at: DateTime<Utc>,
        unveil_at: DateTime<Utc>,
        sale_from: DateTime<Utc>,
    },
}

impl Launch {
    /// Checks that the dates come in launch order (equal dates are allowed).
    pub fn validate(self) -> Result<Launch, LaunchError> {
        if self.teaser_at <= self.unveil_at && self.unveil_at <= self.sale_from {
            Ok(self)
        } else {
            Err(LaunchError::OutOfOrder {
                teaser_at: self.teaser_at,
                unveil_at: self.unveil_at,
                sale_from: self.sale_from,
            })
        }
    }

    pub fn status(&self, now: DateTime<Utc>) -> LaunchStatus {
        if now >= self.sale_from {
            LaunchStatus::OnSale
        } else if now >= self.unveil_at {
            LaunchStatus::Unveiled
        } else if now >= self.teaser_at {
            LaunchStatus::Teased
        } else {
            LaunchStatus::Announced
        }
    }

    /// Whether a unit may be sold at `at`. Every channel asks this before selling.
    pub fn allows_sale_at(&self, at: DateTime<Utc>) -> bool {
        self.status(at) == LaunchStatus::OnSale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn mi6_plus() -> Launch {
        Launch {
            teaser_at: t("2017-07-01T10:00:00+08:00"),
            unveil_at: t("2017-07-11T10:00:00+08:00"),
            sale_from: t("2017-07-18T10:00:00+08:00"),
        }
    }

    #[test]
    fn status_follows_the_dates() {
        let l = mi6_plus();
        assert_eq!(l.status(t("2017-06-30T00:00:00Z")), LaunchStatus::Announced);
        assert_eq!(l.status(l.teaser_at), LaunchStatus::Teased);
        assert_eq!(
            l.status(t("2017-07-04T09:00:00+08:00")),
            LaunchStatus::Teased
        );
        assert_eq!(l.status(l.unveil_at), LaunchStatus::Unveiled);
        assert_eq!(
            l.status(l.sale_from - chrono::Duration::seconds(1)),
            LaunchStatus::Unveiled
        );
        assert_eq!(l.status(l.sale_from), LaunchStatus::OnSale);
    }

    #[test]
    fn status_text_matches_the_wire_form() {
        for status in [
            LaunchStatus::Announced,
            LaunchStatus::Teased,
            LaunchStatus::Unveiled,
            LaunchStatus::OnSale,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }

    #[test]
    fn nothing_sells_before_the_first_sale_date() {
        let l = mi6_plus();
        assert!(!l.allows_sale_at(l.unveil_at));
        assert!(l.allows_sale_at(l.sale_from));
    }

    #[test]
    fn dates_must_be_in_order() {
        let mut l = mi6_plus();
        assert!(l.validate().is_ok());
        l.sale_from = l.teaser_at - chrono::Duration::days(1);
        assert!(l.validate().is_err());
        let same = Launch {
            teaser_at: l.teaser_at,
            unveil_at: l.teaser_at,
            sale_from: l.teaser_at,
        };
        assert_eq!(
            same.validate().unwrap().status(same.teaser_at),
            LaunchStatus::OnSale
        );
    }
}
