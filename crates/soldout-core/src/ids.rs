//! Typed identifiers and bounded text. Each newtype can only hold a valid value:
//! parsing is the one way in, so a `MarketCode` or a `ProductId` is checked once, at
//! the edge, and trusted everywhere after.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Longest name, city, reason or reference we store, in characters.
pub const TEXT_LEN_MAX: usize = 200;
/// Longest identifier (product slug, SKU code, location id), in characters.
pub const ID_LEN_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error(
        "{field} holds the control character U+{code:04X}; text may not hold control characters"
    )]
    ControlCharacter { field: &'static str, code: u32 },
    #[error("{field} is {len} characters long; at most {max} are allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} {value:?} is not valid: {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// A number outside the range a field allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {value}; it must be between {min} and {max}")]
pub struct OutOfRange {
    pub field: &'static str,
    pub value: i64,
    pub min: i64,
    pub max: i64,
}

/// Checks that `value` lies in `min..=max`.
pub fn in_range<T: Into<i64> + PartialOrd + Copy>(
    field: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T, OutOfRange> {
    if value < min || value > max {
        return Err(OutOfRange {
            field,
            value: value.into(),
            min: min.into(),
            max: max.into(),
        });
    }
    Ok(value)
}

/// Checks free text (a name, a city, a reason): trimmed, not empty, bounded.
pub fn bounded_text(field: &'static str, value: &str) -> Result<String, TextError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty { field });
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(TextError::ControlCharacter {
            field,
            code: u32::from(c),
        });
    }
    let len = trimmed.chars().count();
    if len > TEXT_LEN_MAX {
        return Err(TextError::TooLong {
            field,
            len,
            max: TEXT_LEN_MAX,
        });
    }
    Ok(trimmed.to_owned())
}

fn check_id(
    field: &'static str,
    value: &str,
    allowed: impl Fn(char) -> bool,
    expected: &'static str,
) -> Result<(), TextError> {
    if value.is_empty() {
        return Err(TextError::Empty { field });
    }
    let len = value.chars().count();
    if len > ID_LEN_MAX {
        return Err(TextError::TooLong {
            field,
            len,
            max: ID_LEN_MAX,
        });
    }
    let edges_ok = !value.starts_with('-') && !value.ends_with('-');
    if !edges_ok || !value.chars().all(allowed) {
        return Err(TextError::Invalid {
            field,
            value: value.chars().take(40).collect(),
            expected,
        });
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $pattern:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        /// In the API document: a string of the id's alphabet, as `parse` checks it.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .min_length(Some(1))
                    .max_length(Some(ID_LEN_MAX))
                    .into()
            }
        }
        impl ToSchema for $name {}

        impl $name {
            pub fn parse(value: &str) -> Result<Self, TextError> {
                let check: fn(&str) -> Result<(), TextError> = $check;
                check(value)?;
                Ok(Self(value.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, TextError> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = TextError;
            fn from_str(value: &str) -> Result<Self, TextError> {
                Self::parse(value)
            }
        }
    };
}

string_id!(
    /// An ISO 3166-1 alpha-2 country code naming a market: `CN`, `IN`, `RU`.
    MarketCode,
    "market",
    "^[A-Z]{2}$",
    |v| {
        if v.len() == 2 && v.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(())
        } else {
            Err(TextError::Invalid {
                field: "market",
                value: v.chars().take(40).collect(),
                expected: "an ISO 3166-1 alpha-2 code in capitals, such as CN or IN",
            })
        }
    }
);

string_id!(
    /// A product's slug: lowercase letters, digits and dashes (`mi-6`, `redmi-note-4`).
    ProductId,
    "product id",
    "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    |v| check_id(
        "product id",
        v,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "lowercase letters, digits and inner dashes, such as mi-6"
    )
);

string_id!(
    /// A SKU code: capitals, digits and dashes (`MI6-6-64-BLK`).
    SkuCode,
    "sku",
    "^[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?$",
    |v| check_id(
        "sku",
        v,
        |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-',
        "capital letters, digits and inner dashes, such as MI6-6-64-BLK"
    )
);

string_id!(
    /// A stock location's id: lowercase letters, digits and dashes (`wh-cn-beijing`).
    LocationId,
    "location id",
    "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    |v| check_id(
        "location id",
        v,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "lowercase letters, digits and inner dashes, such as store-in-bengaluru"
    )
);

string_id!(
    /// A unit's serial number or IMEI: capitals, digits and dashes (`RN4IN0001234`),
    /// as printed on the box.
    Serial,
    "serial",
    "^[A-Z0-9]([A-Z0-9-]*[A-Z0-9])?$",
    |v| check_id(
        "serial",
        v,
        |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-',
        "capital letters, digits and inner dashes, such as 865321030012345"
    )
);

string_id!(
    /// An OS release's id: lowercase letters, digits and dashes (`miui-9`).
    ReleaseId,
    "release id",
    "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    |v| check_id(
        "release id",
        v,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "lowercase letters, digits and inner dashes, such as miui-9"
    )
);

string_id!(
    /// A rollout's id: lowercase letters, digits and dashes (`miui-9-in`).
    RolloutId,
    "rollout id",
    "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    |v| check_id(
        "rollout id",
        v,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        "lowercase letters, digits and inner dashes, such as miui-9-in"
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_codes_are_two_capitals() {
        assert!(MarketCode::parse("IN").is_ok());
        assert!(MarketCode::parse("in").is_err());
        assert!(MarketCode::parse("IND").is_err());
        assert!(MarketCode::parse("").is_err());
    }

    #[test]
    fn slugs_and_skus_have_their_own_alphabets() {
        assert!(ProductId::parse("redmi-note-4").is_ok());
        assert!(ProductId::parse("Redmi Note 4").is_err());
        assert!(ProductId::parse("-mi").is_err());
        assert!(SkuCode::parse("MI6-6-64-BLK").is_ok());
        assert!(SkuCode::parse("mi6").is_err());
        assert!(LocationId::parse(&"a".repeat(201)).is_err());
        assert!(LocationId::parse(&"a".repeat(200)).is_ok());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("name", "  Mi 6 ").unwrap(), "Mi 6");
        assert!(matches!(
            bounded_text("name", "   "),
            Err(TextError::Empty { .. })
        ));
        assert!(matches!(
            bounded_text("name", &"é".repeat(201)),
            Err(TextError::TooLong { len: 201, .. })
        ));
        for text in [
            "Mi\0Home",
            "Mi\tHome",
            "Mi\nHome",
            "Mi\u{7f}",
            "Mi\u{85}Home",
        ] {
            assert!(
                matches!(
                    bounded_text("name", text),
                    Err(TextError::ControlCharacter { .. })
                ),
                "{text:?}"
            );
        }
        assert!(bounded_text("name", "Xiaomi 小米 ₹").is_ok());
    }

    #[test]
    fn ids_deserialize_through_parse() {
        let ok: Result<MarketCode, _> = serde_json::from_str("\"CN\"");
        assert!(ok.is_ok());
        let bad: Result<MarketCode, _> = serde_json::from_str("\"China\"");
        assert!(bad.unwrap_err().to_string().contains("ISO 3166-1"));
    }
}
