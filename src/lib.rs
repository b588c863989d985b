//! A Terraform provider for Siro's Salesforce integration.

pub mod client;
pub mod value;
