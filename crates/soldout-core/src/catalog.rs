//! The catalog and the markets it sells in: markets (country, currency, return
//! window), products with their specs and OS, and SKUs (colour, RAM, storage).
//!
//! The `New*` types are what a caller sends; `validate` turns them into the checked
//! domain values the store persists.

use crate::ids::{bounded_text, in_range, MarketCode, OutOfRange, ProductId, SkuCode, TextError};
use crate::money::Currency;
use crate::version::OsVersion;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Return window a market gets when none is given, in days.
pub const RETURN_WINDOW_DAYS_DEFAULT: u32 = 14;
/// Longest return window we accept, in days.
pub const RETURN_WINDOW_DAYS_MAX: u32 = 365;
/// Most SKUs one product may have.
pub const SKUS_PER_PRODUCT_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
}

/// A country the company sells in, with the currency its prices are in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Market {
    /// ISO 3166-1 alpha-2 code, such as `IN`.
    #[schema(example = "IN")]
    pub code: MarketCode,
    /// Display name, such as `India`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// ISO 4217 code of the currency prices are in, such as `INR`.
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    /// Days after a sale within which a customer may return the unit.
    pub return_window_days: u32,
}

/// Body of `POST /v1/markets`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMarket {
    #[schema(example = "IN")]
    pub code: MarketCode,
    #[schema(
        example = "India",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    /// Days within which a sale may be returned; 14 when left out.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 365)]
    pub return_window_days: Option<u32>,
}

impl NewMarket {
    pub fn validate(self) -> Result<Market, CatalogError> {
        Ok(Market {
            code: self.code,
            name: bounded_text("name", &self.name)?,
            currency: self.currency,
            return_window_days: in_range(
                "return_window_days",
                self.return_window_days
                    .unwrap_or(RETURN_WINDOW_DAYS_DEFAULT),
                0,
                RETURN_WINDOW_DAYS_MAX,
            )?,
        })
    }
}

/// What a phone is: the figures a launch event puts on its slides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Specs {
    /// System on a chip, such as `Snapdragon 835`.
    #[schema(
        example = "Snapdragon 835",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub soc: String,
    /// Battery capacity in mAh.
    #[schema(example = 3350, minimum = 1, maximum = 100000)]
    pub battery_mah: u32,
    /// Whether it charges fast (Quick Charge or similar).
    pub fast_charging: bool,
    /// Main camera resolution in megapixels.
    #[schema(example = 12, minimum = 0, maximum = 1000)]
    pub main_camera_mp: u32,
    /// Charging and data port, such as `USB Type-C`.
    #[schema(
        example = "USB Type-C",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub port: String,
    /// Name of the OS skin, such as `MIUI`.
    #[schema(
        example = "MIUI",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub os_name: String,
    /// The Android base, such as `Android 7.1`.
    #[schema(
        example = "Android 7.1",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub os_base: String,
    /// The OS version it ships with, dotted numbers such as `8.5.1`.
    #[schema(value_type = String, example = "8.5.1", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$")]
    pub os_version: OsVersion,
}

impl Specs {
    fn validate(self) -> Result<Specs, CatalogError> {
        Ok(Specs {
            soc: bounded_text("specs.soc", &self.soc)?,
            battery_mah: in_range("specs.battery_mah", self.battery_mah, 1, 100_000)?,
            fast_charging: self.fast_charging,
            main_camera_mp: in_range("specs.main_camera_mp", self.main_camera_mp, 0, 1_000)?,
            port: bounded_text("specs.port", &self.port)?,
            os_name: bounded_text("specs.os_name", &self.os_name)?,
            os_base: bounded_text("specs.os_base", &self.os_base)?,
            os_version: self.os_version,
        })
    }
}

/// One sellable variant of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sku {
    #[schema(example = "MI6-6-64-BLK")]
    pub sku: SkuCode,
    #[schema(example = "mi-6")]
    pub product: ProductId,
    #[schema(
        example = "Black",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub colour: String,
    /// RAM in GB.
    #[schema(example = 6)]
    pub ram_gb: u32,
    /// Storage in GB.
    #[schema(example = 64)]
    pub storage_gb: u32,
}

/// Body of `POST /v1/products/{id}/skus`, and of each SKU inside a new product.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSku {
    #[schema(example = "MI6-6-64-BLK")]
    pub sku: SkuCode,
    #[schema(
        example = "Black",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub colour: String,
    #[schema(example = 6, minimum = 1, maximum = 1024)]
    pub ram_gb: u32,
    #[schema(example = 64, minimum = 1, maximum = 65536)]
    pub storage_gb: u32,
}

impl NewSku {
    pub fn validate(self, product: &ProductId) -> Result<Sku, CatalogError> {
        Ok(Sku {
            sku: self.sku,
            product: product.clone(),
            colour: bounded_text("colour", &self.colour)?,
            ram_gb: in_range("ram_gb", self.ram_gb, 1, 1_024)?,
            storage_gb: in_range("storage_gb", self.storage_gb, 1, 65_536)?,
        })
    }
}

/// A phone model and its variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    #[schema(example = "mi-6")]
    pub id: ProductId,
    #[schema(
        example = "Mi 6",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    pub specs: Specs,
    pub skus: Vec<Sku>,
}

/// Body of `POST /v1/products`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    #[schema(example = "mi-6")]
    pub id: ProductId,
    #[schema(
        example = "Mi 6",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    pub specs: Specs,
    /// SKUs to create with the product; more can be added later.
    #[serde(default)]
    pub skus: Vec<NewSku>,
}

impl NewProduct {
    pub fn validate(self) -> Result<Product, CatalogError> {
        if self.skus.len() > SKUS_PER_PRODUCT_MAX {
            return Err(OutOfRange {
                field: "skus (count)",
                value: self.skus.len() as i64,
                min: 0,
                max: SKUS_PER_PRODUCT_MAX as i64,
            }
            .into());
        }
        let skus = self
            .skus
            .into_iter()
            .map(|s| s.validate(&self.id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Product {
            name: bounded_text("name", &self.name)?,
            specs: self.specs.validate()?,
            id: self.id,
            skus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Specs {
        Specs {
            soc: "Snapdragon 835".into(),
            battery_mah: 3350,
            fast_charging: true,
            main_camera_mp: 12,
            port: "USB Type-C".into(),
            os_name: "MIUI".into(),
            os_base: "Android 7.1".into(),
            os_version: OsVersion::parse("8.5.1").unwrap(),
        }
    }

    #[test]
    fn a_market_gets_the_default_return_window() {
        let m = NewMarket {
            code: MarketCode::parse("IN").unwrap(),
            name: " India ".into(),
            currency: Currency::parse("INR").unwrap(),
            return_window_days: None,
        }
        .validate()
        .unwrap();
        assert_eq!(m.return_window_days, RETURN_WINDOW_DAYS_DEFAULT);
        assert_eq!(m.name, "India");
    }

    #[test]
    fn a_product_validates_its_skus_and_specs() {
        let p = NewProduct {
            id: ProductId::parse("mi-6").unwrap(),
            name: "Mi 6".into(),
            specs: specs(),
            skus: vec![NewSku {
                sku: SkuCode::parse("MI6-6-64-BLK").unwrap(),
                colour: "Black".into(),
                ram_gb: 6,
                storage_gb: 64,
            }],
        };
        let product = p.clone().validate().unwrap();
        assert_eq!(product.skus[0].product.as_str(), "mi-6");

        let mut zero_battery = p.clone();
        zero_battery.specs.battery_mah = 0;
        assert!(zero_battery.validate().is_err());

        let mut blank_name = p;
        blank_name.name = " ".into();
        assert!(blank_name.validate().is_err());
    }
}
