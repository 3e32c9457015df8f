//! Bearer-token authentication. A request's `Authorization: Bearer <token>` resolves
//! to a [`Principal`]; routes then require a role with an extractor such as
//! [`AdminOnly`] or [`CustomerOnly`]. A missing or unknown token is a 401, a known
//! token with the wrong role a 403.
//!
//! The admin token is a configured secret, or one made on the first start of which
//! only the SHA-256 digest is kept (`admin_token`). Customer tokens
//! (`c.<id>.<expiry, Unix seconds>.<HMAC-SHA256 of both, truncated>`) and clerk tokens
//! (`k.<id>.<store>.<HMAC of both>`) are signed, so checking one needs no database
//! read; the signing key is persisted (or given as `SOLDOUT_TOKEN_KEY`), so tokens
//! stay valid across restarts. A customer token expires (30 days by default) and a
//! successful request made with one in its second half carries a fresh one in the
//! `Soldout-Customer-Token` response header. A clerk can be revoked: the set of
//! revoked clerks is kept in memory and checked with every clerk token.
//!
//! The `Authorization` header is read as RFC 9110 says: the scheme is
//! case-insensitive, and a request with two `Authorization` headers is malformed.

use crate::problem::Problem;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use soldout_core::{ClerkId, CustomerId, LocationId, MarketCode, Principal, ProductId, Serial};
use soldout_engine::rollouts::DeviceClaim;
use soldout_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use subtle::ConstantTimeEq;

/// Longest token we read, in bytes.
const TOKEN_LEN_MAX: usize = 512;
/// How long a customer token lives by default: 30 days.
pub const CUSTOMER_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;
/// The response header that carries a renewed customer token.
pub const RENEWED_TOKEN_HEADER: &str = "soldout-customer-token";
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

/// Why a token was not accepted: each is a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a token of ours, or its signature does not hold.
    Invalid,
    /// A customer token past its expiry.
    Expired,
    /// A clerk's token after an admin revoked the clerk.
    Revoked,
}

impl From<TokenRefusal> for Problem {
    fn from(refusal: TokenRefusal) -> Self {
        match refusal {
            TokenRefusal::Invalid => Problem::unauthorized("the token is not valid"),
            TokenRefusal::Expired => Problem::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "token-expired",
                "Token expired",
                "this customer token has expired; ask the shop's support for a new one (POST /v1/customers/{id}/token)",
            )
            .with_header(axum::http::header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""),
            TokenRefusal::Revoked => Problem::unauthorized("this clerk's access has been revoked"),
        }
    }
}

/// The secrets that identify callers.
#[derive(Clone)]
pub struct Tokens {
    /// The SHA-256 digest of the admin token: a rotation replaces it while the server
    /// runs.
    admin: Arc<RwLock<AdminDigest>>,
    /// HMAC-SHA256 with the signing key already absorbed: each check clones it
    /// instead of hashing the key again.
    keyed: Hmac<Sha256>,
    customer_ttl_secs: i64,
    /// Clerks an admin revoked: their tokens are refused.
    revoked_clerks: Arc<RwLock<HashSet<ClerkId>>>,
}

/// The SHA-256 digest of an admin token.
pub type AdminDigest = [u8; 32];

/// The digest an admin token is checked against.
pub fn admin_digest(token: &str) -> AdminDigest {
    use sha2::Digest;
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Tokens with `admin` as the admin token.
    pub fn new(admin: String, signing_key: &str) -> Self {
        assert!(!admin.is_empty(), "the admin token must not be empty");
        Self::with_admin_digest(admin_digest(&admin), signing_key)
    }

    /// Tokens whose admin token is the one with this digest.
    pub fn with_admin_digest(admin: AdminDigest, signing_key: &str) -> Self {
        assert!(
            !signing_key.is_empty(),
            "the token signing key must not be empty"
        );
        Tokens {
            admin: Arc::new(RwLock::new(admin)),
            keyed: Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
                .expect("HMAC takes a key of any length"),
            customer_ttl_secs: CUSTOMER_TOKEN_TTL_SECS,
            revoked_clerks: Arc::default(),
        }
    }

    /// Customer tokens made from now on live `secs`.
    pub fn with_customer_ttl(mut self, secs: i64) -> Self {
        assert!(secs > 0, "a customer token lives a while");
        self.customer_ttl_secs = secs;
        self
    }

    /// From now on the admin token is the one with `digest` (a rotation).
    pub fn set_admin_digest(&self, digest: AdminDigest) {
        *self.admin.write().unwrap_or_else(|e| e.into_inner()) = digest;
    }

    fn admin_digest(&self) -> AdminDigest {
        *self.admin.read().unwrap_or_else(|e| e.into_inner())
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

    /// The bearer token of a customer, issued at `now`.
    pub fn customer_token(&self, customer: CustomerId, now: DateTime<Utc>) -> String {
        self.customer_token_until(customer, now.timestamp() + self.customer_ttl_secs)
    }

    fn customer_token_until(&self, customer: CustomerId, expires: i64) -> String {
        let digits = customer.0.to_string();
        let expires = expires.to_string();
        format!(
            "c.{digits}.{expires}.{}",
            hex::encode(self.sign(b"customer", &[&digits, &expires]))
        )
    }

    /// When a customer token expires (Unix seconds), read without checking it.
    fn customer_expiry(token: &str) -> Option<i64> {
        let mut parts = token.strip_prefix("c.")?.split('.');
        let (_, expires) = (parts.next()?, parts.next()?);
        canonical_id(expires)
    }

    /// When a customer token says it expires.
    pub fn customer_expires_at(&self, token: &str) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(Self::customer_expiry(token)?, 0)
    }

    /// A fresh token for a valid customer token in the second half of its life.
    pub fn renewed(&self, token: &str, now: DateTime<Utc>) -> Option<String> {
        let expires = Self::customer_expiry(token)?;
        if expires - now.timestamp() > self.customer_ttl_secs / 2 {
            return None;
        }
        match self.check(token, now) {
            Ok(Principal::Customer(id)) => Some(self.customer_token(id, now)),
            _ => None,
        }
    }

    /// The bearer token of a store's clerk.
    pub fn clerk_token(&self, clerk: ClerkId, store: &LocationId) -> String {
        let digits = clerk.0.to_string();
        let signature = self.sign(b"clerk", &[&digits, store.as_str()]);
        format!("k.{digits}.{store}.{}", hex::encode(signature))
    }

    /// Refuses `clerk`'s token from now on.
    pub fn revoke_clerk(&self, clerk: ClerkId) {
        self.revoked_clerks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(clerk);
    }

    fn clerk_revoked(&self, clerk: ClerkId) -> bool {
        self.revoked_clerks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&clerk)
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

    /// Who `token` is at `now`, or why it is refused.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, TokenRefusal> {
        use TokenRefusal::Invalid;
        if let Some(rest) = token.strip_prefix("c.") {
            let mut parts = rest.split('.');
            let (digits, expires, signature) = (
                parts.next().ok_or(Invalid)?,
                parts.next().ok_or(Invalid)?,
                parts.next().ok_or(Invalid)?,
            );
            let id = canonical_id(digits).ok_or(Invalid)?;
            let expiry = canonical_id(expires).ok_or(Invalid)?;
            if parts.next().is_some() || !self.signed(b"customer", &[digits, expires], signature) {
                return Err(Invalid);
            }
            if now.timestamp() >= expiry {
                return Err(TokenRefusal::Expired);
            }
            return Ok(Principal::Customer(CustomerId(id)));
        }
        if let Some(rest) = token.strip_prefix("k.") {
            let (digits, rest) = rest.split_once('.').ok_or(Invalid)?;
            let (store, signature) = rest.split_once('.').ok_or(Invalid)?;
            let id = canonical_id(digits).ok_or(Invalid)?;
            let store = LocationId::parse(store).map_err(|_| Invalid)?;
            if !self.signed(b"clerk", &[digits, store.as_str()], signature) {
                return Err(Invalid);
            }
            if self.clerk_revoked(ClerkId(id)) {
                return Err(TokenRefusal::Revoked);
            }
            return Ok(Principal::Clerk {
                clerk: ClerkId(id),
                store,
            });
        }
        if bool::from(admin_digest(token).ct_eq(&self.admin_digest())) {
            Ok(Principal::Admin)
        } else {
            Err(Invalid)
        }
    }

    /// Who `token` is at `now`, if anyone.
    pub fn resolve(&self, token: &str, now: DateTime<Utc>) -> Option<Principal> {
        self.check(token, now).ok()
    }
}

/// A positive id in canonical decimal digits, so one id has exactly one token.
fn canonical_id(digits: &str) -> Option<i64> {
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| *id > 0)
}

/// The bearer token of a request's headers: a 401 when there is none or it is not a
/// bearer token, a 400 when the request has two `Authorization` headers.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, Problem> {
    let mut all = headers.get_all(AUTHORIZATION).iter();
    let header = all.next().ok_or_else(|| {
        Problem::unauthorized("this route needs a token: send Authorization: Bearer <token>")
    })?;
    if all.next().is_some() {
        return Err(Problem::bad_request(
            "the request has two Authorization headers; send one",
        ));
    }
    let malformed = || Problem::unauthorized("the Authorization header must be: Bearer <token>");
    let header = header
        .to_str()
        .ok()
        .filter(|h| h.len() <= TOKEN_LEN_MAX)
        .ok_or_else(malformed)?;
    let (scheme, token) = header.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(token)
}

fn bearer(parts: &Parts) -> Result<&str, Problem> {
    bearer_token(&parts.headers)
}

/// The renewed token due to a request made with a customer token in the second half
/// of its life, if it is one.
pub(crate) fn renewal(state: &AppState, headers: &axum::http::HeaderMap) -> Option<String> {
    let token = bearer_token(headers).ok()?;
    state.tokens.renewed(token, state.clock.now())
}

/// Adds the renewed token to `response` when it is a success.
pub(crate) fn hand_renewal(response: &mut axum::response::Response, token: &str) {
    if response.status().is_success() {
        if let Ok(value) = axum::http::HeaderValue::from_str(token) {
            response.headers_mut().insert(RENEWED_TOKEN_HEADER, value);
        }
    }
}

/// Any authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts)?;
        state
            .tokens
            .check(token, state.clock.now())
            .map(Caller)
            .map_err(Problem::from)
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
        match state.tokens.check(token, state.clock.now()) {
            Ok(other) => Err(wrong_role(&other, "devices (a device token)")),
            Err(refusal) => Err(refusal.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2017, 7, 4, 1, 0, 0).unwrap()
    }

    fn tokens() -> Tokens {
        Tokens::new("s3cret".into(), "signing-key")
    }

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
        assert_eq!(tokens.resolve(&token, now()), None, "a device is no person");
        let customer = tokens.customer_token(CustomerId(1), now());
        assert_eq!(tokens.resolve_device(&customer), None);
    }

    #[test]
    fn only_the_exact_admin_token_resolves() {
        let tokens = tokens();
        assert_eq!(tokens.resolve("s3cret", now()), Some(Principal::Admin));
        assert_eq!(tokens.resolve("s3cre", now()), None);
        assert_eq!(tokens.resolve("s3cret!", now()), None);
        assert_eq!(tokens.resolve("", now()), None);
    }

    #[test]
    fn customer_tokens_are_signed() {
        let tokens = tokens();
        let token = tokens.customer_token(CustomerId(42), now());
        assert_eq!(
            tokens.resolve(&token, now()),
            Some(Principal::Customer(CustomerId(42)))
        );
        let forged = token.replace("c.42.", "c.43.");
        assert_eq!(tokens.resolve(&forged, now()), None);
        let other_key = Tokens::new("s3cret".into(), "another-key");
        assert_eq!(other_key.resolve(&token, now()), None);
        assert_eq!(tokens.resolve("c.42.", now()), None);
        assert_eq!(tokens.resolve("c.-1.00", now()), None);
        assert_eq!(
            tokens.resolve(&token.replace("c.42.", "c.042."), now()),
            None
        );
        assert_eq!(
            tokens.resolve(&token.replace("c.42.", "c.+42."), now()),
            None
        );
        assert_eq!(tokens.resolve(&format!("{token}.00"), now()), None);
    }

    #[test]
    fn customer_tokens_expire_and_are_renewed_in_their_second_half() {
        let tokens = tokens().with_customer_ttl(1000);
        let token = tokens.customer_token(CustomerId(7), now());
        let at = |secs| now() + chrono::Duration::seconds(secs);
        assert!(tokens.check(&token, at(999)).is_ok());
        assert_eq!(tokens.check(&token, at(1000)), Err(TokenRefusal::Expired));
        let longer = token.replace(
            &format!(".{}.", now().timestamp() + 1000),
            &format!(".{}.", now().timestamp() + 9000),
        );
        assert_eq!(
            tokens.check(&longer, at(1000)),
            Err(TokenRefusal::Invalid),
            "the expiry is signed"
        );
        assert_eq!(tokens.renewed(&token, at(400)), None, "first half");
        let renewed = tokens.renewed(&token, at(600)).expect("second half");
        assert!(tokens.check(&renewed, at(1500)).is_ok());
        assert_eq!(tokens.renewed(&token, at(1000)), None, "expired is expired");
        assert_eq!(tokens.renewed("s3cret", at(600)), None);
    }

    #[test]
    fn clerk_tokens_are_signed_for_one_store_and_can_be_revoked() {
        let tokens = tokens();
        let store = LocationId::parse("store-in-delhi").unwrap();
        let token = tokens.clerk_token(ClerkId(7), &store);
        assert_eq!(
            tokens.resolve(&token, now()),
            Some(Principal::Clerk {
                clerk: ClerkId(7),
                store: store.clone()
            })
        );
        assert_eq!(
            tokens.resolve(
                &token.replace("store-in-delhi", "store-in-bengaluru"),
                now()
            ),
            None
        );
        assert_eq!(tokens.resolve(&token.replace("k.7.", "k.8."), now()), None);
        let customer = tokens.customer_token(CustomerId(7), now());
        let signature = customer.rsplit('.').next().unwrap();
        assert_eq!(
            tokens.resolve(&format!("k.7.store-in-delhi.{signature}"), now()),
            None,
            "a customer's signature does not make a clerk token"
        );
        let other = tokens.clerk_token(ClerkId(8), &store);
        tokens.revoke_clerk(ClerkId(7));
        assert_eq!(tokens.check(&token, now()), Err(TokenRefusal::Revoked));
        assert!(tokens.check(&other, now()).is_ok(), "one clerk at a time");
        let copy = tokens.clone();
        assert_eq!(copy.check(&token, now()), Err(TokenRefusal::Revoked));
    }

    #[test]
    fn the_authorization_header_is_read_as_rfc_9110_says() {
        let with = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            headers
        };
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let headers = with(&[&format!("{scheme} abc")]);
            assert_eq!(bearer_token(&headers).unwrap(), "abc", "{scheme}");
        }
        assert_eq!(bearer_token(&with(&["Bearer   abc  "])).unwrap(), "abc");
        let status = |values: &[&str]| bearer_token(&with(values)).unwrap_err().status;
        assert_eq!(status(&["Bearer abc", "Bearer abc"]), 400);
        assert_eq!(status(&[]), 401);
        assert_eq!(status(&["Basic abc"]), 401);
        assert_eq!(status(&["Bearer"]), 401);
        assert_eq!(status(&["Bearer "]), 401);
        assert_eq!(status(&["Bearerabc"]), 401);
        assert_eq!(status(&["Bearer a b"]), 401);
    }

    #[test]
    fn generated_secrets_differ() {
        let a = random_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret());
    }
}
