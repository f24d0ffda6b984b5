{ AnafBridge.pas - Delphi / Free Pascal binding of anaf_bridge.dll (ANAF OAuth2 token,
  e-Factura, e-Transport).

  Works with Delphi 7 (ANSI strings) through Delphi 12 (Unicode strings) and with Free
  Pascal in Delphi mode. Two layers:
  - the raw cdecl imports of every function of include/anaf_bridge.h (generated block
    below; bindings/gen_imports.py rewrites it from the header);
  - TAnafClient, which owns the client handle, converts strings to and from UTF-8,
    frees every string the DLL returns and raises EAnafError (status + message) on error.

  Use the DLL of your program's bitness: a 32-bit program needs win-x86\anaf_bridge.dll,
  a 64-bit program win-x64\anaf_bridge.dll (the installer puts both where Windows finds
  them). The imports are static: the program does not start if the DLL is missing. }

unit AnafBridge;

{$IFDEF FPC}
  {$MODE DELPHI}
  {$H+}
{$ENDIF}

interface

uses
  SysUtils;

const
{$IFDEF MSWINDOWS}
  AnafLib = 'anaf_bridge.dll';
{$ELSE}
  AnafLib = 'anaf_bridge';
{$ENDIF}

{$IFDEF CPUX64} {$DEFINE ANAF_64} {$ENDIF}
{$IFDEF CPU64} {$DEFINE ANAF_64} {$ENDIF}

type
{$IFDEF ANAF_64}
  TAnafSize = UInt64;
{$ELSE}
  TAnafSize = Cardinal;
{$ENDIF}
  PAnafSize = ^TAnafSize;
  PAnafPChar = ^PAnsiChar;
  PAnafClient = Pointer;
  PPAnafClient = ^PAnafClient;

{ BEGIN GENERATED IMPORTS }
const
  ANAF_MAX_ERROR_BYTES = 4096; { and what was wrong may be a 50 MB value, cut with " […]". }
  ANAF_OK = 0; { Success. }
  ANAF_PENDING = 1; { Not finished yet: a browser link still waiting, or ANAF still processing a message. }
  ANAF_ALREADY_UPLOADED = 2; { The same XML was already uploaded for this CIF: the answer carries its index_incarcare. }
  ANAF_ERR_NULL_POINTER = -1; { A required pointer argument was NULL. }
  ANAF_ERR_INVALID_UTF8 = -2; { A string argument is not valid UTF-8. }
  ANAF_ERR_INVALID_JSON = -3; { A JSON argument could not be parsed. }
  ANAF_ERR_INVALID_CONFIG = -4; { The configuration has a missing, unknown or invalid field (named in the message). }
  ANAF_ERR_INVALID_ARGUMENT = -5; { An argument has an invalid value (named in the message). }
  ANAF_ERR_NOT_IMPLEMENTED = -6; { This function is declared but not available in this build. }
  ANAF_ERR_INTERNAL = -7; { An internal error was caught at the API boundary; the host process is unaffected. }
  ANAF_ERR_DATABASE = -10; { The token database could not be opened or used. }
  ANAF_ERR_DATABASE_LOCKED = -11; { The token database stayed locked by another process longer than the busy timeout. }
  ANAF_ERR_DATABASE_READONLY = -12; { The token database (or its folder) is read-only. }
  ANAF_ERR_DATABASE_NEWER = -13; { The token database was created by a newer version of anaf-bridge. }
  ANAF_ERR_DATABASE_CORRUPT = -14; { The token database or a token row is damaged. }
  ANAF_ERR_NO_TOKEN = -20; { No token is stored for this profile: generate one with the certificate. }
  ANAF_ERR_LOGIN_REQUIRED = -21; { The refresh token is expired or refused: a new login with the certificate is needed. }
  ANAF_ERR_INVALID_CLIENT = -22; { ANAF refused the client_id / client_secret. }
  ANAF_ERR_OAUTH = -23; { ANAF's identity provider answered with another OAuth error (message kept). }
  ANAF_ERR_ACCESS_DENIED = -24; { ANAF denied access: USB token not plugged in or certificate not enrolled in SPV for this CIF. }
  ANAF_ERR_CANCELLED = -25; { The user closed the login window or cancelled. }
  ANAF_ERR_TIMEOUT = -26; { The operation did not finish within its timeout. }
  ANAF_ERR_CERT_NOT_FOUND = -27; { No certificate with the configured serial number was offered. }
  ANAF_ERR_TLS = -28; { The TLS connection failed (certificate, handshake, trust). }
  ANAF_ERR_WEBVIEW2_MISSING = -29; { The Microsoft Edge WebView2 runtime is not installed. }
  ANAF_ERR_STATE_MISMATCH = -30; { The login answer does not belong to this login (state mismatch). }
  ANAF_ERR_CODE_EXPIRED = -31; { The authorization code expired (it must be used within 60 seconds) or was already used. }
  ANAF_ERR_REDIRECT_MISMATCH = -32; { The redirect_uri does not match the callback registered in SPV. }
  ANAF_ERR_WINDOW = -33; { The login window could not be created. }
  ANAF_ERR_NETWORK = -40; { The network is unreachable (DNS, connection refused or reset). }
  ANAF_ERR_HTTP = -41; { ANAF answered with an unexpected HTTP status (e.g. 5xx). }
  ANAF_ERR_UNAUTHORIZED = -42; { ANAF refused the token for this call (401/403): not entitled to this CIF or service. }
  ANAF_ERR_RATE_LIMITED = -43; { Too many requests (HTTP 429): slow down. }
  ANAF_ERR_QUOTA_EXCEEDED = -44; { ANAF's daily quota for this call is used up. }
  ANAF_ERR_HTML_RESPONSE = -45; { An HTML page came back where XML/JSON/PDF was expected (firewall, proxy, maintenance). }
  ANAF_ERR_BAD_RESPONSE = -46; { ANAF's answer could not be understood. }
  ANAF_ERR_REJECTED = -47; { ANAF processed the request and rejected it (its message is kept). }
  ANAF_ERR_UPLOAD_UNCERTAIN = -48; { have received it, so it was not sent again. Check the message list or upload with `force`. }
  ANAF_ERR_FILE = -50; { A file could not be read or written. }
  ANAF_ERR_NOT_XML = -51; { The document is not well-formed XML. }
  ANAF_ERR_TOO_LARGE = -52; { The document is larger than ANAF accepts (10 MB). }
  ANAF_ERR_LINK_EXPIRED = -60; { The browser link expired (5 hours) before a token was generated. }
  ANAF_ERR_LINK_FAILED = -61; { The browser link failed: the token could not be generated in the browser. }
  ANAF_ERR_NO_LINK = -62; { No browser link is in progress for this client. }
  ANAF_ERR_SYNC_BUSY = -70; { The company's inbox is being synced by another process or workstation right now. }
  ANAF_ERR_NO_MESSAGE = -71; { No such message in the inbox (or it was not downloaded yet). }
  ANAF_ERR_NO_SYNC = -72; { No inbox sync was begun on this client (or its outcome was already polled). }
  ANAF_ERR_BATCH_INCOMPLETE = -80; { Some invoices of an `anaf_upload_batch` are not at ANAF; its JSON says which and why. }
  ANAF_ERR_BATCH_BUSY = -81; { A batch begun with `anaf_upload_batch_begin` on this client is still running. }
  ANAF_ERR_NO_BATCH = -82; { No batch was begun on this client (or its outcome was already polled). }
  ANAF_SCHEMA_VERSION = 8; { The anaf_schema.version this DLL writes; a file of a newer one is refused (DATABASE_NEWER). }

function anaf_upload_batch(client: PAnafClient; items_json: PAnsiChar; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_upload_batch';
function anaf_upload_batch_begin(client: PAnafClient; items_json: PAnsiChar; options_json: PAnsiChar): Integer; cdecl; external AnafLib name 'anaf_upload_batch_begin';
function anaf_upload_batch_poll(client: PAnafClient; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_upload_batch_poll';
function anaf_upload_batch_cancel(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_upload_batch_cancel';
function anaf_status_batch(client: PAnafClient; ids_json: PAnsiChar; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_status_batch';
function anaf_open(config_json: PAnsiChar; out_client: PPAnafClient): Integer; cdecl; external AnafLib name 'anaf_open';
function anaf_close(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_close';
function anaf_last_error: PAnsiChar; cdecl; external AnafLib name 'anaf_last_error';
procedure anaf_free(s: PAnsiChar); cdecl; external AnafLib name 'anaf_free';
function anaf_version: PAnsiChar; cdecl; external AnafLib name 'anaf_version';
function anaf_status_name(status: Integer): PAnsiChar; cdecl; external AnafLib name 'anaf_status_name';
function anaf_diagnose(client: PAnafClient; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_diagnose';
function anaf_diagnose_config(config_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_diagnose_config';
function anaf_upload(client: PAnafClient; xml: Pointer; xml_len: TAnafSize; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_upload';
function anaf_upload_file(client: PAnafClient; xml_path: PAnsiChar; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_upload_file';
function anaf_status(client: PAnafClient; id_incarcare: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_status';
function anaf_status_wait(client: PAnafClient; id_incarcare: PAnsiChar; timeout_seconds: Cardinal; interval_ms: Cardinal; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_status_wait';
function anaf_list_messages(client: PAnafClient; zile: Integer; filtru: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_list_messages';
function anaf_list_messages_paged(client: PAnafClient; start_ms: Int64; end_ms: Int64; filtru: PAnsiChar; out_path: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_list_messages_paged';
function anaf_download(client: PAnafClient; id: PAnsiChar; zip_path: PAnsiChar; extract: Integer; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_download';
function anaf_etransport_upload(client: PAnafClient; xml: Pointer; xml_len: TAnafSize; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_etransport_upload';
function anaf_etransport_upload_file(client: PAnafClient; xml_path: PAnsiChar; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_etransport_upload_file';
function anaf_etransport_status(client: PAnafClient; index_incarcare: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_etransport_status';
function anaf_etransport_list(client: PAnafClient; zile: Integer; cif: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_etransport_list';
function anaf_inbox_sync(client: PAnafClient; options_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_inbox_sync';
function anaf_inbox_sync_begin(client: PAnafClient; options_json: PAnsiChar): Integer; cdecl; external AnafLib name 'anaf_inbox_sync_begin';
function anaf_inbox_sync_poll(client: PAnafClient; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_inbox_sync_poll';
function anaf_inbox_list(client: PAnafClient; filter_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_inbox_list';
function anaf_inbox_get(client: PAnafClient; id: PAnsiChar; what: PAnsiChar; out_path: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_inbox_get';
function anaf_inbox_ack(client: PAnafClient; id: PAnsiChar; erp_ref: PAnsiChar): Integer; cdecl; external AnafLib name 'anaf_inbox_ack';
function anaf_link_begin(client: PAnafClient; out_url: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_link_begin';
function anaf_link_poll(client: PAnafClient; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_link_poll';
function anaf_link_wait(client: PAnafClient; timeout_seconds: Cardinal; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_link_wait';
function anaf_link_cancel(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_link_cancel';
function anaf_generate_token(client: PAnafClient; parent_window: Pointer): Integer; cdecl; external AnafLib name 'anaf_generate_token';
function anaf_cancel_login(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_cancel_login';
function anaf_company_lookup(client: PAnafClient; cifs_json: PAnsiChar; date: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_company_lookup';
function anaf_validate(client: PAnafClient; xml: Pointer; xml_len: TAnafSize; standard: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_validate';
function anaf_xml_to_pdf(client: PAnafClient; xml: Pointer; xml_len: TAnafSize; standard: PAnsiChar; validate: Integer; pdf_path: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_xml_to_pdf';
function anaf_verify_signature(client: PAnafClient; xml_path: PAnsiChar; signature_path: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_verify_signature';
function anaf_authorize_url(client: PAnafClient; state: PAnsiChar; out_url: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_authorize_url';
function anaf_exchange_code(client: PAnafClient; code_or_redirect_url: PAnsiChar): Integer; cdecl; external AnafLib name 'anaf_exchange_code';
function anaf_import_token(client: PAnafClient; access_token: PAnsiChar; refresh_token: PAnsiChar): Integer; cdecl; external AnafLib name 'anaf_import_token';
function anaf_refresh(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_refresh';
function anaf_get_token(client: PAnafClient; out_token: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_get_token';
function anaf_token_info(client: PAnafClient; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_token_info';
function anaf_token_assign(client: PAnafClient; cert_serial: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_token_assign';
function anaf_test_token(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_test_token';
function anaf_delete_token(client: PAnafClient): Integer; cdecl; external AnafLib name 'anaf_delete_token';
function anaf_store_migrate(from_config_json: PAnsiChar; to_config_json: PAnsiChar; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_store_migrate';
function anaf_upload_journal(client: PAnafClient; days: Integer; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_upload_journal';
function anaf_upload_resolve(client: PAnafClient; journal_id: Int64; zile: Integer; out_json: PAnafPChar): Integer; cdecl; external AnafLib name 'anaf_upload_resolve';
{ END GENERATED IMPORTS }

type
  { Raised by TAnafClient when the DLL returns an error status (negative). Message is the
    DLL's text (Romanian by default, English with "language": "en"). }
  EAnafError = class(Exception)
  private
    FStatus: Integer;
    FStatusName: string;
  public
    constructor CreateStatus(AStatus: Integer; const AMessage: string);
    property Status: Integer read FStatus;
    property StatusName: string read FStatusName;
  end;

  { One ANAF client (one CIF / token database). Thread-safe: one instance may be shared
    by threads. Every call blocks until done or its timeout. }
  TAnafClient = class
  private
    FHandle: PAnafClient;
    FLastStatus: Integer;
    function Check(AStatus: Integer): Integer;
    function TakeJson(AStatus: Integer; P: PAnsiChar): string;
    function TakeBatchJson(AStatus: Integer; P: PAnsiChar): string;
  public
    constructor Create(const ConfigJson: string);
    destructor Destroy; override;

    class function Version: string;
    class function StatusName(AStatus: Integer): string;
    { Checks this computer's setup; returns the JSON report even when it finds problems. }
    class function DiagnoseConfig(const ConfigJson: string): string;
    { Moves the token and the upload journal from the store of FromConfigJson (the SQLite
      file) to the store of ToConfigJson (the ERP's server, "odbc"); returns the JSON report. }
    class function StoreMigrate(const FromConfigJson, ToConfigJson: string): string;
    function Diagnose: string;

    { Token }
    procedure GenerateToken(ParentWindow: Pointer = nil);
    procedure CancelLogin;
    function AuthorizeUrl(const State: string = ''): string;
    procedure ExchangeCode(const CodeOrRedirectUrl: string);
    procedure ImportToken(const AccessToken, RefreshToken: string);
    procedure Refresh;
    function GetToken: string;
    function TokenInfo: string;
    { One certificate, many companies: this CIF uses from now on the token of the
      certificate CertSerial ('' = the configured cert_serial). Returns what TokenInfo returns. }
    function AssignToken(const CertSerial: string = ''): string;
    procedure TestToken;
    procedure DeleteToken;

    { Browser link (the accountant opens it on the computer that has the USB token) }
    function LinkBegin: string;
    { ANAF_OK with the result JSON once the token is imported; ANAF_PENDING while waiting. }
    function LinkPoll(out Json: string): Integer;
    function LinkWait(TimeoutSeconds: Cardinal; out Json: string): Integer;
    procedure LinkCancel;

    { e-Factura }
    function Upload(const Buffer; Size: Integer; const OptionsJson: string = ''): string;
    function UploadFile(const XmlPath: string; const OptionsJson: string = ''): string;
    { Many invoices at once (README "Month-end: many uploads at once"): every item's
      outcome, also when some are not at ANAF (then LastStatus is
      ANAF_ERR_BATCH_INCOMPLETE); raises only for a batch that could not run. }
    function UploadBatch(const ItemsJson: string; const OptionsJson: string = ''): string;
    { The same on a thread of the DLL: begin, then poll (ANAF_PENDING with the progress
      while it runs, then the outcome as UploadBatch gives it); cancel from any thread. }
    procedure UploadBatchBegin(const ItemsJson: string; const OptionsJson: string = '');
    function UploadBatchPoll(out Json: string): Integer;
    procedure UploadBatchCancel;
    (* The states of many uploads (IdsJson: '["5001234567", ...]'); OptionsJson e.g.
      '{"wait_seconds": 60}'. Every item's state, also when some could not be had (then
      LastStatus is ANAF_ERR_BATCH_INCOMPLETE). *)
    function StatusBatch(const IdsJson: string; const OptionsJson: string = ''): string;
    function Status(const IdIncarcare: string): string;
    function StatusWait(const IdIncarcare: string; TimeoutSeconds: Cardinal = 300;
      IntervalMs: Cardinal = 5000): string;
    function ListMessages(Zile: Integer; const Filtru: string = ''): string;
    function Download(const Id, ZipPath: string; Extract: Boolean = False): string;
    function Validate(const Buffer; Size: Integer; const Standard: string = 'FACT1'): string;
    function XmlToPdf(const Buffer; Size: Integer; const Standard, PdfPath: string;
      ValidateFirst: Boolean = True): string;

    function ListMessagesPaged(StartMs, EndMs: Int64; const Filtru: string = '';
      const OutPath: string = ''): string;
    function VerifySignature(const XmlPath, SignaturePath: string): string;
    function UploadJournal(Days: Integer): string;
    { Settles an upload left uncertain (ANAF_ERR_UPLOAD_UNCERTAIN); LastStatus is
      ANAF_ALREADY_UPLOADED when ANAF has it. }
    function UploadResolve(JournalId: Int64; Zile: Integer = 3): string;

    { The e-Factura inbox in the database (README "The inbox"). }
    function InboxSync(const OptionsJson: string = ''): string;
    { The same on a thread of the DLL: begin, then poll (ANAF_PENDING with the progress
      while it runs, then its outcome). }
    procedure InboxSyncBegin(const OptionsJson: string = '');
    function InboxSyncPoll(out Json: string): Integer;
    function InboxList(const FilterJson: string = ''): string;
    { What: 'zip', 'xml', 'signature' or 'pdf', written to OutPath. }
    function InboxGet(const Id, What, OutPath: string): string;
    procedure InboxAck(const Id, ErpRef: string);

    { ANAF's registry of VAT payers (README "Company lookup"): CifsJson is a JSON array,
      e.g. '["RO14399840"]'; Date 'YYYY-MM-DD' or '' for today. }
    function CompanyLookup(const CifsJson: string; const Date: string = ''): string;

    { e-Transport }
    function ETransportUpload(const Buffer; Size: Integer; const OptionsJson: string = ''): string;
    function ETransportUploadFile(const XmlPath: string; const OptionsJson: string = ''): string;
    function ETransportStatus(const IndexIncarcare: string): string;
    function ETransportList(Zile: Integer; const Cif: string = ''): string;

    { The status of the last call: ANAF_OK, or a positive code such as ANAF_PENDING or
      ANAF_ALREADY_UPLOADED (errors raise EAnafError instead). }
    property LastStatus: Integer read FLastStatus;
    property Handle: PAnafClient read FHandle;
  end;

{ UTF-8 conversions that behave the same on Delphi 7 (ANSI) and Delphi 2009+ (Unicode). }
function AnafToUtf8(const S: string): UTF8String;
function AnafFromUtf8(P: PAnsiChar): string;
{ Raises EAnafError with the DLL's last error when AStatus is negative; returns AStatus. }
function AnafCheck(AStatus: Integer): Integer;

implementation

function AnafToUtf8(const S: string): UTF8String;
begin
{$IFDEF FPC}
  {$IFDEF UNIX}
  { Free Pascal / Lazarus on Unix: strings already hold UTF-8; copy the bytes as they are. }
  SetString(Result, PAnsiChar(S), Length(S));
  {$ELSE}
  Result := UTF8Encode(UnicodeString(S));
  {$ENDIF}
{$ELSE}
  {$IFDEF UNICODE}
  Result := UTF8Encode(S);
  {$ELSE}
  Result := UTF8Encode(WideString(S));
  {$ENDIF}
{$ENDIF}
end;

{ Length of a NUL-terminated string (SysUtils.StrLen(PAnsiChar) is deprecated since XE4). }
function AnsiLen(P: PAnsiChar): Integer;
begin
  Result := 0;
  while P[Result] <> #0 do
    Inc(Result);
end;

function AnafFromUtf8(P: PAnsiChar): string;
var
  U: UTF8String;
begin
  Result := '';
  if P = nil then
    Exit;
{$IFDEF FPC}
  {$IFDEF UNIX}
  SetString(Result, P, AnsiLen(P));
  {$ELSE}
  SetString(U, P, AnsiLen(P));
  Result := string(UTF8Decode(U));
  {$ENDIF}
{$ELSE}
  { SetString copies the bytes as they are (no code page conversion on the way in). }
  SetString(U, P, AnsiLen(P));
  {$IFDEF UNICODE}
  Result := UTF8ToString(U);
  {$ELSE}
  Result := string(UTF8Decode(U));
  {$ENDIF}
{$ENDIF}
end;

{ A UTF-8 argument: nil for an empty string (the DLL treats NULL as "not given"). }
function Arg(const U: UTF8String): PAnsiChar;
begin
  if U = '' then
    Result := nil
  else
    Result := PAnsiChar(U);
end;

function AnafCheck(AStatus: Integer): Integer;
begin
  if AStatus < 0 then
    raise EAnafError.CreateStatus(AStatus, AnafFromUtf8(anaf_last_error()));
  Result := AStatus;
end;

{ EAnafError }

constructor EAnafError.CreateStatus(AStatus: Integer; const AMessage: string);
begin
  inherited Create(AMessage);
  FStatus := AStatus;
  FStatusName := AnafFromUtf8(anaf_status_name(AStatus));
end;

{ TAnafClient }

constructor TAnafClient.Create(const ConfigJson: string);
var
  U: UTF8String;
begin
  inherited Create;
  U := AnafToUtf8(ConfigJson);
  FLastStatus := AnafCheck(anaf_open(PAnsiChar(U), @FHandle));
end;

destructor TAnafClient.Destroy;
begin
  if FHandle <> nil then
    anaf_close(FHandle);
  FHandle := nil;
  inherited Destroy;
end;

function TAnafClient.Check(AStatus: Integer): Integer;
begin
  FLastStatus := AStatus;
  Result := AnafCheck(AStatus);
end;

function TAnafClient.TakeJson(AStatus: Integer; P: PAnsiChar): string;
begin
  try
    Check(AStatus);
    Result := AnafFromUtf8(P);
  finally
    anaf_free(P);
  end;
end;

{ A batch's JSON: also when some items are not at ANAF (LastStatus then says
  ANAF_ERR_BATCH_INCOMPLETE), raising only for a batch that could not run. }
function TAnafClient.TakeBatchJson(AStatus: Integer; P: PAnsiChar): string;
begin
  if AStatus <> ANAF_ERR_BATCH_INCOMPLETE then
    Result := TakeJson(AStatus, P)
  else
  begin
    FLastStatus := AStatus;
    try
      Result := AnafFromUtf8(P);
    finally
      anaf_free(P);
    end;
  end;
end;

class function TAnafClient.Version: string;
begin
  Result := AnafFromUtf8(anaf_version());
end;

class function TAnafClient.StatusName(AStatus: Integer): string;
begin
  Result := AnafFromUtf8(anaf_status_name(AStatus));
end;

class function TAnafClient.DiagnoseConfig(const ConfigJson: string): string;
var
  U: UTF8String;
  P: PAnsiChar;
  St: Integer;
begin
  U := AnafToUtf8(ConfigJson);
  P := nil;
  St := anaf_diagnose_config(PAnsiChar(U), @P);
  try
    AnafCheck(St);
    Result := AnafFromUtf8(P);
  finally
    anaf_free(P);
  end;
end;

class function TAnafClient.StoreMigrate(const FromConfigJson, ToConfigJson: string): string;
var
  F, T: UTF8String;
  P: PAnsiChar;
  St: Integer;
begin
  F := AnafToUtf8(FromConfigJson);
  T := AnafToUtf8(ToConfigJson);
  P := nil;
  St := anaf_store_migrate(PAnsiChar(F), PAnsiChar(T), @P);
  try
    AnafCheck(St);
    Result := AnafFromUtf8(P);
  finally
    anaf_free(P);
  end;
end;

function TAnafClient.Diagnose: string;
var
  P: PAnsiChar;
begin
  P := nil;
  Result := TakeJson(anaf_diagnose(FHandle, @P), P);
end;

procedure TAnafClient.GenerateToken(ParentWindow: Pointer);
begin
  Check(anaf_generate_token(FHandle, ParentWindow));
end;

procedure TAnafClient.CancelLogin;
begin
  Check(anaf_cancel_login(FHandle));
end;

function TAnafClient.AuthorizeUrl(const State: string): string;
var
  U: UTF8String;
  P: PAnsiChar;
begin
  U := AnafToUtf8(State);
  P := nil;
  Result := TakeJson(anaf_authorize_url(FHandle, Arg(U), @P), P);
end;

procedure TAnafClient.ExchangeCode(const CodeOrRedirectUrl: string);
var
  U: UTF8String;
begin
  U := AnafToUtf8(CodeOrRedirectUrl);
  Check(anaf_exchange_code(FHandle, PAnsiChar(U)));
end;

procedure TAnafClient.ImportToken(const AccessToken, RefreshToken: string);
var
  A, R: UTF8String;
begin
  A := AnafToUtf8(AccessToken);
  R := AnafToUtf8(RefreshToken);
  Check(anaf_import_token(FHandle, PAnsiChar(A), PAnsiChar(R)));
end;

procedure TAnafClient.Refresh;
begin
  Check(anaf_refresh(FHandle));
end;

function TAnafClient.GetToken: string;
var
  P: PAnsiChar;
begin
  P := nil;
  Result := TakeJson(anaf_get_token(FHandle, @P), P);
end;

function TAnafClient.TokenInfo: string;
var
  P: PAnsiChar;
begin
  P := nil;
  Result := TakeJson(anaf_token_info(FHandle, @P), P);
end;

function TAnafClient.AssignToken(const CertSerial: string): string;
var
  U: UTF8String;
  P: PAnsiChar;
begin
  U := AnafToUtf8(CertSerial);
  P := nil;
  Result := TakeJson(anaf_token_assign(FHandle, Arg(U), @P), P);
end;

procedure TAnafClient.TestToken;
begin
  Check(anaf_test_token(FHandle));
end;

procedure TAnafClient.DeleteToken;
begin
  Check(anaf_delete_token(FHandle));
end;

function TAnafClient.LinkBegin: string;
var
  P: PAnsiChar;
begin
  P := nil;
  Result := TakeJson(anaf_link_begin(FHandle, @P), P);
end;

function TAnafClient.LinkPoll(out Json: string): Integer;
var
  P: PAnsiChar;
begin
  P := nil;
  Json := TakeJson(anaf_link_poll(FHandle, @P), P);
  Result := FLastStatus;
end;

function TAnafClient.LinkWait(TimeoutSeconds: Cardinal; out Json: string): Integer;
var
  P: PAnsiChar;
begin
  P := nil;
  Json := TakeJson(anaf_link_wait(FHandle, TimeoutSeconds, @P), P);
  Result := FLastStatus;
end;

procedure TAnafClient.LinkCancel;
begin
  Check(anaf_link_cancel(FHandle));
end;

function TAnafClient.Upload(const Buffer; Size: Integer; const OptionsJson: string): string;
var
  O: UTF8String;
  P: PAnsiChar;
begin
  O := AnafToUtf8(OptionsJson);
  P := nil;
  Result := TakeJson(anaf_upload(FHandle, @Buffer, TAnafSize(Size), Arg(O), @P), P);
end;

function TAnafClient.UploadFile(const XmlPath: string; const OptionsJson: string): string;
var
  F, O: UTF8String;
  P: PAnsiChar;
begin
  F := AnafToUtf8(XmlPath);
  O := AnafToUtf8(OptionsJson);
  P := nil;
  Result := TakeJson(anaf_upload_file(FHandle, PAnsiChar(F), Arg(O), @P), P);
end;

function TAnafClient.UploadBatch(const ItemsJson, OptionsJson: string): string;
var
  I, O: UTF8String;
  P: PAnsiChar;
  St: Integer;
begin
  I := AnafToUtf8(ItemsJson);
  O := AnafToUtf8(OptionsJson);
  P := nil;
  St := anaf_upload_batch(FHandle, PAnsiChar(I), Arg(O), @P);
  Result := TakeBatchJson(St, P);
end;

procedure TAnafClient.UploadBatchBegin(const ItemsJson, OptionsJson: string);
var
  I, O: UTF8String;
begin
  I := AnafToUtf8(ItemsJson);
  O := AnafToUtf8(OptionsJson);
  Check(anaf_upload_batch_begin(FHandle, PAnsiChar(I), Arg(O)));
end;

function TAnafClient.UploadBatchPoll(out Json: string): Integer;
var
  P: PAnsiChar;
  St: Integer;
begin
  P := nil;
  St := anaf_upload_batch_poll(FHandle, @P);
  Json := TakeBatchJson(St, P);
  Result := FLastStatus;
end;

function TAnafClient.StatusBatch(const IdsJson, OptionsJson: string): string;
var
  I, O: UTF8String;
  P: PAnsiChar;
  St: Integer;
begin
  I := AnafToUtf8(IdsJson);
  O := AnafToUtf8(OptionsJson);
  P := nil;
  St := anaf_status_batch(FHandle, PAnsiChar(I), Arg(O), @P);
  Result := TakeBatchJson(St, P);
end;

procedure TAnafClient.UploadBatchCancel;
begin
  Check(anaf_upload_batch_cancel(FHandle));
end;

function TAnafClient.Status(const IdIncarcare: string): string;
var
  I: UTF8String;
  P: PAnsiChar;
begin
  I := AnafToUtf8(IdIncarcare);
  P := nil;
  Result := TakeJson(anaf_status(FHandle, PAnsiChar(I), @P), P);
end;

function TAnafClient.StatusWait(const IdIncarcare: string; TimeoutSeconds: Cardinal;
  IntervalMs: Cardinal): string;
var
  I: UTF8String;
  P: PAnsiChar;
begin
  I := AnafToUtf8(IdIncarcare);
  P := nil;
  Result := TakeJson(anaf_status_wait(FHandle, PAnsiChar(I), TimeoutSeconds, IntervalMs, @P), P);
end;

function TAnafClient.ListMessages(Zile: Integer; const Filtru: string): string;
var
  F: UTF8String;
  P: PAnsiChar;
begin
  F := AnafToUtf8(Filtru);
  P := nil;
  Result := TakeJson(anaf_list_messages(FHandle, Zile, Arg(F), @P), P);
end;

function TAnafClient.Download(const Id, ZipPath: string; Extract: Boolean): string;
var
  I, Z: UTF8String;
  P: PAnsiChar;
begin
  I := AnafToUtf8(Id);
  Z := AnafToUtf8(ZipPath);
  P := nil;
  Result := TakeJson(anaf_download(FHandle, PAnsiChar(I), PAnsiChar(Z), Ord(Extract), @P), P);
end;

function TAnafClient.InboxSync(const OptionsJson: string): string;
var
  O: UTF8String;
  P: PAnsiChar;
begin
  O := AnafToUtf8(OptionsJson);
  P := nil;
  Result := TakeJson(anaf_inbox_sync(FHandle, Arg(O), @P), P);
end;

procedure TAnafClient.InboxSyncBegin(const OptionsJson: string);
var
  O: UTF8String;
begin
  O := AnafToUtf8(OptionsJson);
  Check(anaf_inbox_sync_begin(FHandle, Arg(O)));
end;

function TAnafClient.InboxSyncPoll(out Json: string): Integer;
var
  P: PAnsiChar;
begin
  P := nil;
  Json := TakeJson(anaf_inbox_sync_poll(FHandle, @P), P);
  Result := FLastStatus;
end;

function TAnafClient.InboxList(const FilterJson: string): string;
var
  F: UTF8String;
  P: PAnsiChar;
begin
  F := AnafToUtf8(FilterJson);
  P := nil;
  Result := TakeJson(anaf_inbox_list(FHandle, Arg(F), @P), P);
end;

function TAnafClient.CompanyLookup(const CifsJson, Date: string): string;
var
  C, D: UTF8String;
  P: PAnsiChar;
begin
  C := AnafToUtf8(CifsJson);
  D := AnafToUtf8(Date);
  P := nil;
  Result := TakeJson(anaf_company_lookup(FHandle, PAnsiChar(C), Arg(D), @P), P);
end;

function TAnafClient.InboxGet(const Id, What, OutPath: string): string;
var
  I, W, O: UTF8String;
  P: PAnsiChar;
begin
  I := AnafToUtf8(Id);
  W := AnafToUtf8(What);
  O := AnafToUtf8(OutPath);
  P := nil;
  Result := TakeJson(anaf_inbox_get(FHandle, PAnsiChar(I), PAnsiChar(W), PAnsiChar(O), @P), P);
end;

procedure TAnafClient.InboxAck(const Id, ErpRef: string);
var
  I, R: UTF8String;
begin
  I := AnafToUtf8(Id);
  R := AnafToUtf8(ErpRef);
  Check(anaf_inbox_ack(FHandle, PAnsiChar(I), PAnsiChar(R)));
end;

function TAnafClient.Validate(const Buffer; Size: Integer; const Standard: string): string;
var
  S: UTF8String;
  P: PAnsiChar;
begin
  S := AnafToUtf8(Standard);
  P := nil;
  Result := TakeJson(anaf_validate(FHandle, @Buffer, TAnafSize(Size), Arg(S), @P), P);
end;

function TAnafClient.XmlToPdf(const Buffer; Size: Integer; const Standard, PdfPath: string;
  ValidateFirst: Boolean): string;
var
  S, F: UTF8String;
  P: PAnsiChar;
begin
  S := AnafToUtf8(Standard);
  F := AnafToUtf8(PdfPath);
  P := nil;
  Result := TakeJson(anaf_xml_to_pdf(FHandle, @Buffer, TAnafSize(Size), Arg(S), Ord(ValidateFirst),
    PAnsiChar(F), @P), P);
end;

function TAnafClient.ListMessagesPaged(StartMs, EndMs: Int64; const Filtru: string;
  const OutPath: string): string;
var
  F, O: UTF8String;
  P: PAnsiChar;
begin
  F := AnafToUtf8(Filtru);
  O := AnafToUtf8(OutPath);
  P := nil;
  Result := TakeJson(anaf_list_messages_paged(FHandle, StartMs, EndMs, Arg(F), Arg(O), @P), P);
end;

function TAnafClient.VerifySignature(const XmlPath, SignaturePath: string): string;
var
  X, S: UTF8String;
  P: PAnsiChar;
begin
  X := AnafToUtf8(XmlPath);
  S := AnafToUtf8(SignaturePath);
  P := nil;
  Result := TakeJson(anaf_verify_signature(FHandle, PAnsiChar(X), PAnsiChar(S), @P), P);
end;

function TAnafClient.UploadJournal(Days: Integer): string;
var
  P: PAnsiChar;
begin
  P := nil;
  Result := TakeJson(anaf_upload_journal(FHandle, Days, @P), P);
end;

function TAnafClient.UploadResolve(JournalId: Int64; Zile: Integer): string;
var
  P: PAnsiChar;
begin
  P := nil;
  Result := TakeJson(anaf_upload_resolve(FHandle, JournalId, Zile, @P), P);
end;

function TAnafClient.ETransportUpload(const Buffer; Size: Integer; const OptionsJson: string): string;
var
  O: UTF8String;
  P: PAnsiChar;
begin
  O := AnafToUtf8(OptionsJson);
  P := nil;
  Result := TakeJson(anaf_etransport_upload(FHandle, @Buffer, TAnafSize(Size), Arg(O), @P), P);
end;

function TAnafClient.ETransportUploadFile(const XmlPath: string; const OptionsJson: string): string;
var
  F, O: UTF8String;
  P: PAnsiChar;
begin
  F := AnafToUtf8(XmlPath);
  O := AnafToUtf8(OptionsJson);
  P := nil;
  Result := TakeJson(anaf_etransport_upload_file(FHandle, PAnsiChar(F), Arg(O), @P), P);
end;

function TAnafClient.ETransportStatus(const IndexIncarcare: string): string;
var
  I: UTF8String;
  P: PAnsiChar;
begin
  I := AnafToUtf8(IndexIncarcare);
  P := nil;
  Result := TakeJson(anaf_etransport_status(FHandle, PAnsiChar(I), @P), P);
end;

function TAnafClient.ETransportList(Zile: Integer; const Cif: string): string;
var
  C: UTF8String;
  P: PAnsiChar;
begin
  C := AnafToUtf8(Cif);
  P := nil;
  Result := TakeJson(anaf_etransport_list(FHandle, Zile, Arg(C), @P), P);
end;

end.
