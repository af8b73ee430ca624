//! AWS I/O: the client context, thin, paginated wrappers around the SDK calls the tools make, and
//! the account reads that HealthOmics access verdicts are judged from.

pub mod account_reads;
pub mod context;
pub mod ecr;
pub mod error;
pub mod omics;
pub mod secrets;

pub use context::{AwsClients, AwsContext, AwsDefaults, AwsTimeouts};
pub use error::{AwsCallError, AwsConfigError, AwsErrorKind};
