//! Workspace tiers and their quotas (the table of the seed), checked by every backend
//! that enforces quotas through `Tier::limits`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A workspace's tier. `Unlimited` is the embedded default: no quota at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Pro,
    Team,
    Enterprise,
    #[default]
    Unlimited,
}

/// The quotas of a tier; `None` means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub namespaces: Option<u64>,
    pub docs_per_namespace: Option<u64>,
    pub max_document_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;
const GB: u64 = 1024 * MB;

impl Tier {
    pub const ALL: [Tier; 5] = [
        Tier::Free,
        Tier::Pro,
        Tier::Team,
        Tier::Enterprise,
        Tier::Unlimited,
    ];

    pub fn limits(self) -> Limits {
        let (namespaces, docs, doc, total) = match self {
            Tier::Free => (Some(5), Some(100), Some(100 * KB), Some(10 * MB)),
            Tier::Pro => (Some(25), Some(1_000), Some(MB), Some(100 * MB)),
            Tier::Team => (Some(100), Some(10_000), Some(5 * MB), Some(GB)),
            Tier::Enterprise => (None, None, Some(10 * MB), None),
            Tier::Unlimited => (None, None, None, None),
        };
        Limits {
            namespaces,
            docs_per_namespace: docs,
            max_document_bytes: doc,
            total_bytes: total,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Team => "team",
            Tier::Enterprise => "enterprise",
            Tier::Unlimited => "unlimited",
        }
    }

    pub fn parse(s: &str) -> Result<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown tier {s:?}: use free, pro, team, enterprise or unlimited"
                ))
            })
    }
}

impl std::str::FromStr for Tier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Tier> {
        Tier::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_tier_matches_the_seed() {
        let l = Tier::Free.limits();
        assert_eq!(l.namespaces, Some(5));
        assert_eq!(l.docs_per_namespace, Some(100));
        assert_eq!(l.max_document_bytes, Some(100 * 1024));
        assert_eq!(l.total_bytes, Some(10 * 1024 * 1024));
        assert_eq!(Tier::parse("team").unwrap(), Tier::Team);
        assert!(Tier::parse("gold").is_err());
    }
}
