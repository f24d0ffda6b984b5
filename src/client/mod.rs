//! The ANAF services, one module per service, over one `Session` per client handle.

pub mod answer;
pub mod archive;
pub mod batch;
pub mod companies;
pub mod efactura;
pub mod endpoint;
pub mod etransport;
pub mod files;
pub mod http;
pub mod inbox;
pub mod input;
pub mod invoice;
pub mod job;
pub mod jwt;
pub mod lookup;
pub mod oauth;
pub mod pacer;
pub mod pipeline;
pub mod proxy;
pub mod public;
pub mod stare;
pub mod token;
pub mod upload;
pub mod xml_header;

use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// Everything one `anaf_open` handle owns. Shared between host threads (`Arc`), so every
/// field is thread-safe.
pub struct Session {
    pub config: Config,
    /// Shared with the other handles of this process on the same database (Store::shared_for_config).
    pub store: std::sync::Arc<Store>,
    pub http: reqwest::Client,
    /// The inbox sync started with `anaf_inbox_sync_begin`, if any (client::inbox).
    pub inbox_job: std::sync::Mutex<Option<inbox::Job>>,
    /// The upload batch started with `anaf_upload_batch_begin`, if any (client::batch).
    pub batch_job: std::sync::Mutex<Option<batch::Job>>,
    /// What this handle remembers about its company's token (client::companies).
    pub companies: std::sync::Mutex<companies::Memo>,
}

impl Session {
    /// Opens the token database (creating or migrating it) and builds the HTTP client.
    pub fn open(config: Config) -> Result<Session> {
        if let Some(path) = &config.log_file {
            crate::log::init(path);
        }
        if let Some(s) = &config.client_secret {
            crate::log::mask_in_log(s);
        }
        for secret in [&config.client_cert_password, &config.token_key]
            .into_iter()
            .flatten()
        {
            crate::log::mask_in_log(secret);
        }
        if let Some(k) = &config.relay_key {
            crate::log::mask_in_log(k);
        }
        for note in &config.notes {
            ::log::info!(target: "anaf::config", "{note}");
        }
        let store = Store::shared_for_config(&config)?;
        let http = http::build_client(&config)?;
        ::log::info!(
            target: "anaf::session",
            "opened: cif={} environment={} store={}",
            config.cif,
            config.environment.as_str(),
            store.describe()
        );
        Ok(Session {
            config,
            store,
            http,
            inbox_job: Default::default(),
            batch_job: Default::default(),
            companies: Default::default(),
        })
    }
}
