//! The helper of the `anaf` tests: a simulator, a folder with the configuration file
//! pointing at it, and the real binary run with that configuration.
#![allow(dead_code)]

use anaf_sim::{Sim, SimConfig};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CIF: &str = "14399840";
pub const SERIAL: &str = "5A1A0001";

/// A simulator and a temporary folder holding `anaf.json` and the token database.
pub struct Env {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
}

/// How one run of `anaf` ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as JSON (the test fails with the output when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Asserts the exit code, showing the whole run when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code of {self:#?}");
        self
    }
}

impl Env {
    pub fn new() -> Env {
        let sim = Sim::start(SimConfig {
            processing_secs: 1,
            ..SimConfig::default()
        })
        .expect("simulator");
        let env = Env {
            sim,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        env.write_config(json!({}));
        env
    }

    /// The configuration for the simulator, with `extra` keys added or replaced.
    pub fn config_json(&self, extra: Value) -> Value {
        let mut v = json!({
            "database": "anaf.db",
            "cif": CIF,
            "environment": "test",
            "language": "en",
            "idp_url": self.sim.idp_url(),
            "api_url": self.sim.api_url(),
            "public_url": self.sim.public_url(),
            "ca_file": self.sim.ca_pem_path(),
            "client_id": "sim-client-id",
            "client_secret": "sim-client-secret",
            "redirect_uri": "https://localhost:9443/anaf/callback",
            "cert_serial": SERIAL,
            "timeout_seconds": 10,
            "connect_timeout_seconds": 5,
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            for (k, x) in e {
                if x.is_null() {
                    m.remove(&k);
                } else {
                    m.insert(k, x);
                }
            }
        }
        v
    }

    /// Writes `anaf.json` (the simulator's configuration plus `extra`; a null removes a key).
    pub fn write_config(&self, extra: Value) -> PathBuf {
        let p = self.config_path();
        std::fs::write(&p, self.config_json(extra).to_string()).unwrap();
        p
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("anaf.json")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `anaf --config <anaf.json> ARGS…`, run in the folder.
    pub fn anaf(&self, args: &[&str]) -> Run {
        let cfg = self.config_path();
        let mut all = vec!["--config", cfg.to_str().unwrap()];
        all.extend_from_slice(args);
        run_in(self.dir.path(), &all, &[])
    }

    /// A token pair minted by the simulator, imported with `anaf token import`.
    pub fn with_token(&self) {
        let pair = self.sim.mint_tokens(CIF, SERIAL);
        self.anaf(&["token", "import", &pair.access_token, &pair.refresh_token])
            .expect(0);
    }
}

/// Runs the binary in `dir` with `args` and extra environment variables; `ANAF_CONFIG`
/// from the test's own environment is never passed on.
pub fn run_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_anaf"));
    c.args(args).current_dir(dir).env_remove("ANAF_CONFIG");
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("running anaf");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The sample invoice with its number replaced, so that each is a new document.
pub fn invoice(number: &str) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/factura_ubl.xml"
    ))
    .unwrap();
    text.replace("ABR-2026-0001", number)
}

pub fn etransport_declaration() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/etransport_v2.xml"
    ))
    .unwrap()
}

/// A port on 127.0.0.1 where nothing listens.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
