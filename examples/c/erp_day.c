/* An ERP's day with anaf_bridge, in C: open the client, show the token, upload an invoice,
   wait for ANAF's verdict, download the answer; then bring the supplier invoices in (the
   inbox), save the first one not imported yet and mark it imported; look a partner up by CIF.
   Usage: erp_day CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]
   (ACCESS/REFRESH import a token pair once, as after "Generate ANAF token"; a real ERP
   calls anaf_generate_token(client, hwnd) or the browser link instead.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "anaf_bridge.h"

/* Prints the failed step with the library's message; returns the status. */
static int failed(const char *step, int32_t st) {
    fprintf(stderr, "%s: %s (%d): %s\n", step, anaf_status_name(st), st, anaf_last_error());
    return st;
}

/* Copies the value of "key" (a string or a number) out of a JSON object. */
static int field(const char *json, const char *key, char *out, size_t cap) {
    char pat[64];
    const char *p;
    size_t n = 0;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (!json || !(p = strstr(json, pat))) return 0;
    p += strlen(pat);
    while (*p == ' ' || *p == '"') p++;
    while (p[n] && p[n] != '"' && p[n] != ',' && p[n] != '}' && n + 1 < cap) n++;
    memcpy(out, p, n);
    out[n] = 0;
    return n > 0;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    AnafClient *client = NULL;
    char *config, *json = NULL, index[64], id[64], zip[1024], xml[1024];
    int32_t st;
    if (argc < 4) { fprintf(stderr, "usage: erp_day CONFIG.json INVOICE.xml OUT_DIR [ACCESS REFRESH]\n"); return 2; }
    if (!(config = slurp(argv[1]))) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }

    st = anaf_open(config, &client);
    free(config);
    if (st != ANAF_OK) return failed("anaf_open", st);
    if (argc >= 6 && (st = anaf_import_token(client, argv[4], argv[5])) != ANAF_OK) return failed("anaf_import_token", st);

    if ((st = anaf_token_info(client, &json)) != ANAF_OK) return failed("anaf_token_info", st);
    printf("token: %s\n", json);
    anaf_free(json), json = NULL;

    st = anaf_upload_file(client, argv[2], "{\"standard\": \"UBL\"}", &json);
    if (st < 0) return failed("anaf_upload_file", st);
    if (!field(json, "index_incarcare", index, sizeof index)) { fprintf(stderr, "no index_incarcare in %s\n", json); return 1; }
    printf("uploaded: index_incarcare %s\n", index);
    anaf_free(json), json = NULL;

    st = anaf_status_wait(client, index, 120, 500, &json);
    if (st != ANAF_OK) return failed("anaf_status_wait", st);
    printf("status: %s\n", json);
    if (!field(json, "id_descarcare", id, sizeof id)) { fprintf(stderr, "no id_descarcare\n"); return 1; }
    anaf_free(json), json = NULL;

    snprintf(zip, sizeof zip, "%s/raspuns_%s.zip", argv[3], id);
    if ((st = anaf_download(client, id, zip, 1, &json)) != ANAF_OK) return failed("anaf_download", st);
    printf("downloaded: %s\n", json);
    anaf_free(json), json = NULL;

    if ((st = anaf_inbox_sync(client, NULL, &json)) != ANAF_OK) return failed("anaf_inbox_sync", st);
    printf("inbox: %s\n", json);
    anaf_free(json), json = NULL;
    st = anaf_inbox_list(client, "{\"type\": \"FACTURA PRIMITA\", \"not_imported\": true, \"limit\": 1}", &json);
    if (st != ANAF_OK) return failed("anaf_inbox_list", st);
    if (!field(json, "message_id", id, sizeof id)) { fprintf(stderr, "no supplier invoice in %s\n", json); return 1; }
    anaf_free(json), json = NULL;
    snprintf(xml, sizeof xml, "%s/primita_%s.xml", argv[3], id);
    if ((st = anaf_inbox_get(client, id, "xml", xml, &json)) != ANAF_OK) return failed("anaf_inbox_get", st);
    anaf_free(json), json = NULL;
    if ((st = anaf_inbox_ack(client, id, "NIR 1")) != ANAF_OK) return failed("anaf_inbox_ack", st);
    printf("INBOX %s\n", xml);

    /* The month-end path: a batch of invoices (here the one already sent: not sent again).
       A Windows path goes into the JSON with its backslashes doubled. */
    {
        char items[1200];
        snprintf(items, sizeof items, "[{\"path\": \"%s\", \"ref\": \"FX-1\"}]", argv[2]);
        if ((st = anaf_upload_batch(client, items, NULL, &json)) != ANAF_OK) return failed("anaf_upload_batch", st);
        printf("batch: %s\n", json);
        anaf_free(json), json = NULL;
        snprintf(items, sizeof items, "[\"%s\"]", index);
        if ((st = anaf_status_batch(client, items, NULL, &json)) != ANAF_OK) return failed("anaf_status_batch", st);
        printf("states: %s\n", json);
        anaf_free(json), json = NULL;
    }

    /* A new partner filled in from its CIF (ANAF's registry of VAT payers). */
    if ((st = anaf_company_lookup(client, "[\"RO14399840\"]", NULL, &json)) != ANAF_OK) return failed("anaf_company_lookup", st);
    printf("partner: %s\n", json);
    anaf_free(json), json = NULL;

    anaf_close(client);
    printf("DONE %s\n", zip);
    return 0;
}
