//! The admin token when none is configured: the first start makes one, the operator
//! sees it once, and the database keeps only its SHA-256 digest, so later starts (and
//! every node of several) accept the same token and a copy of the database does not
//! give it away. `soldout admin-token rotate` writes a new digest; running servers
//! read it again every [`FOLLOW_EVERY`] and refuse the old token from then on.

use crate::auth::{admin_digest, random_secret, AdminDigest, Tokens};
use soldout_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Where the digest is kept, in the database's settings.
pub const DIGEST_KEY: &str = "auth.admin_token_sha256";
/// How often a running server reads the digest again.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

fn parse(hex_digest: &str) -> Result<AdminDigest, StoreError> {
    let bytes = hex::decode(hex_digest.trim())
        .map_err(|e| StoreError::Invalid(format!("{DIGEST_KEY} is not hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Invalid(format!("{DIGEST_KEY} is not 32 bytes")))
}

/// The kept digest, or a new token whose digest is now kept: `(digest, the new token
/// when one was made)`.
pub async fn kept_or_made(store: &dyn Store) -> Result<(AdminDigest, Option<String>), StoreError> {
    if let Some(kept) = store.meta(DIGEST_KEY).await? {
        return Ok((parse(&kept)?, None));
    }
    let token = random_secret();
    let digest = admin_digest(&token);
    store.set_meta(DIGEST_KEY, &hex::encode(digest)).await?;
    Ok((digest, Some(token)))
}

/// Makes a new admin token and keeps its digest; the old token stops working on every
/// running server within [`FOLLOW_EVERY`].
pub async fn rotate(store: &dyn Store) -> Result<String, StoreError> {
    let token = random_secret();
    store
        .set_meta(DIGEST_KEY, &hex::encode(admin_digest(&token)))
        .await?;
    Ok(token)
}

/// Reads the kept digest every [`FOLLOW_EVERY`] for as long as the server runs, and
/// checks admin tokens against the one it finds.
pub fn follow_rotations(store: Arc<dyn Store>, tokens: Tokens) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FOLLOW_EVERY).await;
            match store
                .meta(DIGEST_KEY)
                .await
                .map(|kept| kept.map(|k| parse(&k)))
            {
                Ok(Some(Ok(digest))) => tokens.set_admin_digest(digest),
                Ok(Some(Err(e))) | Err(e) => {
                    tracing::warn!(error = %e, "reading the admin token's digest failed")
                }
                Ok(None) => {}
            }
        }
    });
}
