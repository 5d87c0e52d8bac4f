//! The remote targets' clients against in-process servers speaking the services' REST wire
//! formats (`fake_remote`), and the official SDKs as oracles: one test binary.

mod fake_remote;

mod kfp;
mod oracle;
mod vertex;
mod vertex_lineage;
