/*
 * The demo that scripts/dist.sh runs: a C host that loads anaf_bridge.dll, opens a client
 * with the configuration given as its first argument (a JSON string or @file), and
 * reports what it can do. Against anaf-sim it imports a token and asks for it back.
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

int main(int argc, char **argv) {
    AnafClient *client = NULL;
    char *config, *token = NULL;
    int rc;
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
    rc = report("anaf_get_token", anaf_get_token(client, &token));
    if (rc == ANAF_OK) {
        printf("access token: %.12s... (%u characters)\n", token, (unsigned)strlen(token));
        anaf_free(token);
    }
    report("anaf_close", anaf_close(client));
    return 0;
}
