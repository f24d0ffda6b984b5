//! anaf-bridge: the library behind `anaf_bridge.dll` (win-x86, win-x64) and its Linux
//! twin. ERPs load it to obtain ANAF's OAuth2 token with the company's certificate,
//! keep it fresh in a shared database table, and call e-Factura and e-Transport.
//!
//! Layers, each depending only on those below it:
//! `ffi` → `diagnose` → `login` / `client` → `store` / `config` (with `status`, `error`,
//! `log`, `platform` beside them).

pub mod client;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod ffi;
pub mod log;
pub mod login;
pub mod platform;
pub mod status;
pub mod store;
pub mod time;

pub use error::{Error, Result};

/// The library version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
