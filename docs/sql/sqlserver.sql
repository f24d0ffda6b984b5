-- anaf-bridge: the tables of the token store on sqlserver, schema version 8.
-- Generated from src/store/dialect.rs; a test fails when this file is stale.
-- With these tables created, the DLL needs only SELECT, INSERT, UPDATE and DELETE on them.

CREATE TABLE anaf_schema (
    id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE anaf_token (
    cif NVARCHAR(100) NOT NULL,
    client_id NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    access_token NVARCHAR(4000) NOT NULL,
    refresh_token NVARCHAR(4000) NOT NULL,
    token_type NVARCHAR(200) DEFAULT 'Bearer' NOT NULL,
    access_expires_at BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    cert_serial NVARCHAR(200),
    obtained_at BIGINT NOT NULL,
    refreshed_at BIGINT,
    version BIGINT DEFAULT 1 NOT NULL,
    previous_refresh_hash NVARCHAR(200),
    refresh_refused_at BIGINT,
    refresh_error NVARCHAR(4000),
    lease_owner NVARCHAR(200),
    lease_until BIGINT,
    lease_refresh_hash NVARCHAR(200),
    refresh_hash NVARCHAR(200),
    PRIMARY KEY (cif, client_id, environment)
);

CREATE TABLE anaf_token_cif (
    cif NVARCHAR(100) NOT NULL,
    client_id NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    token_cif NVARCHAR(100) NOT NULL,
    cert_serial NVARCHAR(200),
    assigned_by NVARCHAR(200) NOT NULL,
    assigned_at BIGINT NOT NULL,
    accepted_at BIGINT,
    refused_at BIGINT,
    refused_error NVARCHAR(4000),
    PRIMARY KEY (cif, client_id, environment)
);

CREATE INDEX anaf_token_cif_token ON anaf_token_cif (token_cif, client_id, environment);

CREATE TABLE anaf_upload_journal (
    id BIGINT IDENTITY(1,1) NOT NULL,
    cif NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    service NVARCHAR(100) NOT NULL,
    standard NVARCHAR(200) NOT NULL,
    flags NVARCHAR(200),
    sha256 NVARCHAR(100) NOT NULL,
    size_bytes BIGINT NOT NULL,
    started_at NVARCHAR(200) NOT NULL,
    finished_at NVARCHAR(200),
    state NVARCHAR(200) NOT NULL,
    index_incarcare NVARCHAR(100),
    uit NVARCHAR(200),
    last_status NVARCHAR(200),
    detail NVARCHAR(4000),
    forced BIGINT DEFAULT 0 NOT NULL,
    PRIMARY KEY (id)
);

CREATE INDEX anaf_upload_journal_key ON anaf_upload_journal (cif, environment, service, sha256);

CREATE INDEX anaf_upload_journal_index ON anaf_upload_journal (index_incarcare);

CREATE TABLE anaf_call_count (
    call_day NVARCHAR(100) NOT NULL,
    kind NVARCHAR(100) NOT NULL,
    call_key NVARCHAR(100) NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (call_day, kind, call_key)
);

CREATE TABLE anaf_link (
    cif NVARCHAR(100) NOT NULL,
    client_id NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    link_id NVARCHAR(200) NOT NULL,
    url NVARCHAR(4000) NOT NULL,
    relay_url NVARCHAR(4000) NOT NULL,
    retrieval_secret NVARCHAR(200) NOT NULL,
    private_key NVARCHAR(200) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    claimed_until BIGINT,
    sealed_answer NVARCHAR(4000),
    last_reason NVARCHAR(200),
    last_detail NVARCHAR(4000),
    last_attempt BIGINT,
    PRIMARY KEY (cif, client_id, environment)
);

CREATE TABLE anaf_inbox (
    cif NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    message_id NVARCHAR(100) NOT NULL,
    message_type NVARCHAR(200) NOT NULL,
    created_at NVARCHAR(200) NOT NULL,
    created_ms BIGINT NOT NULL,
    id_solicitare NVARCHAR(100),
    detalii NVARCHAR(4000),
    supplier_cif NVARCHAR(200),
    customer_cif NVARCHAR(200),
    listed_at BIGINT NOT NULL,
    state NVARCHAR(200) NOT NULL,
    attempts BIGINT DEFAULT 0 NOT NULL,
    last_error NVARCHAR(4000),
    downloaded_at BIGINT,
    zip_base64 NVARCHAR(MAX),
    zip_file NVARCHAR(4000),
    zip_sha256 NVARCHAR(200),
    zip_bytes BIGINT,
    syntax NVARCHAR(200),
    doc_kind NVARCHAR(200),
    invoice_number NVARCHAR(200),
    issue_date NVARCHAR(200),
    due_date NVARCHAR(200),
    currency NVARCHAR(200),
    supplier_vat NVARCHAR(200),
    supplier_name NVARCHAR(4000),
    customer_vat NVARCHAR(200),
    customer_name NVARCHAR(4000),
    total_without_vat NVARCHAR(200),
    vat_total NVARCHAR(200),
    payable NVARCHAR(200),
    line_count BIGINT,
    parse_error NVARCHAR(4000),
    anaf_errors NVARCHAR(4000),
    imported_at BIGINT,
    erp_ref NVARCHAR(4000),
    PRIMARY KEY (cif, environment, message_id)
);

CREATE INDEX anaf_inbox_created ON anaf_inbox (cif, environment, created_ms);

CREATE TABLE anaf_inbox_sync (
    cif NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    synced_until BIGINT,
    lease_owner NVARCHAR(200),
    lease_until BIGINT,
    last_run_at BIGINT,
    last_result NVARCHAR(4000),
    PRIMARY KEY (cif, environment)
);

CREATE TABLE anaf_inbox_pdf (
    cif NVARCHAR(100) NOT NULL,
    environment NVARCHAR(100) NOT NULL,
    message_id NVARCHAR(100) NOT NULL,
    pdf_base64 NVARCHAR(MAX),
    pdf_file NVARCHAR(4000),
    pdf_bytes BIGINT NOT NULL,
    made_at BIGINT NOT NULL,
    PRIMARY KEY (cif, environment, message_id)
);

CREATE TABLE anaf_pace (
    scope NVARCHAR(100) NOT NULL,
    next_ms BIGINT NOT NULL,
    PRIMARY KEY (scope)
);

CREATE TABLE anaf_lock (
    scope NVARCHAR(200) NOT NULL,
    touched BIGINT NOT NULL,
    PRIMARY KEY (scope)
);

CREATE VIEW anaf_token_v AS
SELECT s.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
       CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
       CONVERT(NVARCHAR(19), DATEADD(SECOND, t.access_expires_at % 86400, DATEADD(DAY, t.access_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS access_expires_utc,
       CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refresh_expires_at % 86400, DATEADD(DAY, t.refresh_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS refresh_expires_utc,
       (t.access_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS access_days_left,
       (t.refresh_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS refresh_days_left,
       CONVERT(NVARCHAR(19), DATEADD(SECOND, t.obtained_at % 86400, DATEADD(DAY, t.obtained_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS obtained_utc,
       CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refreshed_at % 86400, DATEADD(DAY, t.refreshed_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' END AS refreshed_utc,
       CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
       t.cif AS token_cif
FROM anaf_token_cif s JOIN anaf_token t
  ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment
WHERE s.refused_at IS NULL
UNION ALL
SELECT t.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
       CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
       CONVERT(NVARCHAR(19), DATEADD(SECOND, t.access_expires_at % 86400, DATEADD(DAY, t.access_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS access_expires_utc,
       CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refresh_expires_at % 86400, DATEADD(DAY, t.refresh_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS refresh_expires_utc,
       (t.access_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS access_days_left,
       (t.refresh_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS refresh_days_left,
       CONVERT(NVARCHAR(19), DATEADD(SECOND, t.obtained_at % 86400, DATEADD(DAY, t.obtained_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS obtained_utc,
       CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refreshed_at % 86400, DATEADD(DAY, t.refreshed_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' END AS refreshed_utc,
       CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
       t.cif AS token_cif
FROM anaf_token t
WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s
                  WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment);

INSERT INTO anaf_schema (id, version) VALUES (1, 8);

-- Upgrading tables of schema version 4 instead (the DLL does this itself where it may ALTER them):
-- EXEC sp_rename 'anaf_token.previous_refresh_token', 'previous_refresh_hash', 'COLUMN';
-- EXEC sp_rename 'anaf_token.lease_refresh_token', 'lease_refresh_hash', 'COLUMN';
-- ALTER TABLE anaf_token ADD refresh_hash NVARCHAR(200);
-- DROP VIEW anaf_token_v;
-- CREATE TABLE anaf_inbox (
--       cif NVARCHAR(100) NOT NULL,
--       environment NVARCHAR(100) NOT NULL,
--       message_id NVARCHAR(100) NOT NULL,
--       message_type NVARCHAR(200) NOT NULL,
--       created_at NVARCHAR(200) NOT NULL,
--       created_ms BIGINT NOT NULL,
--       id_solicitare NVARCHAR(100),
--       detalii NVARCHAR(4000),
--       supplier_cif NVARCHAR(200),
--       customer_cif NVARCHAR(200),
--       listed_at BIGINT NOT NULL,
--       state NVARCHAR(200) NOT NULL,
--       attempts BIGINT DEFAULT 0 NOT NULL,
--       last_error NVARCHAR(4000),
--       downloaded_at BIGINT,
--       zip_base64 NVARCHAR(MAX),
--       zip_file NVARCHAR(4000),
--       zip_sha256 NVARCHAR(200),
--       zip_bytes BIGINT,
--       syntax NVARCHAR(200),
--       doc_kind NVARCHAR(200),
--       invoice_number NVARCHAR(200),
--       issue_date NVARCHAR(200),
--       due_date NVARCHAR(200),
--       currency NVARCHAR(200),
--       supplier_vat NVARCHAR(200),
--       supplier_name NVARCHAR(4000),
--       customer_vat NVARCHAR(200),
--       customer_name NVARCHAR(4000),
--       total_without_vat NVARCHAR(200),
--       vat_total NVARCHAR(200),
--       payable NVARCHAR(200),
--       line_count BIGINT,
--       parse_error NVARCHAR(4000),
--       anaf_errors NVARCHAR(4000),
--       imported_at BIGINT,
--       erp_ref NVARCHAR(4000),
--       PRIMARY KEY (cif, environment, message_id)
--   );
-- CREATE INDEX anaf_inbox_created ON anaf_inbox (cif, environment, created_ms);
-- CREATE TABLE anaf_inbox_sync (
--       cif NVARCHAR(100) NOT NULL,
--       environment NVARCHAR(100) NOT NULL,
--       synced_until BIGINT,
--       lease_owner NVARCHAR(200),
--       lease_until BIGINT,
--       last_run_at BIGINT,
--       last_result NVARCHAR(4000),
--       PRIMARY KEY (cif, environment)
--   );
-- UPDATE anaf_schema SET version = 5 WHERE id = 1 AND version = 4;

-- Upgrading tables of schema version 5 instead (the DLL does this itself where it may ALTER them):
-- CREATE TABLE anaf_inbox_pdf (
--       cif NVARCHAR(100) NOT NULL,
--       environment NVARCHAR(100) NOT NULL,
--       message_id NVARCHAR(100) NOT NULL,
--       pdf_base64 NVARCHAR(MAX),
--       pdf_file NVARCHAR(4000),
--       pdf_bytes BIGINT NOT NULL,
--       made_at BIGINT NOT NULL,
--       PRIMARY KEY (cif, environment, message_id)
--   );
-- UPDATE anaf_schema SET version = 6 WHERE id = 1 AND version = 5;

-- Upgrading tables of schema version 6 instead (the DLL does this itself where it may ALTER them):
-- CREATE TABLE anaf_pace (
--       scope NVARCHAR(100) NOT NULL,
--       next_ms BIGINT NOT NULL,
--       PRIMARY KEY (scope)
--   );
-- UPDATE anaf_schema SET version = 7 WHERE id = 1 AND version = 6;

-- Upgrading tables of schema version 7 instead (the DLL does this itself where it may ALTER them):
-- CREATE TABLE anaf_token_cif (
--       cif NVARCHAR(100) NOT NULL,
--       client_id NVARCHAR(100) NOT NULL,
--       environment NVARCHAR(100) NOT NULL,
--       token_cif NVARCHAR(100) NOT NULL,
--       cert_serial NVARCHAR(200),
--       assigned_by NVARCHAR(200) NOT NULL,
--       assigned_at BIGINT NOT NULL,
--       accepted_at BIGINT,
--       refused_at BIGINT,
--       refused_error NVARCHAR(4000),
--       PRIMARY KEY (cif, client_id, environment)
--   );
-- CREATE INDEX anaf_token_cif_token ON anaf_token_cif (token_cif, client_id, environment);
-- INSERT INTO anaf_token_cif (cif, client_id, environment, token_cif, cert_serial, assigned_by, assigned_at) SELECT t.cif, t.client_id, t.environment, t.cif, t.cert_serial, 'migration', t.obtained_at FROM anaf_token t WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment);
-- DROP VIEW anaf_token_v;
-- CREATE VIEW anaf_token_v AS
--   SELECT s.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
--          CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
--          CONVERT(NVARCHAR(19), DATEADD(SECOND, t.access_expires_at % 86400, DATEADD(DAY, t.access_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS access_expires_utc,
--          CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refresh_expires_at % 86400, DATEADD(DAY, t.refresh_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS refresh_expires_utc,
--          (t.access_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS access_days_left,
--          (t.refresh_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS refresh_days_left,
--          CONVERT(NVARCHAR(19), DATEADD(SECOND, t.obtained_at % 86400, DATEADD(DAY, t.obtained_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS obtained_utc,
--          CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refreshed_at % 86400, DATEADD(DAY, t.refreshed_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' END AS refreshed_utc,
--          CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
--          t.cif AS token_cif
--   FROM anaf_token_cif s JOIN anaf_token t
--     ON t.cif = s.token_cif AND t.client_id = s.client_id AND t.environment = s.environment
--   WHERE s.refused_at IS NULL
--   UNION ALL
--   SELECT t.cif AS cif, t.client_id, t.environment, t.token_type, t.cert_serial, t.version,
--          CASE WHEN t.access_token LIKE 'anafseal1:%' THEN NULL ELSE t.access_token END AS access_token,
--          CONVERT(NVARCHAR(19), DATEADD(SECOND, t.access_expires_at % 86400, DATEADD(DAY, t.access_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS access_expires_utc,
--          CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refresh_expires_at % 86400, DATEADD(DAY, t.refresh_expires_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS refresh_expires_utc,
--          (t.access_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS access_days_left,
--          (t.refresh_expires_at - DATEDIFF_BIG(SECOND, '1970-01-01', SYSUTCDATETIME())) / 86400 AS refresh_days_left,
--          CONVERT(NVARCHAR(19), DATEADD(SECOND, t.obtained_at % 86400, DATEADD(DAY, t.obtained_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' AS obtained_utc,
--          CASE WHEN t.refreshed_at IS NULL THEN NULL ELSE CONVERT(NVARCHAR(19), DATEADD(SECOND, t.refreshed_at % 86400, DATEADD(DAY, t.refreshed_at / 86400, CAST('1970-01-01' AS DATETIME2))), 126) + 'Z' END AS refreshed_utc,
--          CASE WHEN t.refresh_refused_at IS NULL THEN 0 ELSE 1 END AS login_required,
--          t.cif AS token_cif
--   FROM anaf_token t
--   WHERE NOT EXISTS (SELECT 1 FROM anaf_token_cif s
--                     WHERE s.cif = t.cif AND s.client_id = t.client_id AND s.environment = t.environment);
-- UPDATE anaf_schema SET version = 8 WHERE id = 1 AND version = 7;

