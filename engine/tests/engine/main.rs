//! The local engine on real pipelines compiled by the KFP SDK (`tests/oracle/`), with real
//! processes: one test binary, one module per subject.

mod common;

mod basics;
mod cache;
mod cancel;
mod corpus;
mod limits;
mod logs;
mod props;
mod security;
