//! Bearer-token authentication. A request's `Authorization: Bearer <token>` resolves
//! to a [`Principal`]; routes then require a role with an extractor such as
//! [`AdminOnly`] or [`CustomerOnly`]. A missing or unknown token is a 401, a known
//! token with the wrong role a 403.
//!
//! The admin token is a configured secret. Customer tokens
//! (`c.<id>.<HMAC-SHA256 of the id, truncated>`) and clerk tokens
//! (`k.<id>.<store>.<HMAC of both>`) are signed, so checking one needs no database
//! read; the signing key is persisted (or given as `SOLDOUT_TOKEN_KEY`), so tokens
//! stay valid across restarts.

use crate::problem::Problem;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use soldout_core::{ClerkId, CustomerId, LocationId, MarketCode, Principal, ProductId, Serial};
use soldout_engine::rollouts::DeviceClaim;
use soldout_store::{Store, StoreError};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Longest token we read, in bytes.
const TOKEN_LEN_MAX: usize = 512;
/// Bytes of HMAC kept in a customer token.
const SIGNATURE_BYTES: usize = 16;

/// A 32-byte random secret, hex.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// The configured secret, or the one persisted under `meta_key`, or a new one that is
/// persisted there, so it survives restarts.
pub async fn persistent_secret(
    store: &dyn Store,
    meta_key: &str,
    configured: Option<String>,
) -> Result<String, StoreError> {
    if let Some(secret) = configured.filter(|s| !s.trim().is_empty()) {
        return Ok(secret);
    }
    if let Some(secret) = store.meta(meta_key).await? {
        return Ok(secret);
    }
    let secret = random_secret();
    store.set_meta(meta_key, &secret).await?;
    Ok(secret)
}

/// The secrets that identify callers.
#[derive(Clone)]
pub struct Tokens {
    admin: Arc<str>,
    /// HMAC-SHA256 with the signing key already absorbed: each check clones it
    /// instead of hashing the key again.
    keyed: Hmac<Sha256>,
}

impl Tokens {
    pub fn new(admin: String, signing_key: &str) -> Self {
        assert!(!admin.is_empty(), "the admin token must not be empty");
        assert!(
            !signing_key.is_empty(),
            "the token signing key must not be empty"
        );
        Tokens {
            admin: admin.into(),
            keyed: Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
                .expect("HMAC takes a key of any length"),
        }
    }

    /// The admin token, to show the operator once at start.
    pub fn admin_token(&self) -> &str {
        &self.admin
    }

    /// A fresh random admin token.
    pub fn generate_admin_token() -> String {
        random_secret()
    }

    /// The signature of a token's subject: its kind and its fields.
    fn sign(&self, kind: &[u8], fields: &[&str]) -> [u8; SIGNATURE_BYTES] {
        let mut mac = self.keyed.clone();
        mac.update(kind);
        for field in fields {
            mac.update(b":");
            mac.update(field.as_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; SIGNATURE_BYTES];
        out.copy_from_slice(&full[..SIGNATURE_BYTES]);
        out
    }

    /// The bearer token of a customer.
    pub fn customer_token(&self, customer: CustomerId) -> String {
        let digits = customer.0.to_string();
        format!(
            "c.{digits}.{}",
            hex::encode(self.sign(b"customer", &[&digits]))
        )
    }

    /// The bearer token of a store's clerk.
    pub fn clerk_token(&self, clerk: ClerkId, store: &LocationId) -> String {
        let digits = clerk.0.to_string();
        let signature = self.sign(b"clerk", &[&digits, store.as_str()]);
        format!("k.{digits}.{store}.{}", hex::encode(signature))
    }

    /// The token of a device handed over: it names the serial, the model and the
    /// market, so a check-in needs no database read (`d.<serial>.<model>.<market>.<sig>`).
    pub fn device_token(&self, device: &DeviceClaim) -> String {
        let fields = [
            device.serial.as_str(),
            device.product.as_str(),
            device.market.as_str(),
        ];
        let signature = hex::encode(self.sign(b"device", &fields));
        format!("d.{}.{}.{}.{signature}", fields[0], fields[1], fields[2])
    }

    /// The device a device token names, if it is one and its signature holds.
    pub fn resolve_device(&self, token: &str) -> Option<DeviceClaim> {
        let mut parts = token.strip_prefix("d.")?.split('.');
        let (serial, product, market, signature) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !self.signed(b"device", &[serial, product, market], signature)
        {
            return None;
        }
        Some(DeviceClaim {
            serial: Serial::parse(serial).ok()?,
            product: ProductId::parse(product).ok()?,
            market: MarketCode::parse(market).ok()?,
        })
    }

    /// Whether `signature` (hex) signs `fields` as a token of `kind`.
    fn signed(&self, kind: &[u8], fields: &[&str], signature: &str) -> bool {
        let mut given = [0u8; SIGNATURE_BYTES];
        if hex::decode_to_slice(signature, &mut given).is_err() {
            return false;
        }
        bool::from(given.ct_eq(&self.sign(kind, fields)))
    }

    pub fn resolve(&self, token: &str) -> Option<Principal> {
        if let Some(rest) = token.strip_prefix("c.") {
            let (digits, signature) = rest.split_once('.')?;
            let id = canonical_id(digits)?;
            return self
                .signed(b"customer", &[digits], signature)
                .then_some(Principal::Customer(CustomerId(id)));
        }
        if let Some(rest) = token.strip_prefix("k.") {
            let (digits, rest) = rest.split_once('.')?;
            let (store, signature) = rest.split_once('.')?;
            let id = canonical_id(digits)?;
            let store = LocationId::parse(store).ok()?;
            return self
                .signed(b"clerk", &[digits, store.as_str()], signature)
                .then_some(Principal::Clerk {
                    clerk: ClerkId(id),
                    store,
                });
        }
        let admin = self.admin.as_bytes();
        let given = token.as_bytes();
        (given.len() == admin.len() && bool::from(given.ct_eq(admin))).then_some(Principal::Admin)
    }
}

/// A positive id in canonical decimal digits, so one id has exactly one token.
fn canonical_id(digits: &str) -> Option<i64> {
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}

/// The request's bearer token, or a 401.
fn bearer(parts: &Parts) -> Result<&str, Problem> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        Problem::unauthorized("this route needs a token: send Authorization: Bearer <token>")
    })?;
    header
        .to_str()
        .ok()
        .filter(|h| h.len() <= TOKEN_LEN_MAX)
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| Problem::unauthorized("the Authorization header must be: Bearer <token>"))
}

/// Any authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts)?;
        state
            .tokens
            .resolve(token)
            .map(Caller)
            .ok_or_else(|| Problem::unauthorized("the token is not valid"))
    }
}

fn wrong_role(principal: &Principal, needed: &str) -> Problem {
    Problem::forbidden(format!(
        "this route is for {needed}; your token has the {} role",
        principal.role()
    ))
}

/// A caller with the admin role.
pub struct AdminOnly;

impl FromRequestParts<AppState> for AdminOnly {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Principal::Admin => Ok(AdminOnly),
            other => Err(wrong_role(&other, "admins")),
        }
    }
}

/// Staff: an admin, or a store's clerk. Handlers then check the store with
/// [`Staff::check_at`].
pub struct Staff(pub Principal);

impl Staff {
    /// Refuses a clerk of another store (403); an admin may act anywhere.
    pub fn check_at(&self, location: &LocationId) -> Result<(), Problem> {
        if self.0.may_act_at(location) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "your token is for another store than {location}"
            )))
        }
    }

    /// The clerk, if the caller is one.
    pub fn clerk(&self) -> Option<ClerkId> {
        match self.0 {
            Principal::Clerk { clerk, .. } => Some(clerk),
            _ => None,
        }
    }

    /// The store a clerk belongs to; `None` for an admin.
    pub fn store(&self) -> Option<&LocationId> {
        match &self.0 {
            Principal::Clerk { store, .. } => Some(store),
            _ => None,
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match Caller::from_request_parts(parts, state).await?.0 {
            p @ (Principal::Admin | Principal::Clerk { .. }) => Ok(Staff(p)),
            other => Err(wrong_role(&other, "admins and store clerks")),
        }
    }
}

/// A signed-up customer.
pub struct CustomerOnly(pub CustomerId);

impl FromRequestParts<AppState> for CustomerOnly {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Principal::Customer(id) => Ok(CustomerOnly(id)),
            other => Err(wrong_role(&other, "customers")),
        }
    }
}

/// A device, by its device token (a person's token here is a 403).
pub struct DeviceOnly(pub DeviceClaim);

impl FromRequestParts<AppState> for DeviceOnly {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts)?;
        if let Some(device) = state.tokens.resolve_device(token) {
            return Ok(DeviceOnly(device));
        }
        match state.tokens.resolve(token) {
            Some(other) => Err(wrong_role(&other, "devices (a device token)")),
            None => Err(Problem::unauthorized("the token is not valid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_tokens_are_signed_for_one_serial_model_and_market() {
        let tokens = tokens();
        let device = DeviceClaim {
            serial: Serial::parse("865321030012345").unwrap(),
            product: ProductId::parse("mi-6").unwrap(),
            market: MarketCode::parse("IN").unwrap(),
        };
        let token = tokens.device_token(&device);
        assert_eq!(tokens.resolve_device(&token), Some(device));
        for forged in [
            token.replace("865321030012345", "865321030012346"),
            token.replace(".mi-6.", ".mi-max-2."),
            token.replace(".IN.", ".CN."),
            format!("{token}.x"),
        ] {
            assert_eq!(tokens.resolve_device(&forged), None, "{forged}");
        }
        assert_eq!(tokens.resolve(&token), None, "a device is no person");
        let customer = tokens.customer_token(CustomerId(1));
        assert_eq!(tokens.resolve_device(&customer), None);
    }

    fn tokens() -> Tokens {
        Tokens::new("s3cret".into(), "signing-key")
    }

    #[test]
    fn only_the_exact_admin_token_resolves() {
        let tokens = tokens();
        assert_eq!(tokens.resolve("s3cret"), Some(Principal::Admin));
        assert_eq!(tokens.resolve("s3cre"), None);
        assert_eq!(tokens.resolve("s3cret!"), None);
        assert_eq!(tokens.resolve(""), None);
    }

    #[test]
    fn customer_tokens_are_signed() {
        let tokens = tokens();
        let token = tokens.customer_token(CustomerId(42));
        assert_eq!(
            tokens.resolve(&token),
            Some(Principal::Customer(CustomerId(42)))
        );
        let forged = token.replace("c.42.", "c.43.");
        assert_eq!(tokens.resolve(&forged), None);
        let other_key = Tokens::new("s3cret".into(), "another-key");
        assert_eq!(other_key.resolve(&token), None);
        assert_eq!(tokens.resolve("c.42."), None);
        assert_eq!(tokens.resolve("c.-1.00"), None);
        assert_eq!(tokens.resolve(&token.replace("c.42.", "c.042.")), None);
        assert_eq!(tokens.resolve(&token.replace("c.42.", "c.+42.")), None);
    }

    #[test]
    fn clerk_tokens_are_signed_for_one_store() {
        let tokens = tokens();
        let store = LocationId::parse("store-in-delhi").unwrap();
        let token = tokens.clerk_token(ClerkId(7), &store);
        assert_eq!(
            tokens.resolve(&token),
            Some(Principal::Clerk {
                clerk: ClerkId(7),
                store: store.clone()
            })
        );
        assert_eq!(
            tokens.resolve(&token.replace("store-in-delhi", "store-in-bengaluru")),
            None
        );
        assert_eq!(tokens.resolve(&token.replace("k.7.", "k.8.")), None);
        let customer = tokens.customer_token(CustomerId(7));
        let signature = customer.rsplit('.').next().unwrap();
        assert_eq!(
            tokens.resolve(&format!("k.7.store-in-delhi.{signature}")),
            None,
            "a customer's signature does not make a clerk token"
        );
    }

    #[test]
    fn generated_secrets_differ() {
        let a = random_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret());
    }
}
