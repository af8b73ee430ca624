//! AWS I/O: the client context, thin, paginated wrappers around the SDK calls the tools make, the
//! account reads that HealthOmics access verdicts are judged from, and those the plans of the
//! setup tools (CreatePTC, the registry map) are made from.

pub mod account_reads;
pub mod context;
pub mod ecr;
pub mod error;
pub mod omics;
pub mod secrets;
pub mod setup_reads;

pub use context::{AwsClients, AwsContext, AwsDefaults, AwsTimeouts};
pub use error::{AwsCallError, AwsConfigError, AwsErrorKind};
