//! The composition root: start-up (`startup.rs`) and the command line (`cli/`). No business
//! rules live here; they are in `crates/`.

pub mod cli;
pub mod startup;
