/*
 * The demo that scripts/dist.sh runs: a C host that loads anaf_bridge.dll, opens a client
 * with the configuration given as its first argument (a JSON string or @file), and walks
 * through an ERP's day against anaf-sim: import a token pair (argv[2], argv[3]), read the
 * token back, check it at ANAF, upload an invoice (argv[4]), wait for ANAF's verdict and
 * download the answer.
 *
 *   demo CONFIG [ACCESS_TOKEN REFRESH_TOKEN [INVOICE.xml]]
 */
#include "anaf_bridge.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_arg(const char *arg) {
    FILE *f;
    long n;
    char *buf;
    if (arg[0] != '@')
        return strdup(arg);
    f = fopen(arg + 1, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = 0;
    fclose(f);
    return buf;
}

static int report(const char *what, int rc) {
    printf("%-28s %-28s %s\n", what, anaf_status_name(rc), rc == ANAF_OK ? "" : anaf_last_error());
    return rc;
}

static void print_json(const char *what, char *json) {
    if (json) {
        printf("  %s: %s\n", what, json);
        anaf_free(json);
    }
}

/* The string value of "key" in a flat JSON object, or "" (enough for the demo's answers). */
static void json_field(const char *json, const char *key, char *out, size_t n) {
    char pat[64];
    const char *p, *q;
    out[0] = 0;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = json ? strstr(json, pat) : NULL;
    if (!p)
        return;
    p += strlen(pat);
    while (*p == ' ' || *p == '"')
        p++;
    for (q = p; *q && *q != '"' && *q != ',' && *q != '}'; q++)
        ;
    if ((size_t)(q - p) >= n)
        return;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = 0;
}

static int erp_day(AnafClient *client, int argc, char **argv) {
    char *json = NULL, index[32], zip[64];
    int rc;
    rc = report("anaf_import_token", anaf_import_token(client, argv[2], argv[3]));
    if (rc != ANAF_OK)
        return rc;
    rc = report("anaf_token_info", anaf_token_info(client, &json));
    print_json("token", json);
    report("anaf_test_token", anaf_test_token(client));
    if (argc < 5)
        return rc;
    json = NULL;
    rc = report("anaf_upload_file", anaf_upload_file(client, argv[4], "{\"standard\":\"UBL\"}", &json));
    json_field(json, "index_incarcare", index, sizeof index);
    print_json("upload", json);
    if (rc != ANAF_OK || !index[0])
        return rc ? rc : 1;
    json = NULL;
    rc = report("anaf_status_wait", anaf_status_wait(client, index, 60, 500, &json));
    {
        char id[32];
        json_field(json, "id_descarcare", id, sizeof id);
        print_json("status", json);
        if (rc != ANAF_OK || !id[0])
            return rc ? rc : 1;
        snprintf(zip, sizeof zip, "answer_%s.zip", id);
        json = NULL;
        rc = report("anaf_download", anaf_download(client, id, zip, 1, &json));
        print_json("download", json);
    }
    return rc;
}

int main(int argc, char **argv) {
    AnafClient *client = NULL;
    char *config, *token = NULL;
    int rc, day = ANAF_OK;
    printf("anaf-bridge %s, %d-bit\n", anaf_version(), (int)(sizeof(void *) * 8));
    if (argc < 2) {
        fprintf(stderr, "usage: demo CONFIG_JSON|@config.json\n");
        return 2;
    }
    config = read_arg(argv[1]);
    if (!config) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    rc = report("anaf_open", anaf_open(config, &client));
    free(config);
    if (rc != ANAF_OK)
        return 1;
    if (argc >= 4)
        day = erp_day(client, argc, argv);
    rc = report("anaf_get_token", anaf_get_token(client, &token));
    if (rc == ANAF_OK) {
        printf("access token: %.12s... (%u characters)\n", token, (unsigned)strlen(token));
        anaf_free(token);
    }
    report("anaf_close", anaf_close(client));
    return day == ANAF_OK && (argc < 4 || rc == ANAF_OK) ? 0 : 1;
}
