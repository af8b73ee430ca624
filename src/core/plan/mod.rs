//! Pure plans: from what was read in the account to what to write and what to say. A tool
//! handler reads, calls its plan, executes the plan's writes, reads back and checks the plan's
//! expectations; every decision is testable here without I/O.

pub mod check;
pub mod clone;
pub mod grant;
pub mod map_destinations;
pub mod run_role;
