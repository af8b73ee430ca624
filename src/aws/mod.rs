//! AWS I/O: the client context and thin, paginated wrappers around the SDK calls the tools make.

pub mod context;
pub mod ecr;
pub mod error;
pub mod omics;
pub mod secrets;

pub use context::{AwsClients, AwsContext, AwsDefaults, AwsTimeouts};
pub use error::{AwsCallError, AwsErrorKind};
