//! A Terraform provider for Siro's Salesforce integration.
//!
//! Terraform starts the binary as a plugin (see [`plugin::serve`]) and calls it over gRPC
//! with the Terraform plugin protocol, version 6. The provider manages one resource,
//! `siro_salesforce_integration`, through Siro's external API ([`client`]).

pub mod client;
pub mod diag;
pub mod logging;
pub mod plugin;
pub mod proto;
pub mod provider;
pub mod resource;
pub mod schema;
pub mod server;
pub mod value;
