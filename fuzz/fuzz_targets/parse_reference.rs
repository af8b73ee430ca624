//! Feeds arbitrary input to the image reference parser. Beyond "never panics", it checks the
//! promise the rest of the server relies on: whatever parses prints a canonical form that parses
//! back to the same reference, and the short Docker form does too.
//!
//! Run with `cargo +nightly fuzz run parse_reference` from the repository root.

#![no_main]

use healthomics_ecr_mcp::core::image_ref::{EcrRegistryHost, ImageReference};
use healthomics_ecr_mcp::core::registries;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // Host helpers take untrusted strings too (mapping URLs, parameters).
    let _ = registries::classify_host(input);
    let _ = registries::near_miss(input);
    let _ = EcrRegistryHost::parse(input);

    let Ok(reference) = ImageReference::parse(input) else {
        return;
    };
    let canonical = reference.to_string();
    assert_eq!(
        ImageReference::parse(&canonical).as_ref(),
        Ok(&reference),
        "canonical form {canonical:?} of {input:?} must parse back"
    );
    let familiar = reference.familiar();
    assert_eq!(
        ImageReference::parse(&familiar).as_ref(),
        Ok(&reference),
        "familiar form {familiar:?} of {input:?} must parse back"
    );
    let _ = registries::mapping_near_miss(input, &reference.registry);
    let _ = reference.ecr_host();
    let _ = reference.reference_for_pull();
});
