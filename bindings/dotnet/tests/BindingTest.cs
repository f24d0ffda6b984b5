// Runs the C# binding against the real library: compiled by tests/run/bindings.sh with
// mono's mcs. Argument 0: a scratch folder. Prints "ok - ..." / "FAIL - ..." per check;
// the exit code is the number of failures.
using System;
using System.IO;
using AnafBridge;

static class BindingTest
{
    static int failures;

    static void Expect(bool cond, string name, string detail)
    {
        if (cond) Console.WriteLine("ok - " + name);
        else { Console.WriteLine("FAIL - " + name + ": " + detail); failures++; }
    }

    static string Config(string db, string lang)
    {
        return "{\"database\": \"" + db + "\", \"cif\": \"14399840\", \"language\": \"" + lang + "\", " +
            "\"environment\": \"test\", \"client_id\": \"id\", \"client_secret\": \"secret-value-1\", " +
            "\"redirect_uri\": \"https://localhost:9443/anaf/callback\", \"cert_serial\": \"1A2B3C4D5E6F\", " +
            "\"api_url\": \"https://127.0.0.1:9\", \"idp_url\": \"https://127.0.0.1:9\", \"public_url\": \"https://127.0.0.1:9\", " +
            "\"timeout_seconds\": 2, \"connect_timeout_seconds\": 1}";
    }

    static int Main(string[] args)
    {
        string dir = args[0];
        Expect(!string.IsNullOrEmpty(AnafClient.Version), "version", "empty");
        Expect(AnafClient.StatusName(AnafNative.ANAF_ERR_TIMEOUT) == "ANAF_ERR_TIMEOUT", "status name", AnafClient.StatusName(-26));

        int got = 0; string msg = "";
        try { using (new AnafClient("{\"database\": \"" + dir + "/x.db\", \"cif\": \"RO14399840\"}")) { } }
        catch (AnafException e) { got = e.Status; msg = e.Message; Expect(e.StatusName == "ANAF_ERR_INVALID_CONFIG", "exception status name", e.StatusName); }
        Expect(got == AnafNative.ANAF_ERR_INVALID_CONFIG, "bad config throws ANAF_ERR_INVALID_CONFIG", got.ToString());
        Expect(msg.Contains("începe cu RO"), "Romanian message decoded", msg);

        string db = Path.Combine(dir, "bază_șțî.db");
        using (var c = new AnafClient(Config(db, "en")))
        {
            Expect(File.Exists(db), "UTF-8 path reaches the DLL", db);
            got = 0;
            try { c.TokenInfo(); } catch (AnafException e) { got = e.Status; }
            Expect(got == AnafNative.ANAF_ERR_NO_TOKEN, "no token throws ANAF_ERR_NO_TOKEN", got.ToString());
            got = 0; msg = "";
            try { c.AssignToken("5E:2B"); } catch (AnafException e) { got = e.Status; msg = e.Message; }
            Expect(got == AnafNative.ANAF_ERR_NO_TOKEN && msg.Contains("5E2B"), "AssignToken without that certificate's token", got + " " + msg);
            got = 0;
            try { c.GetToken(); }
            catch (AnafException e) { got = e.Status; Expect(e.Message.Contains("no ANAF token"), "English message", e.Message); }
            Expect(got == AnafNative.ANAF_ERR_NO_TOKEN, "GetToken without token", got.ToString());
            string d = c.Diagnose();
            Expect(c.LastStatus == AnafNative.ANAF_OK, "diagnose status", c.LastStatus.ToString());
            Expect(d.Contains("\"id\":\"dll_bitness\""), "diagnose lists dll_bitness", d.Substring(0, Math.Min(200, d.Length)));
            Expect(d.Contains("\"ok\":false"), "diagnose finds the dead host", d.Substring(0, Math.Min(200, d.Length)));
        }
        // A handle closed by Dispose is refused, not dereferenced; a second Dispose is harmless.
        var c2 = new AnafClient(Config(Path.Combine(dir, "two.db"), "ro"));
        c2.Dispose();
        c2.Dispose();
        got = 0;
        try { c2.Refresh(); } catch (ObjectDisposedException) { got = 1; } catch (AnafException e) { got = e.Status; }
        Expect(got == 1, "call after Dispose throws ObjectDisposedException", got.ToString());
        string r = AnafClient.DiagnoseConfig(Config(Path.Combine(dir, "other.db"), "ro"));
        Expect(r.Contains("Seria certificatului"), "DiagnoseConfig in Romanian", r.Substring(0, Math.Min(200, r.Length)));
        string m = AnafClient.StoreMigrate(Config(Path.Combine(dir, "other.db"), "en"), Config(Path.Combine(dir, "other-moved.db"), "en"));
        Expect(m.Contains("\"journal\"") && m.Contains("\"tokens\":[]"), "StoreMigrate answers its report", m);
        Console.WriteLine(failures + " failures");
        return failures;
    }
}
