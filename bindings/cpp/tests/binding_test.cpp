// Runs the C++ wrapper against the real library: compiled by tests/run/bindings.sh with
// g++ (Linux) and x86_64-w64-mingw32-g++ (run under Wine against dist/win-x64). Argument 1:
// a scratch folder. Prints "ok - ..." / "FAIL - ..."; the exit code is the failure count.
#include "anaf_bridge.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

static int failures = 0;

static void expect(bool cond, const std::string &name, const std::string &detail) {
    if (cond) std::cout << "ok - " << name << "\n";
    else { std::cout << "FAIL - " << name << ": " << detail << "\n"; ++failures; }
}

static std::string config(const std::string &db, const std::string &lang) {
    return "{\"database\": \"" + db + "\", \"cif\": \"14399840\", \"language\": \"" + lang +
           "\", \"environment\": \"test\", \"client_id\": \"id\", \"client_secret\": \"secret-value-1\", "
           "\"redirect_uri\": \"https://localhost:9443/anaf/callback\", \"cert_serial\": \"1A2B3C4D5E6F\", "
           "\"api_url\": \"https://127.0.0.1:9\", \"idp_url\": \"https://127.0.0.1:9\", "
           "\"public_url\": \"https://127.0.0.1:9\", \"timeout_seconds\": 2, \"connect_timeout_seconds\": 1}";
}

int main(int argc, char **argv) {
    std::string dir = argc > 1 ? argv[1] : ".";
    for (auto &ch : dir) if (ch == '\\') ch = '/';
    expect(!anaf::version().empty(), "version", "empty");
    expect(std::string(anaf_status_name(ANAF_ERR_TIMEOUT)) == "ANAF_ERR_TIMEOUT", "status name", anaf_status_name(-26));

    int32_t got = 0;
    std::string msg;
    try {
        anaf::client c("{\"database\": \"" + dir + "/x.db\", \"cif\": \"RO14399840\"}");
    } catch (const anaf::error &e) {
        got = e.status();
        msg = e.what();
        expect(std::string(e.status_name()) == "ANAF_ERR_INVALID_CONFIG", "exception status name", e.status_name());
    }
    expect(got == ANAF_ERR_INVALID_CONFIG, "bad config throws ANAF_ERR_INVALID_CONFIG", std::to_string(got));
    expect(msg.find("\xc3\xaenc" "epe cu RO") != std::string::npos, "Romanian message is UTF-8", msg);

    {
        std::string db = dir + "/cpp.db";
        anaf::client c(config(db, "en"));
        expect(std::ifstream(db.c_str()).good(), "database created", db);
        got = 0;
        try { c.token_info(); } catch (const anaf::error &e) { got = e.status(); }
        expect(got == ANAF_ERR_NO_TOKEN, "no token throws ANAF_ERR_NO_TOKEN", std::to_string(got));
        got = 0; std::string why;
        try { c.assign_token("5E:2B"); } catch (const anaf::error &e) { got = e.status(); why = e.what(); }
        expect(got == ANAF_ERR_NO_TOKEN && why.find("5E2B") != std::string::npos, "assign_token without that certificate's token", why);
        std::string d = c.diagnose();
        expect(c.last_status() == ANAF_OK, "diagnose status", std::to_string(c.last_status()));
        expect(d.find("\"id\":\"webview2\"") != std::string::npos, "diagnose lists webview2", d.substr(0, 200));
        expect(d.find("\"ok\":false") != std::string::npos, "diagnose finds the dead host", d.substr(0, 200));
        std::cout << "# " << d << "\n";
        anaf::client moved(std::move(c));
        expect(c.get() == nullptr && moved.get() != nullptr, "move transfers the handle", "");
    }
    std::string r = anaf::diagnose_config(config(dir + "/other.db", "ro"));
    expect(r.find("Seria certificatului") != std::string::npos, "diagnose_config in Romanian", r.substr(0, 200));
    std::string m = anaf::store_migrate(config(dir + "/cpp.db", "en"), config(dir + "/cpp-moved.db", "en"));
    expect(m.find("\"journal\"") != std::string::npos && m.find("\"tokens\":[]") != std::string::npos, "store_migrate answers its report", m);
    got = 0;
    try { anaf::store_migrate(config(dir + "/cpp.db", "en"), config(dir + "/cpp.db", "en")); } catch (const anaf::error &e) { got = e.status(); }
    expect(got == ANAF_ERR_INVALID_ARGUMENT, "store_migrate refuses the same store twice", std::to_string(got));
    std::cout << failures << " failures\n";
    return failures;
}
