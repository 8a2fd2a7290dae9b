//! Layer 2 of clone3-abi: what a clone3 attempt is ([`Case`]), the tables of cases, and
//! the model that predicts what a kernel release does with each. Nothing here makes a
//! syscall, so the model and the tables are tested on any machine for every release
//! and arch profile.

pub mod case;
pub mod env;
pub mod errno;
pub mod flags;
pub mod fuzz;
pub mod model;
pub mod release;
pub mod tables;

pub use case::{Caller, Case, CgroupArg, Gate, Placement, Ptr, SetTid, Size, Stack, Tail, Tid, Tls};
pub use env::{Env, Features, Have, NsLimits};
pub use errno::Errno;
pub use model::{explain, predict, predict_all, ChildView, Expect, Fate, Observe, Prediction, SpAt};
pub use release::Release;
