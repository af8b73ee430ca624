//! Helpers shared by the tests of the image reference modules.

use super::{ImageRefError, ImageReference};

pub(super) const SHA: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub(super) fn p(s: &str) -> ImageReference {
    match ImageReference::parse(s) {
        Ok(r) => r,
        Err(e) => panic!("`{s}` should parse: {e}"),
    }
}

pub(super) fn err(s: &str) -> ImageRefError {
    match ImageReference::parse(s) {
        Ok(r) => panic!("`{s}` should fail but parsed as {r}"),
        Err(e) => e,
    }
}
