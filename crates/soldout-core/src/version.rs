//! OS versions as dotted numbers (`8.5.1`), compared numerically part by part, with
//! missing parts read as zero: `9.0.10 > 9.0.9` and `9.0 == 9.0.0`.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// At most this many dotted parts.
pub const VERSION_PARTS_MAX: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version {0:?} is not dotted numbers such as 8.5.1 (at most {VERSION_PARTS_MAX} parts)")]
pub struct VersionError(pub String);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OsVersion {
    parts: Vec<u32>,
}

impl OsVersion {
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let bad = || VersionError(text.chars().take(40).collect());
        let parts = text
            .split('.')
            .map(|p| {
                if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    Err(bad())
                } else {
                    p.parse::<u32>().map_err(|_| bad())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if parts.len() > VERSION_PARTS_MAX {
            return Err(bad());
        }
        Ok(OsVersion { parts })
    }

    fn part(&self, i: usize) -> u32 {
        self.parts.get(i).copied().unwrap_or(0)
    }
}

impl Ord for OsVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        (0..n)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}
impl PartialOrd for OsVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for OsVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for OsVersion {}

impl TryFrom<String> for OsVersion {
    type Error = VersionError;
    fn try_from(value: String) -> Result<Self, VersionError> {
        Self::parse(&value)
    }
}
impl From<OsVersion> for String {
    fn from(value: OsVersion) -> String {
        value.to_string()
    }
}
impl fmt::Display for OsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> OsVersion {
        OsVersion::parse(s).unwrap()
    }

    #[test]
    fn compares_numerically() {
        assert!(v("9.0.10") > v("9.0.9"));
        assert_eq!(v("9.0"), v("9.0.0"));
        assert!(v("10") > v("9.9.9"));
        assert!(v("8.5.1") < v("9"));
    }

    #[test]
    fn rejects_what_is_not_dotted_numbers() {
        for bad in [
            "",
            "9.",
            ".9",
            "9..1",
            "v9",
            "9.a",
            "1.2.3.4.5.6.7.8.9",
            "99999999999",
        ] {
            assert!(OsVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_as_given() {
        assert_eq!(v("8.5.1").to_string(), "8.5.1");
    }
}
