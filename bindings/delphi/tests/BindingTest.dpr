{ Runs the Delphi binding against the real library: compiled by tests/run/bindings.sh with
  Free Pascal in Delphi mode. Argument 1: a scratch folder. Prints "ok - ..." or
  "FAIL - ..." per check; the exit code is the number of failures. }
program BindingTest;

{$IFDEF FPC}{$MODE DELPHI}{$H+}{$ENDIF}
{$APPTYPE CONSOLE}
{ This file is UTF-8. On Windows, string literals become the ANSI code page of the run
  (Windows-1252 under a default Wine; Romanian Windows has 1250). }
{$IFDEF FPC}{$IFDEF MSWINDOWS}{$CODEPAGE UTF8}{$ENDIF}{$ENDIF}

uses
  SysUtils, AnafBridge;

var
  Failures: Integer = 0;
  Dir: string;

procedure Expect(Cond: Boolean; const Name, Detail: string);
begin
  if Cond then
    WriteLn('ok - ', Name)
  else
  begin
    WriteLn('FAIL - ', Name, ': ', Detail);
    Inc(Failures);
  end;
end;

function Config(const Db, Lang: string): string;
begin
  Result := '{"database": "' + Db + '", "cif": "14399840", "language": "' + Lang +
    '", "environment": "test", "client_id": "id", "client_secret": "secret-value-1", ' +
    '"redirect_uri": "https://localhost:9443/anaf/callback", "cert_serial": "1a 2b 3c 4d 5e 6f", ' +
    '"api_url": "https://127.0.0.1:9", "idp_url": "https://127.0.0.1:9", "public_url": "https://127.0.0.1:9", ' +
    '"timeout_seconds": 2, "connect_timeout_seconds": 1}';
end;

var
  C: TAnafClient;
  S, Db: string;
  Got: Integer;
begin
  Dir := ParamStr(1);
  Expect(TAnafClient.Version <> '', 'version', 'empty');
  Expect(TAnafClient.StatusName(ANAF_ERR_TIMEOUT) = 'ANAF_ERR_TIMEOUT', 'status name', TAnafClient.StatusName(-26));

  { An invalid configuration raises EAnafError with the status and the Romanian text. }
  Got := 0;
  S := '';
  try
    C := TAnafClient.Create('{"database": "' + Dir + '/x.db", "cif": "RO14399840"}');
    C.Free;
  except
    on E: EAnafError do
    begin
      Got := E.Status;
      S := E.Message;
      Expect(E.StatusName = 'ANAF_ERR_INVALID_CONFIG', 'exception status name', E.StatusName);
    end;
  end;
  Expect(Got = ANAF_ERR_INVALID_CONFIG, 'bad config raises ANAF_ERR_INVALID_CONFIG', IntToStr(Got));
  { "începe" arrives as UTF-8 and is decoded to the program's string type. }
  Expect(Pos('începe cu RO', S) > 0, 'Romanian message decoded', S);

  { Non-ASCII path: the database is created under its exact UTF-8 name. }
{$IFDEF MSWINDOWS}
  { Letters an ANSI program has in both 1250 (Romanian) and 1252 (Wine's default). }
  Db := Dir + '/bâlâ_î.db';
{$ELSE}
  Db := Dir + '/bază_șțî.db';
{$ENDIF}
  C := TAnafClient.Create(Config(Db, 'en'));
  try
    Expect(FileExists(Db), 'UTF-8 path reaches the DLL', Db);
    Got := 0;
    try
      C.TokenInfo;
    except
      on E: EAnafError do Got := E.Status;
    end;
    Expect(Got = ANAF_ERR_NO_TOKEN, 'no token raises ANAF_ERR_NO_TOKEN', IntToStr(Got));
    Got := 0;
    S := '';
    try
      C.AssignToken('5E:2B');
    except
      on E: EAnafError do
      begin
        Got := E.Status;
        S := E.Message;
      end;
    end;
    Expect((Got = ANAF_ERR_NO_TOKEN) and (Pos('5E2B', S) > 0), 'AssignToken without that certificate''s token', S);
    Got := 0;
    try
      C.GetToken;
    except
      on E: EAnafError do
      begin
        Got := E.Status;
        Expect(Pos('no ANAF token', E.Message) > 0, 'English message', E.Message);
      end;
    end;
    Expect(Got = ANAF_ERR_NO_TOKEN, 'GetToken without token', IntToStr(Got));
    S := C.Diagnose;
    Expect(C.LastStatus = ANAF_OK, 'diagnose status', IntToStr(C.LastStatus));
    Expect(Pos('"id":"cert_serial"', S) > 0, 'diagnose lists cert_serial', Copy(S, 1, 200));
    Expect(Pos('"id":"network_api"', S) > 0, 'diagnose lists network_api', Copy(S, 1, 200));
    Expect(Pos('"ok":false', S) > 0, 'diagnose finds the dead host', Copy(S, 1, 200));
  finally
    C.Free;
  end;
  S := TAnafClient.DiagnoseConfig(Config(Dir + '/other.db', 'ro'));
  Expect(Pos('Seria certificatului', S) > 0, 'DiagnoseConfig in Romanian', Copy(S, 1, 200));
  S := TAnafClient.StoreMigrate(Config(Dir + '/other.db', 'en'), Config(Dir + '/other-moved.db', 'en'));
  Expect((Pos('"journal"', S) > 0) and (Pos('"tokens":[]', S) > 0), 'StoreMigrate answers its report', S);
  WriteLn(Failures, ' failures');
  Halt(Failures);
end.
