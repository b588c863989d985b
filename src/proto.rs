//! Code generated from `proto/` by build.rs, included here and nowhere else.
//!
//! The rest of the crate converts to and from these types at its edges, so generated
//! names and lint exceptions stay in this one module.

#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![allow(clippy::all)]

/// Terraform plugin protocol 6 (`tfplugin6`).
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's own services: the controller (Shutdown) and stdio streaming.
pub mod plugin {
    tonic::include_proto!("plugin");
}
