{ An ERP's day with anaf_bridge, in Delphi (7 to 12) or Free Pascal: open the client, show
  the token, upload an invoice, wait for ANAF's verdict, download the answer; then bring
  the supplier invoices in (the inbox), save the first one not imported yet and mark it
  imported; look a partner up by CIF.
  Usage: ErpDay CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH] }
program ErpDay;

{$IFDEF FPC}{$MODE DELPHI}{$H+}{$ENDIF}
{$APPTYPE CONSOLE}

uses
  SysUtils, Classes, AnafBridge;

{ The value of "Key" (string or number) in a JSON object; enough for these answers. }
function Field(const Json, Key: string): string;
var
  P, E: Integer;
begin
  Result := '';
  P := Pos('"' + Key + '":', Json);
  if P = 0 then Exit;
  P := P + Length(Key) + 3;
  while (P <= Length(Json)) and ((Json[P] = ' ') or (Json[P] = '"')) do Inc(P);
  E := P;
  while (E <= Length(Json)) and not (Json[E] in ['"', ',', '}']) do Inc(E);
  Result := Copy(Json, P, E - P);
end;

function ReadText(const FileName: string): string;
var
  L: TStringList;
begin
  L := TStringList.Create;
  try
    L.LoadFromFile(FileName);
    Result := L.Text;
  finally
    L.Free;
  end;
end;

var
  Client: TAnafClient;
  Index, Status, Id, Zip, Msg, Xml, Batch: string;
begin
  if ParamCount < 3 then
  begin
    WriteLn('usage: ErpDay CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]');
    Halt(2);
  end;
  try
    Client := TAnafClient.Create(ReadText(ParamStr(1)));
    try
      if ParamCount >= 5 then
        Client.ImportToken(ParamStr(4), ParamStr(5));
      WriteLn('token: ', Client.TokenInfo);
      Index := Field(Client.UploadFile(ParamStr(2), '{"standard": "UBL"}'), 'index_incarcare');
      WriteLn('uploaded: index_incarcare ', Index);
      Status := Client.StatusWait(Index, 120, 500);
      WriteLn('status: ', Status);
      Id := Field(Status, 'id_descarcare');
      Zip := ParamStr(3) + '/raspuns_' + Id + '.zip';
      WriteLn('downloaded: ', Client.Download(Id, Zip, True));
      WriteLn('inbox: ', Client.InboxSync);
      Msg := Field(Client.InboxList('{"type": "FACTURA PRIMITA", "not_imported": true, "limit": 1}'), 'message_id');
      Xml := ParamStr(3) + '/primita_' + Msg + '.xml';
      Client.InboxGet(Msg, 'xml', Xml);
      Client.InboxAck(Msg, 'NIR 1');
      WriteLn('INBOX ', Xml);
      { The month-end batch as the ERP's screen runs it: begin, then poll. }
      Client.UploadBatchBegin('[{"path": "' + StringReplace(ParamStr(2), '\', '\\', [rfReplaceAll]) + '"}]');
      while Client.UploadBatchPoll(Batch) = ANAF_PENDING do
        Sleep(100);
      WriteLn('batch: ', Batch);
      WriteLn('states: ', Client.StatusBatch('["' + Index + '"]'));
      WriteLn('partner: ', Client.CompanyLookup('["RO14399840"]'));
      WriteLn('DONE ', Zip);
    finally
      Client.Free;
    end;
  except
    on E: EAnafError do
    begin
      WriteLn(E.StatusName, ' (', E.Status, '): ', E.Message);
      Halt(1);
    end;
  end;
end.
