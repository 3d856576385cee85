//! HTTP routes, one module per resource.

pub mod catalog;
pub mod health;
