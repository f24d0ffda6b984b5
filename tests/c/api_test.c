/*
 * The C API as a C host sees it, written against include/anaf_bridge.h only. Built
 * natively against the Linux library and with mingw against each Windows DLL (run under
 * Wine), so the same checks cover both ABIs and both pointer sizes.
 * Prints "N passed, M failed" and exits non-zero on any failure.
 */
#include "anaf_bridge.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, what)                                                                     \
    do {                                                                                      \
        if (cond) {                                                                           \
            passed++;                                                                         \
        } else {                                                                              \
            failed++;                                                                         \
            printf("FAIL %s:%d %s (last error: %s)\n", __FILE__, __LINE__, what,            \
                   anaf_last_error());                                                        \
        }                                                                                     \
    } while (0)

static const char *db_path(void) {
    const char *p = getenv("ANAF_TEST_DB");
    return p ? p : "anaf_c_test.db";
}

static char config[2048];

static const char *good_config(const char *lang) {
    snprintf(config, sizeof config,
             "{\"database\":\"%s\",\"cif\":\"14399840\",\"language\":\"%s\","
             "\"client_id\":\"id\",\"client_secret\":\"secret\","
             "\"redirect_uri\":\"https://localhost:9443/cb\",\"cert_serial\":\"1a 2b 3c\"}",
             db_path(), lang);
    return config;
}

static void test_version_and_names(void) {
    const char *v = anaf_version();
    CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL, "anaf_version is x.y.z");
    CHECK(strcmp(anaf_status_name(ANAF_OK), "ANAF_OK") == 0, "status name of OK");
    CHECK(strcmp(anaf_status_name(ANAF_ERR_WEBVIEW2_MISSING), "ANAF_ERR_WEBVIEW2_MISSING") == 0,
          "status name of WEBVIEW2_MISSING");
    CHECK(strcmp(anaf_status_name(-9999), "ANAF_UNKNOWN") == 0, "unknown status name");
}

static void test_open_errors(void) {
    AnafClient *c = (AnafClient *)0x1;
    CHECK(anaf_open(NULL, &c) == ANAF_ERR_NULL_POINTER, "NULL config");
    CHECK(c == NULL, "out cleared on failure");
    CHECK(strstr(anaf_last_error(), "config_json") != NULL, "message names config_json");
    CHECK(anaf_open(good_config("ro"), NULL) == ANAF_ERR_NULL_POINTER, "NULL out pointer");
    CHECK(anaf_open("{not json", &c) == ANAF_ERR_INVALID_JSON, "malformed JSON");
    CHECK(anaf_open("{\"database\":\"x.db\",\"cif\":\"RO14399840\"}", &c) == ANAF_ERR_INVALID_CONFIG,
          "RO prefix refused");
    CHECK(strstr(anaf_last_error(), "cif") != NULL, "message names cif");
    CHECK(anaf_open("{\"database\":\"x.db\",\"cif\":\"14399840\",\"cert_serial\":\"1A\xc8\x99\"}", &c) ==
              ANAF_ERR_INVALID_CONFIG,
          "serial with diacritics refused");
    CHECK(strstr(anaf_last_error(), "cert_serial") != NULL, "message names cert_serial");
    CHECK(anaf_open("{\"database\":\"x.db\",\"cif\":\"14399840\",\"colour\":1}", &c) == ANAF_ERR_INVALID_CONFIG,
          "unknown key refused");
    CHECK(anaf_open("{\"database\":\"x.db\",\"cif\":\"14399840\",\"timeout_seconds\":\"5\"}", &c) ==
              ANAF_ERR_INVALID_CONFIG,
          "wrong type refused");
    CHECK(anaf_open("{\"database\":\"x.db\",\"cif\":\"1439\xff\"}", &c) == ANAF_ERR_INVALID_UTF8,
          "invalid UTF-8 refused");
}

static void test_lifecycle(void) {
    AnafClient *c = NULL;
    char *s = (char *)0x1;
    int rc = anaf_open(good_config("en"), &c);
    CHECK(rc == ANAF_OK && c != NULL, "open with a good config");
    CHECK(strcmp(anaf_last_error(), "") == 0, "last error empty after success");
    if (rc != ANAF_OK)
        return;
    CHECK(anaf_get_token(c, NULL) == ANAF_ERR_NULL_POINTER, "get_token NULL out");
    CHECK(anaf_get_token(NULL, &s) == ANAF_ERR_NULL_POINTER, "get_token NULL client");
    CHECK(s == NULL, "out cleared before the work");
    /* An empty database has no token: the message is in the client's language (en). */
    rc = anaf_get_token(c, &s);
    CHECK(rc != ANAF_OK && s == NULL, "no token in a new database");
    CHECK(strlen(anaf_last_error()) > 0, "a message explains it");
    CHECK(anaf_upload(c, NULL, 10, NULL, &s) == ANAF_ERR_NULL_POINTER, "upload NULL buffer with length");
    /* Many companies: no token of the configured certificate (1A2B3C) is stored yet. */
    CHECK(anaf_token_assign(c, NULL, NULL) == ANAF_ERR_NO_TOKEN, "token_assign without a token, NULL out");
    CHECK(strstr(anaf_last_error(), "1A2B3C") != NULL, "message names the configured serial");
    CHECK(anaf_token_assign(c, "5e:2b", &s) == ANAF_ERR_NO_TOKEN && s == NULL, "token_assign of a serial");
    CHECK(strstr(anaf_last_error(), "5E2B") != NULL, "message names the given serial, normalised");
    CHECK(anaf_token_assign(c, "5Z", &s) == ANAF_ERR_INVALID_ARGUMENT, "token_assign of a serial that is not hex");
    CHECK(anaf_close(c) == ANAF_OK, "close");
    CHECK(anaf_close(c) == ANAF_ERR_INVALID_ARGUMENT, "second close refused, no crash");
    CHECK(anaf_refresh(c) == ANAF_ERR_INVALID_ARGUMENT, "closed handle refused");
    CHECK(anaf_close(NULL) == ANAF_OK, "close(NULL) is a no-op");
    anaf_free(NULL);
    passed++;
}

static void test_romanian_default(void) {
    AnafClient *c = NULL;
    int rc = anaf_open(good_config("ro"), &c);
    CHECK(rc == ANAF_OK, "open ro");
    if (rc != ANAF_OK)
        return;
    CHECK(anaf_get_token(c, NULL) == ANAF_ERR_NULL_POINTER, "NULL out, ro");
    CHECK(strstr(anaf_last_error(), "Parametrul") != NULL, "message in Romanian");
    anaf_close(c);
}

#ifdef _WIN32
/* Wine has no WebView2 runtime: the login must say so, before any window, and return. */
static void test_login_without_webview2(void) {
    AnafClient *c = NULL;
    int rc = anaf_open(good_config("en"), &c);
    CHECK(rc == ANAF_OK, "open for login");
    if (rc != ANAF_OK)
        return;
    rc = anaf_generate_token(c, NULL);
    CHECK(rc == ANAF_ERR_WEBVIEW2_MISSING, "generate_token without WebView2 runtime");
    CHECK(strstr(anaf_last_error(), "Evergreen") != NULL, "message names the Evergreen runtime");
    rc = anaf_generate_token(c, NULL);
    CHECK(rc == ANAF_ERR_WEBVIEW2_MISSING, "second attempt answers the same, no hang");
    anaf_close(c);
}
#endif

int main(void) {
    remove(db_path());
    test_version_and_names();
    test_open_errors();
    test_lifecycle();
    test_romanian_default();
#ifdef _WIN32
    test_login_without_webview2();
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
