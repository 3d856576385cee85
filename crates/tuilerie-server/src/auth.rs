//! Bearer tokens: created by `tuilerie token create`, kept in the store as
//! SHA-256 digests, checked here on every write.
//!
//! - The tokens are held in memory and read again from the store every
//!   [`REFRESH`], so a token revoked by the command line while the server
//!   runs is refused within a second; an unknown token makes them read
//!   again at once (at most every 10 ms), so a token just created works
//!   at its first use.
//! - A presented token is hashed and compared with every known digest in
//!   constant time (`subtle`); the secret is never logged or stored.
//! - Each token has a small write budget (a token bucket: `[server]
//!   write_rate` per second, bursts of `write_burst`); over it, 429 with
//!   `Retry-After`.
//! - When a token was last used is written back to the store in batches.

use crate::error::ApiError;
use crate::store::{Role, Store, TokenRecord};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// How often tokens are read again from the store.
pub const REFRESH: Duration = Duration::from_millis(500);

/// Prefix of every token (recognisable by secret scanners).
pub const TOKEN_PREFIX: &str = "tlr_";

/// A new random token: 256 bits from the OS generator, hex, with the prefix.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut s = String::with_capacity(TOKEN_PREFIX.len() + 64);
    s.push_str(TOKEN_PREFIX);
    for b in bytes {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Who made a request: a valid, unrevoked token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub layers: Option<Vec<String>>,
}

/// What a write needs.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// Maps and tables: admin, or a token scoped to `maps`.
    Maps,
    /// Feature edits on a layer: admin, or an editor scoped to it.
    Edit(&'a str),
    /// The audit log of every layer: admin.
    Audit,
    /// Status observations on a layer: admin, or a sensor or editor scoped
    /// to it.
    Observe(&'a str),
}

impl Principal {
    fn scoped_to(&self, what: &str) -> bool {
        self.layers.as_ref().is_none_or(|l| l.iter().any(|x| x == what))
    }

    /// Whether this token may do `need`; the error names what is missing.
    pub fn allows(&self, need: Need<'_>) -> Result<(), ApiError> {
        let ok = match (self.role, need) {
            (Role::Admin, _) => true,
            (_, Need::Maps) => self.layers.as_ref().is_some_and(|l| l.iter().any(|x| x == "maps")),
            (Role::Editor, Need::Edit(layer)) => self.scoped_to(layer),
            (Role::Editor | Role::Sensor, Need::Observe(layer)) => self.scoped_to(layer),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let missing = match need {
            Need::Maps => "an admin token or one scoped to \"maps\"".to_string(),
            Need::Edit(layer) => format!("an admin token or an editor token scoped to layer {layer:?}"),
            Need::Audit => "an admin token".to_string(),
            Need::Observe(layer) => format!("an admin token or a sensor or editor token scoped to layer {layer:?}"),
        };
        Err(ApiError::Forbidden {
            message: format!("token {:?} ({}) may not do this: it needs {missing}", self.name, self.role.as_str()),
        })
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The tokens the server knows, refreshed from the store.
pub struct Auth {
    store: Arc<dyn Store>,
    tokens: RwLock<Vec<TokenRecord>>,
    used: Mutex<HashMap<String, String>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    rate: f64,
    burst: f64,
    /// When an unknown token last made the tokens be read again (at most
    /// every [`MISS_REFRESH`]: a token just created works at once, a flood
    /// of unknown tokens costs at most a hundred small reads a second).
    miss_refreshed: Mutex<Option<Instant>>,
}

/// Least time between two reads of the tokens caused by unknown tokens.
const MISS_REFRESH: Duration = Duration::from_millis(10);

impl Auth {
    /// Reads the tokens once; [`Auth::start`] keeps them fresh.
    pub fn new(store: Arc<dyn Store>, rate: f64, burst: f64) -> Arc<Self> {
        let tokens = store.tokens().unwrap_or_else(|e| {
            tracing::error!("cannot read tokens: {e}");
            Vec::new()
        });
        Arc::new(Auth {
            store,
            tokens: RwLock::new(tokens),
            used: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            rate,
            burst,
            miss_refreshed: Mutex::new(None),
        })
    }

    /// A thread that reads the tokens again every [`REFRESH`] and writes
    /// back when they were last used. Stops when `self` is dropped.
    pub fn start(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let _ = std::thread::Builder::new().name("tuilerie-tokens".into()).spawn(move || {
            let mut ticks = 0u32;
            loop {
                std::thread::sleep(REFRESH);
                let Some(auth) = weak.upgrade() else { return };
                auth.refresh();
                ticks += 1;
                if ticks.is_multiple_of(10) {
                    auth.flush_used();
                }
            }
        });
    }

    /// Reads the tokens from the store now.
    pub fn refresh(&self) {
        match self.store.tokens() {
            Ok(t) => *self.tokens.write().unwrap_or_else(|e| e.into_inner()) = t,
            Err(e) => tracing::warn!("cannot read tokens (keeping the known ones): {e}"),
        }
    }

    fn flush_used(&self) {
        let used: Vec<(String, String)> =
            std::mem::take(&mut *self.used.lock().unwrap_or_else(|e| e.into_inner())).into_iter().collect();
        if !used.is_empty() {
            if let Err(e) = self.store.touch_tokens(&used) {
                tracing::warn!("cannot record when tokens were used: {e}");
            }
        }
    }

    /// The token of `Authorization: Bearer ...`, if any: `Ok(None)` without
    /// the header, 401 when it is malformed, unknown or revoked.
    pub fn principal(&self, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else { return Ok(None) };
        let text = value.to_str().unwrap_or("");
        let secret = match text.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => return Err(ApiError::Unauthorized { message: "Authorization must be \"Bearer <token>\"".into() }),
        };
        let hash = digest(secret);
        let mut found = self.lookup(&hash);
        if found.is_none() {
            // Perhaps created since the last read (tuilerie token create).
            let due = {
                let mut last = self.miss_refreshed.lock().unwrap_or_else(|e| e.into_inner());
                let due = last.is_none_or(|t| t.elapsed() >= MISS_REFRESH);
                if due {
                    *last = Some(Instant::now());
                }
                due
            };
            if due {
                self.refresh();
                found = self.lookup(&hash);
            }
        }
        match found {
            Some(t) if t.revoked.is_none() => {
                self.used.lock().unwrap_or_else(|e| e.into_inner()).insert(t.name.clone(), crate::store::now());
                Ok(Some(Principal { name: t.name, role: t.role, layers: t.layers }))
            }
            Some(t) => Err(ApiError::Unauthorized { message: format!("token {:?} was revoked", t.name) }),
            None => Err(ApiError::Unauthorized { message: "unknown token".into() }),
        }
    }

    /// The token with this digest. Every digest is compared, in constant
    /// time: no early exit.
    fn lookup(&self, hash: &[u8; 32]) -> Option<TokenRecord> {
        let tokens = self.tokens.read().unwrap_or_else(|e| e.into_inner());
        let mut found: Option<&TokenRecord> = None;
        for t in tokens.iter() {
            if bool::from(t.hash.ct_eq(hash)) {
                found = Some(t);
            }
        }
        found.cloned()
    }

    /// The principal of a write whose needs are checked later (a batch of
    /// several layers): 401 without a valid token, 429 past its budget.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let p = self.principal(headers)?.ok_or_else(|| ApiError::Unauthorized {
            message: "this request needs a token: Authorization: Bearer <token> (tuilerie token create)".into(),
        })?;
        self.spend(&p.name)?;
        Ok(p)
    }

    /// The principal of a write: 401 without a valid token, 403 when it may
    /// not do `need`, 429 when it writes faster than its budget.
    pub fn authorize(&self, headers: &HeaderMap, need: Need<'_>) -> Result<Principal, ApiError> {
        let p = self.principal(headers)?.ok_or_else(|| ApiError::Unauthorized {
            message: "this request needs a token: Authorization: Bearer <token> (tuilerie token create)".into(),
        })?;
        p.allows(need)?;
        self.spend(&p.name)?;
        Ok(p)
    }

    /// Takes one write from the token's bucket.
    fn spend(&self, name: &str) -> Result<(), ApiError> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(name.to_string()).or_insert(Bucket { tokens: self.burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        crate::metrics::refusal("write_rate");
        let wait = ((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64;
        Err(ApiError::TooManyRequests {
            message: format!(
                "token {name:?} writes faster than {} per second (server.write_rate); retry in {wait} s",
                self.rate
            ),
            retry_after: wait,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_256_bit_hex_with_the_prefix() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert!(a[TOKEN_PREFIX.len()..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn roles_and_scopes_decide_what_a_token_may_do() {
        let p = |role, layers: Option<&[&str]>| Principal {
            name: "t".into(),
            role,
            layers: layers.map(|l| l.iter().map(|s| s.to_string()).collect()),
        };
        assert!(p(Role::Admin, None).allows(Need::Audit).is_ok());
        assert!(p(Role::Editor, None).allows(Need::Edit("a")).is_ok());
        assert!(p(Role::Editor, Some(&["a"])).allows(Need::Edit("a")).is_ok());
        let e = p(Role::Editor, Some(&["a"])).allows(Need::Edit("b")).unwrap_err().to_string();
        assert!(e.contains("scoped to layer \"b\""), "{e}");
        assert!(p(Role::Editor, None).allows(Need::Maps).is_err());
        assert!(p(Role::Editor, Some(&["maps"])).allows(Need::Maps).is_ok());
        assert!(p(Role::Sensor, None).allows(Need::Edit("a")).is_err());
        assert!(p(Role::Editor, None).allows(Need::Audit).is_err());
        assert!(p(Role::Sensor, Some(&["a"])).allows(Need::Observe("a")).is_ok());
        assert!(p(Role::Sensor, Some(&["a"])).allows(Need::Observe("b")).is_err());
        assert!(p(Role::Editor, None).allows(Need::Observe("b")).is_ok());
    }
}
