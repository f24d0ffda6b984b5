// An ERP's day with anaf_bridge, in C++ (bindings/cpp/anaf_bridge.hpp): open the client,
// show the token, upload an invoice, wait for ANAF's verdict, download the answer; then
// bring the supplier invoices in (the inbox), save the first one not imported yet and mark
// it imported; look a partner up by CIF.
// Usage: erp_day CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]
#include "anaf_bridge.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

// The value of "key" (string or number) in a JSON object; enough for these answers.
static std::string field(const std::string &json, const std::string &key) {
    std::string::size_type p = json.find("\"" + key + "\":");
    if (p == std::string::npos) return "";
    p += key.size() + 3;
    while (p < json.size() && (json[p] == ' ' || json[p] == '"')) ++p;
    std::string::size_type e = json.find_first_of("\",}", p);
    return json.substr(p, e - p);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        std::cerr << "usage: erp_day CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]\n";
        return 2;
    }
    std::ifstream in(argv[1]);
    std::stringstream config;
    config << in.rdbuf();
    try {
        anaf::client c(config.str());
        if (argc >= 6) c.import_token(argv[4], argv[5]);
        std::cout << "token: " << c.token_info() << "\n";
        std::string index = field(c.upload_file(argv[2], "{\"standard\": \"UBL\"}"), "index_incarcare");
        std::cout << "uploaded: index_incarcare " << index << "\n";
        std::string status = c.status_wait(index, 120, 500);
        std::cout << "status: " << status << "\n";
        std::string id = field(status, "id_descarcare");
        std::string zip = std::string(argv[3]) + "/raspuns_" + id + ".zip";
        std::cout << "downloaded: " << c.download(id, zip, true) << "\n";
        std::cout << "inbox: " << c.inbox_sync() << "\n";
        std::string msg = field(c.inbox_list("{\"type\": \"FACTURA PRIMITA\", \"not_imported\": true, \"limit\": 1}"), "message_id");
        std::string xml = std::string(argv[3]) + "/primita_" + msg + ".xml";
        c.inbox_get(msg, "xml", xml);
        c.inbox_ack(msg, "NIR 1");
        std::cout << "INBOX " << xml << "\n";
        std::cout << "batch: " << c.upload_batch("[{\"path\": \"" + std::string(argv[2]) + "\"}]") << "\n";
        std::cout << "states: " << c.status_batch("[\"" + index + "\"]") << "\n";
        std::cout << "partner: " << c.company_lookup("[\"RO14399840\"]") << "\n";
        std::cout << "DONE " << zip << "\n";
        return 0;
    } catch (const anaf::error &e) {
        std::cerr << e.status_name() << " (" << e.status() << "): " << e.what() << "\n";
        return 1;
    }
}
