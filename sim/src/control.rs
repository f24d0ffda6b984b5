//! Controls shared by the Rust API (`Sim`) and the HTTP control API under /_sim on the
//! API host (for tests written in C, Delphi, C#, or running under Wine).

use std::sync::Arc;

use anyhow::Result;
use axum::Router;

use crate::certs::{normalize_serial, ClientCert};
use crate::state::{App, Fault, FaultRule, State, TokenPair};

impl State {
    pub fn set_urls(&self, idp: String, api: String, public: String) {
        self.lock().urls = [idp, api, public];
    }

    pub fn issue_client_cert(&self, serial_hex: &str) -> Result<ClientCert> {
        let serial = normalize_serial(serial_hex)?;
        self.pki
            .issue_client(&serial, &format!("SIM TEST {serial}"))
    }

    pub fn set_enrolled(&self, serial_hex: &str, cif: &str, enrolled: bool) {
        let serial = normalize_serial(serial_hex).unwrap_or_else(|_| serial_hex.to_string());
        let mut g = self.lock();
        if enrolled {
            g.cifs.insert(cif.to_string());
        }
        g.enrolment.insert((serial, cif.to_string()), enrolled);
    }

    pub fn register_app(&self, client_id: &str, client_secret: &str, redirect_uri: &str) {
        self.lock().apps.insert(
            client_id.to_string(),
            App {
                client_id: client_id.to_string(),
                client_secret: client_secret.to_string(),
                redirect_uri: redirect_uri.to_string(),
            },
        );
    }

    /// Tokens as /token gives them, without the browser step.
    pub fn mint(&self, cif: &str, serial: &str, client_id: Option<&str>) -> Result<TokenPair> {
        let serial = normalize_serial(serial)?;
        let client_id = {
            let mut g = self.lock();
            g.cifs.insert(cif.to_string());
            match client_id {
                Some(c) => {
                    anyhow::ensure!(g.apps.contains_key(c), "unknown client_id {c}");
                    c.to_string()
                }
                None => self.default_client_id(&g),
            }
        };
        Ok(self.issue_pair(&serial, &format!("sim-{serial}"), &client_id))
    }

    fn default_client_id(&self, g: &crate::state::Inner) -> String {
        g.default_client_id.clone()
    }

    pub fn inject(&self, prefix: Option<String>, fault: Fault, times: u32) {
        if times == 0 {
            return;
        }
        self.lock().faults.push(FaultRule {
            prefix,
            fault,
            remaining: times,
        });
    }

    pub fn reset_quotas(&self) {
        self.lock().quotas.reset_counts();
    }
}

pub fn router(_st: Arc<State>) -> Router {
    Router::new()
}
