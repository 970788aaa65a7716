/* libFuzzer target: config_take_secret, which reads an inline client_secret out of config
 * text before libconfig sees it. Oracles, against libconfig itself: when libconfig parses
 * the original text and finds a top-level string client_secret, ours is equal to it; the
 * blanked text parses exactly when the original did, and its client_secret (if any) is
 * only 'x' and newlines when we took one, or unchanged when we did not. */
#include "fuzz_common.h"
#include "config_secret.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *value_of(const char *text, bool *parsed)
{
    config_t lc;
    const char *v = NULL;
    char *out = NULL;

    config_init(&lc);
    *parsed = config_read_string(&lc, text) == CONFIG_TRUE;
    if (*parsed && config_lookup_string(&lc, "client_secret", &v) == CONFIG_TRUE)
        out = strdup(v);
    config_destroy(&lc);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *secret = NULL, *theirs, *after;
    bool parsed, parsed_after;

    if (size > 4096 || memchr(data, '\0', size) || memmem(data, size, "@include", 8))
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    theirs = value_of(text, &parsed);
    FUZZ_ASSERT(config_take_secret(text, "client_secret", &secret) == RES_OK);
    after = value_of(text, &parsed_after);
    if (parsed != parsed_after)
        FUZZ_ASSERT(0);
    if (theirs && (!secret || strcmp(secret, theirs) != 0))
        FUZZ_ASSERT(0);
    if (after) {
        if (secret) {
            for (const char *c = after; *c; c++)
                if (*c != 'x' && *c != '\n')
                    FUZZ_ASSERT(0);
        } else if (!theirs || strcmp(after, theirs) != 0) {
            FUZZ_ASSERT(0);
        }
    }
    free(text);
    free(secret);
    free(theirs);
    free(after);
    return 0;
}
