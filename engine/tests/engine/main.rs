//! The local engine on real pipelines compiled by the KFP SDK (`tests/oracle/`), with real
//! processes, and its driver on tables of decisions (`driver`, no Python): one test binary,
//! one module per subject.

mod common;

mod basics;
mod cache;
mod cancel;
mod classes;
mod corpus;
mod driver;
mod endpoints;
mod envs;
mod limits;
mod logs;
mod props;
mod security;
