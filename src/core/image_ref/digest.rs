//! Content digests `algorithm:encoded`, validated so that a typo cannot reach a registry call.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ImageRefError;

/// A content digest `algorithm:encoded`, validated so that a typo cannot reach a registry call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    value: String,
    colon: usize,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`, `sha512:<128 lowercase hex>`, or any other algorithm
    /// the distribution grammar allows (components of letters and digits joined by `+._-`,
    /// then at least 32 hex digits).
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let invalid = |reason: String| ImageRefError::InvalidDigest {
            digest: input.to_owned(),
            reason,
        };
        let Some((algorithm, encoded)) = input.split_once(':') else {
            return Err(invalid(
                "it has no `:` between algorithm and hex digits: write it as `sha256:<64 hex digits>`"
                    .into(),
            ));
        };
        check_digest_algorithm(algorithm).map_err(invalid)?;
        let expected_len = match algorithm {
            "sha256" => Some(64),
            "sha512" => Some(128),
            a if a.eq_ignore_ascii_case("sha256") || a.eq_ignore_ascii_case("sha512") => {
                return Err(invalid(format!(
                    "the algorithm must be lowercase: write `{}:{}`",
                    a.to_ascii_lowercase(),
                    encoded.to_ascii_lowercase()
                )));
            }
            _ => None,
        };
        if encoded.is_empty() {
            return Err(invalid(
                "no hexadecimal digits follow the `:`: copy the whole digest".into(),
            ));
        }
        if let Some(bad) = encoded.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(invalid(format!(
                "`{bad}` is not a hexadecimal digit (0-9, a-f)"
            )));
        }
        match expected_len {
            Some(n) => {
                if encoded.len() != n {
                    return Err(invalid(format!(
                        "{algorithm} digests have exactly {n} hexadecimal digits, this one has {}: copy the whole digest",
                        encoded.len()
                    )));
                }
                if encoded.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(invalid(format!(
                        "{algorithm} hex digits must be lowercase: write `{algorithm}:{}`",
                        encoded.to_ascii_lowercase()
                    )));
                }
            }
            None => {
                if encoded.len() < 32 {
                    return Err(invalid(format!(
                        "a digest needs at least 32 hexadecimal digits, this one has {}",
                        encoded.len()
                    )));
                }
            }
        }
        Ok(Self {
            value: input.to_owned(),
            colon: algorithm.len(),
        })
    }

    /// `sha256` in `sha256:…`.
    pub fn algorithm(&self) -> &str {
        &self.value[..self.colon]
    }

    /// The hex digits after the `:`.
    pub fn encoded(&self) -> &str {
        &self.value[self.colon + 1..]
    }

    /// The whole digest, as registries and the ECR API expect it.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

fn check_digest_algorithm(algorithm: &str) -> Result<(), String> {
    if algorithm.is_empty() {
        return Err("the algorithm before `:` is missing: write `sha256:<64 hex digits>`".into());
    }
    // Components `[A-Za-z][A-Za-z0-9]*` joined by single `+ . _ -`.
    let mut at_component_start = true;
    for c in algorithm.chars() {
        if at_component_start {
            if !c.is_ascii_alphabetic() {
                return Err(format!(
                    "algorithm `{algorithm}` must start each part with a letter (as in `sha256`)"
                ));
            }
            at_component_start = false;
        } else if matches!(c, '+' | '.' | '_' | '-') {
            at_component_start = true;
        } else if !c.is_ascii_alphanumeric() {
            return Err(format!(
                "algorithm `{algorithm}` contains `{c}`; use letters, digits and `+._-` (as in `sha256`)"
            ));
        }
    }
    if at_component_start {
        return Err(format!(
            "algorithm `{algorithm}` ends with a separator (as in `sha256`, it must end with a letter or digit)"
        ));
    }
    Ok(())
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl FromStr for Digest {
    type Err = ImageRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Digest {
    fn schema_name() -> Cow<'static, str> {
        "Digest".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Content digest `algorithm:hex`, e.g. `sha256:` followed by 64 lowercase hex digits.",
            "pattern": "^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image_ref::test_support::{SHA, p};

    #[test]
    fn digests() {
        let sha512 = format!("sha512:{}", "ab".repeat(64));
        for d in [
            SHA.to_owned(),
            sha512.clone(),
            "blake3:0123456789abcdef0123456789abcdef".to_owned(),
            "sha256+b64u.x_y-z:0123456789ABCDEF0123456789abcdef".to_owned(),
        ] {
            let digest = Digest::parse(&d).unwrap_or_else(|e| panic!("{d}: {e}"));
            assert_eq!(digest.to_string(), d);
            assert_eq!(format!("{}:{}", digest.algorithm(), digest.encoded()), d);
        }
        let r = p(&format!("quay.io/x@{sha512}"));
        assert_eq!(r.digest.as_ref().map(Digest::algorithm), Some("sha512"));
        let json = serde_json::to_string(&Digest::parse(SHA).ok()).unwrap_or_default();
        assert_eq!(json, format!("\"{SHA}\""));
        let back: Result<Digest, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Digest::parse(SHA).ok());
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }
}
