//! The report of `CheckContainerAvailability`, decided without I/O: which repository and image
//! the caller means and which cache serves it ([`target`]), what to tell the caller to do next
//! ([`advice`]), and the whole result from what was read ([`report`]).
//!
//! The tool resolves the target, reads the account (and pulls through the cache when asked),
//! and hands what it read to [`report::report`].

pub mod advice;
pub mod report;
pub mod target;

pub use advice::{CacheFacts, CheckAdvice, CheckFacts, PullOutcome, advise};
pub use report::{
    CheckOutput, CheckRead, Found, ImageInfo, ImageReading, PlatformInfo, PullAnswer, PullAttempt,
};
pub use target::{Resolved, Target};
