// anaf_bridge.hpp - header-only C++ wrapper of anaf_bridge.dll (C++11 and later;
// Visual C++, C++Builder's clang, MinGW g++, Linux g++).
//
//   anaf::client c(config_json);            // anaf_open; anaf_close in the destructor
//   std::string info = c.token_info();      // JSON; the DLL's string is freed for you
//   ...                                     // errors throw anaf::error (status + message)
//
// Every C function stays callable directly (include/anaf_bridge.h is included); use
// c.get() for the raw handle. Strings are UTF-8 std::string both ways.
#ifndef ANAF_BRIDGE_HPP
#define ANAF_BRIDGE_HPP

#include "anaf_bridge.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace anaf {

/// An error status of the library (negative), with the DLL's message (UTF-8; Romanian by
/// default, English with "language": "en").
class error : public std::runtime_error {
public:
    error(int32_t status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    int32_t status() const noexcept { return status_; }
    const char *status_name() const noexcept { return anaf_status_name(status_); }

private:
    int32_t status_;
};

/// The last error of this thread.
inline std::string last_error() {
    const char *m = anaf_last_error();
    return m ? std::string(m) : std::string();
}

/// Throws anaf::error for a negative status; returns the status otherwise (0 or a
/// positive code such as ANAF_PENDING / ANAF_ALREADY_UPLOADED).
inline int32_t check(int32_t status) {
    if (status < 0) throw error(status, last_error());
    return status;
}

/// Owns a string the DLL returned and frees it with anaf_free.
class dll_string {
public:
    dll_string() noexcept : p_(nullptr) {}
    ~dll_string() { anaf_free(p_); }
    dll_string(const dll_string &) = delete;
    dll_string &operator=(const dll_string &) = delete;
    char **out() noexcept { anaf_free(p_); p_ = nullptr; return &p_; }
    std::string str() const { return p_ ? std::string(p_) : std::string(); }

private:
    char *p_;
};

inline std::string version() { return anaf_version(); }

namespace detail {
inline const char *opt(const std::string &s) { return s.empty() ? nullptr : s.c_str(); }
inline const uint8_t *bytes(const std::string &s) {
    return reinterpret_cast<const uint8_t *>(s.data());
}
} // namespace detail

/// Checks this computer's setup from a configuration alone (when opening a client fails).
inline std::string diagnose_config(const std::string &config_json) {
    dll_string s;
    check(anaf_diagnose_config(config_json.c_str(), s.out()));
    return s.str();
}

/// Moves the token and the upload journal from one configuration's store (the SQLite file)
/// to another's (the ERP's server, "odbc"); the file's rows are marked moved.
inline std::string store_migrate(const std::string &from_config_json, const std::string &to_config_json) {
    dll_string s;
    check(anaf_store_migrate(from_config_json.c_str(), to_config_json.c_str(), s.out()));
    return s.str();
}

/// One ANAF client (one CIF and its token database). Movable, not copyable; thread-safe.
class client {
public:
    explicit client(const std::string &config_json) : h_(nullptr), last_(0) {
        last_ = check(anaf_open(config_json.c_str(), &h_));
    }
    ~client() { if (h_) anaf_close(h_); }
    client(const client &) = delete;
    client &operator=(const client &) = delete;
    client(client &&o) noexcept : h_(o.h_), last_(o.last_) { o.h_ = nullptr; }
    client &operator=(client &&o) noexcept {
        if (this != &o) {
            if (h_) anaf_close(h_);
            h_ = o.h_;
            last_ = o.last_;
            o.h_ = nullptr;
        }
        return *this;
    }

    AnafClient *get() const noexcept { return h_; }
    /// The status of the last call (0, or a positive code; errors throw).
    int32_t last_status() const noexcept { return last_; }

    std::string diagnose() { dll_string s; st(anaf_diagnose(h_, s.out())); return s.str(); }

    // token
    void generate_token(void *parent_window = nullptr) { st(anaf_generate_token(h_, parent_window)); }
    void cancel_login() { st(anaf_cancel_login(h_)); }
    std::string authorize_url(const std::string &state = std::string()) {
        dll_string s; st(anaf_authorize_url(h_, detail::opt(state), s.out())); return s.str();
    }
    void exchange_code(const std::string &code_or_redirect_url) {
        st(anaf_exchange_code(h_, code_or_redirect_url.c_str()));
    }
    void import_token(const std::string &access, const std::string &refresh) {
        st(anaf_import_token(h_, access.c_str(), refresh.c_str()));
    }
    void refresh() { st(anaf_refresh(h_)); }
    std::string get_token() { dll_string s; st(anaf_get_token(h_, s.out())); return s.str(); }
    std::string token_info() { dll_string s; st(anaf_token_info(h_, s.out())); return s.str(); }
    /// One certificate, many companies: this CIF uses from now on the token of `cert_serial`
    /// (empty: the configured one). Returns what token_info() returns.
    std::string assign_token(const std::string &cert_serial = std::string()) {
        dll_string s; st(anaf_token_assign(h_, detail::opt(cert_serial), s.out())); return s.str();
    }
    void test_token() { st(anaf_test_token(h_)); }
    void delete_token() { st(anaf_delete_token(h_)); }

    // browser link
    std::string link_begin() { dll_string s; st(anaf_link_begin(h_, s.out())); return s.str(); }
    /// Returns ANAF_OK once the token is imported, ANAF_PENDING while waiting.
    int32_t link_poll(std::string &json) { dll_string s; st(anaf_link_poll(h_, s.out())); json = s.str(); return last_; }
    int32_t link_wait(uint32_t timeout_seconds, std::string &json) {
        dll_string s; st(anaf_link_wait(h_, timeout_seconds, s.out())); json = s.str(); return last_;
    }
    void link_cancel() { st(anaf_link_cancel(h_)); }

    // e-Factura
    std::string upload(const std::string &xml, const std::string &options_json = std::string()) {
        dll_string s;
        st(anaf_upload(h_, detail::bytes(xml), xml.size(), detail::opt(options_json), s.out()));
        return s.str();
    }
    std::string upload_file(const std::string &xml_path, const std::string &options_json = std::string()) {
        dll_string s; st(anaf_upload_file(h_, xml_path.c_str(), detail::opt(options_json), s.out())); return s.str();
    }
    // Many invoices at once (README "Month-end: many uploads at once"): every item's
    // outcome, also when some are not at ANAF (then last_status() is
    // ANAF_ERR_BATCH_INCOMPLETE); throws only for a batch that could not run.
    std::string upload_batch(const std::string &items_json, const std::string &options_json = std::string()) {
        dll_string s; batch_st(anaf_upload_batch(h_, items_json.c_str(), detail::opt(options_json), s.out())); return s.str();
    }
    // The same on a thread of the DLL: begin, then poll (ANAF_PENDING with the progress
    // while it runs, then the outcome as upload_batch gives it); cancel from any thread.
    void upload_batch_begin(const std::string &items_json, const std::string &options_json = std::string()) {
        st(anaf_upload_batch_begin(h_, items_json.c_str(), detail::opt(options_json)));
    }
    int32_t upload_batch_poll(std::string &json) {
        dll_string s; batch_st(anaf_upload_batch_poll(h_, s.out())); json = s.str(); return last_;
    }
    void upload_batch_cancel() { st(anaf_upload_batch_cancel(h_)); }
    // The states of many uploads (ids_json: ["5001234567", ...]; options e.g.
    // {"wait_seconds": 60}): every item's state, also when some could not be had (then
    // last_status() is ANAF_ERR_BATCH_INCOMPLETE).
    std::string status_batch(const std::string &ids_json, const std::string &options_json = std::string()) {
        dll_string s; batch_st(anaf_status_batch(h_, ids_json.c_str(), detail::opt(options_json), s.out())); return s.str();
    }
    std::string status(const std::string &id_incarcare) {
        dll_string s; st(anaf_status(h_, id_incarcare.c_str(), s.out())); return s.str();
    }
    std::string status_wait(const std::string &id_incarcare, uint32_t timeout_seconds = 300, uint32_t interval_ms = 5000) {
        dll_string s; st(anaf_status_wait(h_, id_incarcare.c_str(), timeout_seconds, interval_ms, s.out())); return s.str();
    }
    std::string list_messages(int32_t zile, const std::string &filtru = std::string()) {
        dll_string s; st(anaf_list_messages(h_, zile, detail::opt(filtru), s.out())); return s.str();
    }
    // The e-Factura inbox in the database (README "The inbox").
    std::string inbox_sync(const std::string &options_json = "") {
        dll_string s; st(anaf_inbox_sync(h_, detail::opt(options_json), s.out())); return s.str();
    }
    // The same on a thread of the DLL: begin, then poll (ANAF_PENDING with the progress
    // while it runs, then its outcome).
    void inbox_sync_begin(const std::string &options_json = "") {
        st(anaf_inbox_sync_begin(h_, detail::opt(options_json)));
    }
    int32_t inbox_sync_poll(std::string &json) { dll_string s; st(anaf_inbox_sync_poll(h_, s.out())); json = s.str(); return last_; }
    std::string inbox_list(const std::string &filter_json = "") {
        dll_string s; st(anaf_inbox_list(h_, detail::opt(filter_json), s.out())); return s.str();
    }
    // what: "zip", "xml", "signature" or "pdf", written to out_path.
    std::string inbox_get(const std::string &id, const std::string &what, const std::string &out_path) {
        dll_string s; st(anaf_inbox_get(h_, id.c_str(), what.c_str(), out_path.c_str(), s.out())); return s.str();
    }
    void inbox_ack(const std::string &id, const std::string &erp_ref) {
        st(anaf_inbox_ack(h_, id.c_str(), erp_ref.c_str()));
    }
    // ANAF's registry of VAT payers (README "Company lookup"): cifs_json is a JSON array,
    // e.g. ["RO14399840"]; date "YYYY-MM-DD" or "" for today.
    std::string company_lookup(const std::string &cifs_json, const std::string &date = "") {
        dll_string s; st(anaf_company_lookup(h_, cifs_json.c_str(), detail::opt(date), s.out())); return s.str();
    }
    std::string download(const std::string &id, const std::string &zip_path, bool extract = false) {
        dll_string s; st(anaf_download(h_, id.c_str(), zip_path.c_str(), extract ? 1 : 0, s.out())); return s.str();
    }
    std::string validate(const std::string &xml, const std::string &standard = "FACT1") {
        dll_string s; st(anaf_validate(h_, detail::bytes(xml), xml.size(), detail::opt(standard), s.out())); return s.str();
    }
    std::string xml_to_pdf(const std::string &xml, const std::string &standard, const std::string &pdf_path, bool validate = true) {
        dll_string s;
        st(anaf_xml_to_pdf(h_, detail::bytes(xml), xml.size(), detail::opt(standard), validate ? 1 : 0, pdf_path.c_str(), s.out()));
        return s.str();
    }

    /// Every message between start_ms and end_ms (Unix ms), all pages; with out_path the
    /// list goes to that file and the answer is the summary.
    std::string list_messages_paged(int64_t start_ms, int64_t end_ms, const std::string &filtru = std::string(),
                                    const std::string &out_path = std::string()) {
        dll_string s;
        st(anaf_list_messages_paged(h_, start_ms, end_ms, detail::opt(filtru), detail::opt(out_path), s.out()));
        return s.str();
    }
    std::string verify_signature(const std::string &xml_path, const std::string &signature_path) {
        dll_string s; st(anaf_verify_signature(h_, xml_path.c_str(), signature_path.c_str(), s.out())); return s.str();
    }
    std::string upload_journal(int32_t days) { dll_string s; st(anaf_upload_journal(h_, days, s.out())); return s.str(); }
    /// Settles an upload left uncertain (ANAF_ERR_UPLOAD_UNCERTAIN): ANAF_ALREADY_UPLOADED
    /// in last_status() when ANAF has it.
    std::string upload_resolve(int64_t journal_id, int32_t zile = 3) {
        dll_string s; st(anaf_upload_resolve(h_, journal_id, zile, s.out())); return s.str();
    }

    // e-Transport
    std::string etransport_upload(const std::string &xml, const std::string &options_json = std::string()) {
        dll_string s;
        st(anaf_etransport_upload(h_, detail::bytes(xml), xml.size(), detail::opt(options_json), s.out()));
        return s.str();
    }
    std::string etransport_upload_file(const std::string &xml_path, const std::string &options_json = std::string()) {
        dll_string s; st(anaf_etransport_upload_file(h_, xml_path.c_str(), detail::opt(options_json), s.out())); return s.str();
    }
    std::string etransport_status(const std::string &index_incarcare) {
        dll_string s; st(anaf_etransport_status(h_, index_incarcare.c_str(), s.out())); return s.str();
    }
    std::string etransport_list(int32_t zile, const std::string &cif = std::string()) {
        dll_string s; st(anaf_etransport_list(h_, zile, detail::opt(cif), s.out())); return s.str();
    }

private:
    int32_t st(int32_t status) { last_ = status; return check(status); }
    // A batch's status: some items not at ANAF is an answer to read, not an exception.
    int32_t batch_st(int32_t status) { return status == ANAF_ERR_BATCH_INCOMPLETE ? (last_ = status) : st(status); }
    AnafClient *h_;
    int32_t last_;
};

} // namespace anaf

#endif // ANAF_BRIDGE_HPP
