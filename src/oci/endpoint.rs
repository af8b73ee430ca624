//! Where a registry host's traffic goes: its own https address, or a mirror.
//!
//! Users behind a mirror, and the testbed's local registries standing in for quay.io or Docker
//! Hub, need "talk to `quay.io` at `http://127.0.0.1:5001`" without rewriting image names; the
//! names (and so ECR paths and HealthOmics mappings) stay the upstream's.

use std::collections::BTreeMap;
use std::fmt;

use crate::core::image_ref::{DOCKER_HUB_ALIASES, DOCKER_HUB_REGISTRY};
use crate::oci::error::OciError;

/// Environment variable with comma-separated `HOST=URL` mirror entries (same as the flag).
pub const MIRRORS_ENV: &str = "HEALTHOMICS_ECR_REGISTRY_MIRRORS";

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A registry's base address: scheme plus `host[:port]`. No path: the distribution API lives at
/// `/v2/` of the host, and oci-client cannot prefix paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// `host[:port]`, lowercase; IPv6 hosts in brackets.
    pub authority: String,
}

impl Endpoint {
    /// The https endpoint of a registry host, as used when no mirror applies.
    pub fn https(host: &str) -> Self {
        Self {
            scheme: Scheme::Https,
            authority: host.to_ascii_lowercase(),
        }
    }

    /// Parses a base URL such as `https://123456789012.dkr.ecr.us-east-1.amazonaws.com` (the
    /// `proxyEndpoint` ECR returns) or `http://127.0.0.1:5001`. Refuses user info (credentials
    /// do not belong in URLs that end up in logs), paths, queries and other schemes.
    pub fn parse_base_url(input: &str) -> Result<Self, OciError> {
        let trimmed = input.trim();
        let bad = |why: &str| {
            OciError::InvalidInput(format!(
                "registry URL `{}` is not valid: {why}; write it as `https://host[:port]` or `http://host[:port]`",
                redact_userinfo(trimmed)
            ))
        };
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
            Some(_) => return Err(bad("the scheme must be http or https")),
            None => return Err(bad("it has no scheme")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err(bad("it contains user info; pass credentials separately"));
        }
        if authority.contains(['/', '?', '#']) {
            return Err(bad(
                "it has a path, query or fragment, which registries do not use",
            ));
        }
        if authority.is_empty() {
            return Err(bad("the host is empty"));
        }
        // Let the URL parser judge the host and port.
        let url = reqwest::Url::parse(&format!("{}://{authority}/", scheme.as_str()))
            .map_err(|e| bad(&e.to_string()))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("the host is empty"));
        }
        Ok(Self {
            scheme,
            authority: authority.to_ascii_lowercase(),
        })
    }

    /// `scheme://authority`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.authority)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base_url())
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://<redacted>@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Registry host → endpoint overrides, from `--registry-mirror HOST=URL` and the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    by_host: BTreeMap<String, Endpoint>,
}

impl Mirrors {
    /// No mirrors: every host is reached over https at its own address.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses `HOST=URL` entries, e.g. `quay.io=http://127.0.0.1:5001`. Docker Hub's aliases
    /// (`docker.io`, `index.docker.io`) key the same entry as `registry-1.docker.io`. A later
    /// entry for the same host wins, as a flag given twice does.
    pub fn parse<I, S>(entries: I) -> Result<Self, OciError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut mirrors = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let Some((host, url)) = entry.split_once('=') else {
                return Err(OciError::InvalidInput(format!(
                    "registry mirror `{}` has no `=`: write it as HOST=URL, e.g. `quay.io=http://127.0.0.1:5001`",
                    redact_userinfo(entry)
                )));
            };
            mirrors.insert(host, url)?;
        }
        Ok(mirrors)
    }

    /// Parses the comma-separated form used by [`MIRRORS_ENV`].
    pub fn parse_list(list: &str) -> Result<Self, OciError> {
        Self::parse(list.split(','))
    }

    /// Flag entries plus the environment variable's; flags win for a host named in both.
    pub fn from_flags_and_env<I, S>(flags: I) -> Result<Self, OciError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut mirrors = match std::env::var(MIRRORS_ENV) {
            Ok(list) => Self::parse_list(&list)?,
            Err(_) => Self::default(),
        };
        let flags = Self::parse(flags)?;
        mirrors.by_host.extend(flags.by_host);
        Ok(mirrors)
    }

    /// Adds or replaces one mirror, e.g. the testbed's ECR endpoint for an ECR host.
    pub fn insert(&mut self, host: &str, url: &str) -> Result<(), OciError> {
        let host = canonical_host(host.trim());
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(OciError::InvalidInput(format!(
                "registry mirror host `{host}` is not a registry host such as `quay.io` or `localhost:5000`"
            )));
        }
        let endpoint = Endpoint::parse_base_url(url)?;
        self.by_host.insert(host, endpoint);
        Ok(())
    }

    /// Where to send requests for `host`: its mirror, or `https://host`.
    pub fn resolve(&self, host: &str) -> Endpoint {
        let host = canonical_host(host);
        self.by_host
            .get(&host)
            .cloned()
            .unwrap_or_else(|| Endpoint::https(&host))
    }

    /// The mirror entries, for logging at start-up (URLs never hold credentials).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Endpoint)> {
        self.by_host.iter().map(|(h, e)| (h.as_str(), e))
    }

    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }
}

fn canonical_host(host: &str) -> String {
    let lower = host.to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&lower.as_str()) {
        DOCKER_HUB_REGISTRY.to_owned()
    } else {
        lower
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_parse_table() {
        let ok = Mirrors::parse([
            "quay.io=http://127.0.0.1:5001",
            "docker.io=https://mirror.example.com/",
            " ghcr.io = http://[::1]:5002 ",
            "",
        ]);
        let m = match ok {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(m.resolve("quay.io").base_url(), "http://127.0.0.1:5001");
        assert_eq!(m.resolve("QUAY.IO").base_url(), "http://127.0.0.1:5001");
        assert_eq!(
            m.resolve("registry-1.docker.io").base_url(),
            "https://mirror.example.com"
        );
        assert_eq!(m.resolve("ghcr.io").base_url(), "http://[::1]:5002");
        assert_eq!(m.resolve("gcr.io").base_url(), "https://gcr.io");
        assert_eq!(m.entries().count(), 3);

        let bad = [
            "quay.io",
            "quay.io=127.0.0.1:5001",
            "quay.io=ftp://x",
            "quay.io=http://user:pw@127.0.0.1:5001",
            "quay.io=http://127.0.0.1:5001/v2",
            "quay.io=http://",
            "=http://127.0.0.1:1",
        ];
        for entry in bad {
            let err = Mirrors::parse([entry]).err().map(|e| e.to_string());
            assert!(err.is_some(), "{entry}");
            assert!(!err.unwrap_or_default().contains("pw"), "{entry}");
        }
    }

    #[test]
    fn list_form_and_later_wins() {
        let m = Mirrors::parse_list("quay.io=http://127.0.0.1:1,quay.io=http://127.0.0.1:2")
            .unwrap_or_default();
        assert_eq!(m.resolve("quay.io").authority, "127.0.0.1:2");
    }

    #[test]
    fn base_url_table() {
        let cases = [
            (
                "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
                Some("https://123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            ),
            ("HTTP://LocalHost:5000/", Some("http://localhost:5000")),
            ("http://127.0.0.1:99999", None),
            ("localhost:5000", None),
        ];
        for (input, want) in cases {
            let got = Endpoint::parse_base_url(input).ok().map(|e| e.base_url());
            assert_eq!(got.as_deref(), want, "{input}");
        }
    }
}
