/* libFuzzer target: config_load on a file holding the input (owned by us, mode 0600).
 * Oracle: a config that loads has every required key and https endpoints, a binding
 * template that fits its provider's limits, and with confirm = "type" the phone gets the
 * code (%c in binding_message) and the terminal does not (no %c in message). */
#include "config.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

/* The scratch file goes when the fuzzer exits (libFuzzer ends runs with exit()). */
static void remove_scratch(void)
{
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
}

/* Whether tmpl holds the escape %c ("%%" is a literal percent sign). */
static int has_code_escape(const char *tmpl)
{
    for (const char *p = tmpl; p && *p; p++)
        if (*p == '%' && *++p == 'c')
            return 1;
        else if (!*p)
            break;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    char err[512];

    if (fd < 0) {
        snprintf(path, sizeof(path), "%s/pam_ciba_fuzz_config.XXXXXX", "/tmp");
        fd = mkstemp(path);
        FUZZ_ASSERT(fd >= 0);
        atexit(remove_scratch);
    }
    FUZZ_ASSERT(ftruncate(fd, 0) == 0);
    FUZZ_ASSERT(pwrite(fd, data, size, 0) == (ssize_t)size);
    if (config_load(path, geteuid(), &cfg, err, sizeof(err)) == RES_OK) {
        FUZZ_ASSERT(cfg.issuer && strncmp(cfg.issuer, "https://", 8) == 0);
        /* Endpoints may be left to discovery; any that are set must be https. */
        FUZZ_ASSERT(!cfg.bc_endpoint || strncmp(cfg.bc_endpoint, "https://", 8) == 0);
        FUZZ_ASSERT(!cfg.token_endpoint || strncmp(cfg.token_endpoint, "https://", 8) == 0);
        FUZZ_ASSERT(!cfg.jwks_uri || strncmp(cfg.jwks_uri, "https://", 8) == 0);
        FUZZ_ASSERT(cfg.client_id && *cfg.client_id);
        FUZZ_ASSERT(cfg.client_secret || cfg.private_key_pem || cfg.tls_client_key_pem);
        FUZZ_ASSERT(cfg.scope && cfg.subject && cfg.binding_message);
        FUZZ_ASSERT(cfg.max_wait >= 5 && cfg.request_timeout >= 1 && cfg.connect_timeout >= 1);
        /* Issue 13 item 5: a loaded binding template always fits its provider's limits. */
        {
            char why[256], msg[BINDING_MESSAGE_MAX + 1];
            struct template_vars v = {.user = "u", .code = "K7QF"};
            FUZZ_ASSERT(cfg.binding_limits.max >= 1 && cfg.binding_limits.max <= BINDING_MESSAGE_MAX);
            FUZZ_ASSERT(binding_profile_check(&cfg.binding_limits, cfg.binding_message, why, sizeof(why)) == RES_OK);
            FUZZ_ASSERT(binding_fit(cfg.binding_message, &v, &cfg.binding_limits, msg) == RES_OK);
        }
        FUZZ_ASSERT(cfg.confirm == CONFIRM_COMPARE || cfg.confirm == CONFIRM_TYPE);
        if (cfg.confirm == CONFIRM_TYPE)
            FUZZ_ASSERT(has_code_escape(cfg.binding_message) && !has_code_escape(cfg.message));
    } else {
        FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
    }
    config_free(&cfg);
    return 0;
}
