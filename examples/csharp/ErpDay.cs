// An ERP's day with anaf_bridge, in C# (.NET Framework 4.x or .NET 8, bindings/dotnet/AnafBridge.cs):
// open the client, show the token, upload an invoice, wait for ANAF's verdict, download the answer;
// then bring the supplier invoices in (the inbox), save the first one not imported yet and mark it imported;
// look a partner up by CIF.
// Usage: ErpDay CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]
using System;
using System.IO;
using System.Text.RegularExpressions;
using AnafBridge;

static class ErpDay
{
    // The value of "key" (string or number) in a JSON object; enough for these answers.
    static string Field(string json, string key)
    {
        Match m = Regex.Match(json, "\"" + key + "\":\\s*\"?([^\",}]*)");
        return m.Success ? m.Groups[1].Value : "";
    }

    static int Main(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: ErpDay CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]");
            return 2;
        }
        try
        {
            using (var client = new AnafClient(File.ReadAllText(args[0])))
            {
                if (args.Length >= 5) client.ImportToken(args[3], args[4]);
                Console.WriteLine("token: " + client.TokenInfo());
                string index = Field(client.UploadFile(args[1], "{\"standard\": \"UBL\"}"), "index_incarcare");
                Console.WriteLine("uploaded: index_incarcare " + index);
                string status = client.StatusWait(index, 120, 500);
                Console.WriteLine("status: " + status);
                string id = Field(status, "id_descarcare");
                string zip = Path.Combine(args[2], "raspuns_" + id + ".zip");
                Console.WriteLine("downloaded: " + client.Download(id, zip, true));
                Console.WriteLine("inbox: " + client.InboxSync());
                string msg = Field(client.InboxList("{\"type\": \"FACTURA PRIMITA\", \"not_imported\": true, \"limit\": 1}"), "message_id");
                string xml = Path.Combine(args[2], "primita_" + msg + ".xml");
                client.InboxGet(msg, "xml", xml);
                client.InboxAck(msg, "NIR 1");
                Console.WriteLine("INBOX " + xml);
                // The month-end batch as the ERP's screen runs it: begin, then poll.
                client.UploadBatchBegin("[{\"path\": \"" + args[1].Replace("\\", "\\\\") + "\"}]");
                string batch;
                while (client.UploadBatchPoll(out batch) == AnafNative.ANAF_PENDING) System.Threading.Thread.Sleep(100);
                Console.WriteLine("batch: " + batch);
                Console.WriteLine("states: " + client.StatusBatch("[\"" + index + "\"]"));
                Console.WriteLine("partner: " + client.CompanyLookup("[\"RO14399840\"]"));
                Console.WriteLine("DONE " + zip);
                return 0;
            }
        }
        catch (AnafException e)
        {
            Console.Error.WriteLine(e.StatusName + " (" + e.Status + "): " + e.Message);
            return 1;
        }
    }
}
