-- anaf-bridge: the tables of the token store on mysql, schema version 8.
-- Generated from src/store/dialect.rs; a test fails when this file is stale.
-- With these tables created, the DLL needs only SELECT, INSERT, UPDATE and DELETE on them.

CREATE TABLE anaf_schema (
    id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_token (
    cif VARCHAR(100) NOT NULL,
    client_id VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    token_type VARCHAR(200) DEFAULT 'Bearer' NOT NULL,
    access_expires_at BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    cert_serial VARCHAR(200),
    obtained_at BIGINT NOT NULL,
    refreshed_at BIGINT,
    version BIGINT DEFAULT 1 NOT NULL,
    previous_refresh_hash VARCHAR(200),
    refresh_refused_at BIGINT,
    refresh_error TEXT,
    lease_owner VARCHAR(200),
    lease_until BIGINT,
    lease_refresh_hash VARCHAR(200),
    refresh_hash VARCHAR(200),
    PRIMARY KEY (cif, client_id, environment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_token_cif (
    cif VARCHAR(100) NOT NULL,
    client_id VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    token_cif VARCHAR(100) NOT NULL,
    cert_serial VARCHAR(200),
    assigned_by VARCHAR(200) NOT NULL,
    assigned_at BIGINT NOT NULL,
    accepted_at BIGINT,
    refused_at BIGINT,
    refused_error TEXT,
    PRIMARY KEY (cif, client_id, environment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE INDEX anaf_token_cif_token ON anaf_token_cif (token_cif, client_id, environment);

CREATE TABLE anaf_upload_journal (
    id BIGINT AUTO_INCREMENT NOT NULL,
    cif VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    service VARCHAR(100) NOT NULL,
    standard VARCHAR(200) NOT NULL,
    flags VARCHAR(200),
    sha256 VARCHAR(100) NOT NULL,
    size_bytes BIGINT NOT NULL,
    started_at VARCHAR(200) NOT NULL,
    finished_at VARCHAR(200),
    state VARCHAR(200) NOT NULL,
    index_incarcare VARCHAR(100),
    uit VARCHAR(200),
    last_status VARCHAR(200),
    detail TEXT,
    forced BIGINT DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE INDEX anaf_upload_journal_key ON anaf_upload_journal (cif, environment, service, sha256);

CREATE INDEX anaf_upload_journal_index ON anaf_upload_journal (index_incarcare);

CREATE TABLE anaf_call_count (
    call_day VARCHAR(100) NOT NULL,
    kind VARCHAR(100) NOT NULL,
    call_key VARCHAR(100) NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (call_day, kind, call_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_link (
    cif VARCHAR(100) NOT NULL,
    client_id VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    link_id VARCHAR(200) NOT NULL,
    url TEXT NOT NULL,
    relay_url TEXT NOT NULL,
    retrieval_secret VARCHAR(200) NOT NULL,
    private_key VARCHAR(200) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_until BIGINT,
    sealed_answer TEXT,
    last_reason VARCHAR(200),
    last_detail TEXT,
    last_attempt BIGINT,
    PRIMARY KEY (cif, client_id, environment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_inbox (
    cif VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    message_id VARCHAR(100) NOT NULL,
    message_type VARCHAR(200) NOT NULL,
    created_at VARCHAR(200) NOT NULL,
    created_ms BIGINT NOT NULL,
    id_solicitare VARCHAR(100),
    detalii TEXT,
    supplier_cif VARCHAR(200),
    customer_cif VARCHAR(200),
    listed_at BIGINT NOT NULL,
    state VARCHAR(200) NOT NULL,
    attempts BIGINT DEFAULT 0 NOT NULL,
    last_error TEXT,
    downloaded_at BIGINT,
    zip_base64 LONGTEXT,
    zip_file TEXT,
    zip_sha256 VARCHAR(200),
    zip_bytes BIGINT,
    syntax VARCHAR(200),
    doc_kind VARCHAR(200),
    invoice_number VARCHAR(200),
    issue_date VARCHAR(200),
    due_date VARCHAR(200),
    currency VARCHAR(200),
    supplier_vat VARCHAR(200),
    supplier_name TEXT,
    customer_vat VARCHAR(200),
    customer_name TEXT,
    total_without_vat VARCHAR(200),
    vat_total VARCHAR(200),
    payable VARCHAR(200),
    line_count BIGINT,
    parse_error TEXT,
    anaf_errors TEXT,
    imported_at BIGINT,
    erp_ref TEXT,
    PRIMARY KEY (cif, environment, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE INDEX anaf_inbox_created ON anaf_inbox (cif, environment, created_ms);

CREATE TABLE anaf_inbox_sync (
    cif VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    synced_until BIGINT,
    lease_owner VARCHAR(200),
    lease_until BIGINT,
    last_run_at BIGINT,
    last_result TEXT,
    PRIMARY KEY (cif, environment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_inbox_pdf (
    cif VARCHAR(100) NOT NULL,
    environment VARCHAR(100) NOT NULL,
    message_id VARCHAR(100) NOT NULL,
    pdf_base64 LONGTEXT,
    pdf_file TEXT,
    pdf_bytes BIGINT NOT NULL,
    made_at BIGINT NOT NULL,
    PRIMARY KEY (cif, environment, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_pace (
    scope VARCHAR(100) NOT NULL,
    next_ms BIGINT NOT NULL,
    PRIMARY KEY (scope)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE anaf_lock (
    scope VARCHAR(200) NOT NULL,
    touched BIGINT NOT NULL,
    PRIMARY KEY (scope)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE VIEW anaf_token_v AS
SELECT s.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
       CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
       DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.access_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS access_expires_utc,
       DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refresh_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS refresh_expires_utc,
       (t.access_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS access_days_left,
       (t.refresh_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS refresh_days_left,
       DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.obtained_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS obtained_utc,
       CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refreshed_at SECOND, '%Y-%m-%dT%H:%i:%sZ') END AS refreshed_utc,
       CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
       t.cif AS token_cif
FROM anaf_token_cif s JOIN anaf_token t
  ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment
WHERE s.refused_at IS NULL
UNION ALL
SELECT t.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
       CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
       DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.access_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS access_expires_utc,
       DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refresh_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS refresh_expires_utc,
       (t.access_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS access_days_left,
       (t.refresh_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS refresh_days_left,
       DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.obtained_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS obtained_utc,
       CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refreshed_at SECOND, '%Y-%m-%dT%H:%i:%sZ') END AS refreshed_utc,
       CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
       t.cif AS token_cif
FROM anaf_token t
WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s
                  WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment);

INSERT INTO anaf_schema (id, version) VALUES (1, 8);

-- Upgrading tables of schema version 4 instead (the DLL does this itself where it may ALTER them):
-- ALTER TABLE anaf_token RENAME COLUMN previous_refresh_token TO previous_refresh_hash;
-- ALTER TABLE anaf_token RENAME COLUMN lease_refresh_token TO lease_refresh_hash;
-- ALTER TABLE anaf_token ADD COLUMN refresh_hash VARCHAR(200);
-- DROP VIEW anaf_token_v;
-- CREATE TABLE anaf_inbox (
--       cif VARCHAR(100) NOT NULL,
--       environment VARCHAR(100) NOT NULL,
--       message_id VARCHAR(100) NOT NULL,
--       message_type VARCHAR(200) NOT NULL,
--       created_at VARCHAR(200) NOT NULL,
--       created_ms BIGINT NOT NULL,
--       id_solicitare VARCHAR(100),
--       detalii TEXT,
--       supplier_cif VARCHAR(200),
--       customer_cif VARCHAR(200),
--       listed_at BIGINT NOT NULL,
--       state VARCHAR(200) NOT NULL,
--       attempts BIGINT DEFAULT 0 NOT NULL,
--       last_error TEXT,
--       downloaded_at BIGINT,
--       zip_base64 LONGTEXT,
--       zip_file TEXT,
--       zip_sha256 VARCHAR(200),
--       zip_bytes BIGINT,
--       syntax VARCHAR(200),
--       doc_kind VARCHAR(200),
--       invoice_number VARCHAR(200),
--       issue_date VARCHAR(200),
--       due_date VARCHAR(200),
--       currency VARCHAR(200),
--       supplier_vat VARCHAR(200),
--       supplier_name TEXT,
--       customer_vat VARCHAR(200),
--       customer_name TEXT,
--       total_without_vat VARCHAR(200),
--       vat_total VARCHAR(200),
--       payable VARCHAR(200),
--       line_count BIGINT,
--       parse_error TEXT,
--       anaf_errors TEXT,
--       imported_at BIGINT,
--       erp_ref TEXT,
--       PRIMARY KEY (cif, environment, message_id)
--   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- CREATE INDEX anaf_inbox_created ON anaf_inbox (cif, environment, created_ms);
-- CREATE TABLE anaf_inbox_sync (
--       cif VARCHAR(100) NOT NULL,
--       environment VARCHAR(100) NOT NULL,
--       synced_until BIGINT,
--       lease_owner VARCHAR(200),
--       lease_until BIGINT,
--       last_run_at BIGINT,
--       last_result TEXT,
--       PRIMARY KEY (cif, environment)
--   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- UPDATE anaf_schema SET version = 5 WHERE id = 1 AND version = 4;

-- Upgrading tables of schema version 5 instead (the DLL does this itself where it may ALTER them):
-- CREATE TABLE anaf_inbox_pdf (
--       cif VARCHAR(100) NOT NULL,
--       environment VARCHAR(100) NOT NULL,
--       message_id VARCHAR(100) NOT NULL,
--       pdf_base64 LONGTEXT,
--       pdf_file TEXT,
--       pdf_bytes BIGINT NOT NULL,
--       made_at BIGINT NOT NULL,
--       PRIMARY KEY (cif, environment, message_id)
--   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- UPDATE anaf_schema SET version = 6 WHERE id = 1 AND version = 5;

-- Upgrading tables of schema version 6 instead (the DLL does this itself where it may ALTER them):
-- CREATE TABLE anaf_pace (
--       scope VARCHAR(100) NOT NULL,
--       next_ms BIGINT NOT NULL,
--       PRIMARY KEY (scope)
--   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- UPDATE anaf_schema SET version = 7 WHERE id = 1 AND version = 6;

-- Upgrading tables of schema version 7 instead (the DLL does this itself where it may ALTER them):
-- CREATE TABLE anaf_token_cif (
--       cif VARCHAR(100) NOT NULL,
--       client_id VARCHAR(100) NOT NULL,
--       environment VARCHAR(100) NOT NULL,
--       token_cif VARCHAR(100) NOT NULL,
--       cert_serial VARCHAR(200),
--       assigned_by VARCHAR(200) NOT NULL,
--       assigned_at BIGINT NOT NULL,
--       accepted_at BIGINT,
--       refused_at BIGINT,
--       refused_error TEXT,
--       PRIMARY KEY (cif, client_id, environment)
--   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- CREATE INDEX anaf_token_cif_token ON anaf_token_cif (token_cif, client_id, environment);
-- INSERT INTO anaf_token_cif (cif, client_id, environment, token_cif, cert_serial, assigned_by, assigned_at) SELECT t.cif, t.client_id, t.environment, t.cif, t.cert_serial, 'migration', t.obtained_at FROM anaf_token t WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment);
-- DROP VIEW anaf_token_v;
-- CREATE VIEW anaf_token_v AS
--   SELECT s.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
--          CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
--          DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.access_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS access_expires_utc,
--          DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refresh_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS refresh_expires_utc,
--          (t.access_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS access_days_left,
--          (t.refresh_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS refresh_days_left,
--          DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.obtained_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS obtained_utc,
--          CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refreshed_at SECOND, '%Y-%m-%dT%H:%i:%sZ') END AS refreshed_utc,
--          CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
--          t.cif AS token_cif
--   FROM anaf_token_cif s JOIN anaf_token t
--     ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment
--   WHERE s.refused_at IS NULL
--   UNION ALL
--   SELECT t.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
--          CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
--          DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.access_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS access_expires_utc,
--          DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refresh_expires_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS refresh_expires_utc,
--          (t.access_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS access_days_left,
--          (t.refresh_expires_at - UNIX_TIMESTAMP()) DIV 86400 AS refresh_days_left,
--          DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.obtained_at SECOND, '%Y-%m-%dT%H:%i:%sZ') AS obtained_utc,
--          CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE DATE_FORMAT(TIMESTAMP('1970-01-01') + INTERVAL t.refreshed_at SECOND, '%Y-%m-%dT%H:%i:%sZ') END AS refreshed_utc,
--          CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
--          t.cif AS token_cif
--   FROM anaf_token t
--   WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s
--                     WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment);
-- UPDATE anaf_schema SET version = 8 WHERE id = 1 AND version = 7;

