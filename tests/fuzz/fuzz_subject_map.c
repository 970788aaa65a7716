/* libFuzzer target: subject_map_parse and subject_map_find (the subject_map_file format).
 * Input: the map text, then NUL, then a user name to look up. Oracles, checked against an
 * independent line scan of the text: every listed user maps to exactly its own line's
 * subject, taken literally; anyone else gets the "*" template or RES_USER_UNKNOWN; a
 * lookup result never holds a control character (so never a newline). */
#include "fuzz_common.h"
#include "subject_map.h"
#include "template.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference reading of one line: up to 3 blank-separated fields, '#' at the start of
 * a field ends the line. Writes NULs into line. */
static size_t split(char *line, char *f[3])
{
    size_t n = 0;
    char *save = NULL;

    for (char *t = strtok_r(line, " \t", &save); t && n < 3; t = strtok_r(NULL, " \t", &save)) {
        if (*t == '#')
            break;
        f[n++] = t;
    }
    return n;
}

/* The subject the text gives user: the second field of its line, or of the "*" line
 * (*is_default). NULL if neither exists. Points into scratch. */
static const char *reference(char *scratch, const char *user, bool *is_default)
{
    const char *listed = NULL, *fallback = NULL;
    char *line, *next;

    for (line = scratch; line; line = next) {
        char *f[3];
        size_t len;
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        if (split(line, f) != 2)
            continue; /* a successful parse has no such line with content */
        if (strcmp(f[0], "*") == 0)
            fallback = f[1];
        else if (strcmp(f[0], user) == 0)
            listed = f[1];
    }
    *is_default = !listed;
    return listed ? listed : fallback;
}

static void no_controls(const char *s)
{
    for (; *s; s++)
        FUZZ_ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
}

/* The map's answer for user must be what the reference scan says. */
static void check_user(const struct subject_map *m, const char *text, const char *user)
{
    char *scratch = strdup(text), *tmpl = NULL, *literal = NULL;
    bool is_default;
    const char *want;
    result r;

    FUZZ_ASSERT(scratch);
    want = reference(scratch, user, &is_default);
    r = subject_map_find(m, user, &tmpl);
    if (!want) {
        FUZZ_ASSERT(r == RES_USER_UNKNOWN && tmpl == NULL);
    } else {
        char why[256];
        FUZZ_ASSERT(r == RES_OK && tmpl);
        no_controls(tmpl);
        FUZZ_ASSERT(template_check(tmpl, why, sizeof(why)) == RES_OK);
        if (is_default) {
            FUZZ_ASSERT(strcmp(tmpl, want) == 0);
        } else {
            /* Listed subjects are literal: expanding them gives the line's text back. */
            FUZZ_ASSERT(template_expand(tmpl, NULL, 0, &literal) == RES_OK);
            FUZZ_ASSERT(strcmp(literal, want) == 0);
        }
    }
    free(literal);
    free(tmpl);
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 2), *user, err[512] = "";
    struct subject_map *m = NULL;
    result r;

    FUZZ_ASSERT(text);
    memcpy(text, data, size);
    text[size] = text[size + 1] = '\0';
    user = text + strlen(text) + 1; /* the part after the first NUL, or "" */
    r = subject_map_parse("map", text, &m, err, sizeof(err));
    if (r != RES_OK) {
        FUZZ_ASSERT(m == NULL && r == RES_CONFIG && strncmp(err, "map", 3) == 0);
        free(text);
        return 0;
    }
    FUZZ_ASSERT(m != NULL);
    check_user(m, text, user);
    /* Every user named in the text, too: a round trip of the whole file. */
    {
        char *scratch = strdup(text), *line, *next;
        FUZZ_ASSERT(scratch);
        for (line = scratch; line; line = next) {
            char *f[3];
            size_t len, n;
            if ((next = strchr(line, '\n')))
                *next++ = '\0';
            len = strlen(line);
            if (len && line[len - 1] == '\r')
                line[len - 1] = '\0';
            n = split(line, f);
            /* The parse accepted the file: each line is a pair, blank or a comment. */
            FUZZ_ASSERT(n == 0 || n == 2);
            if (n == 2)
                check_user(m, text, f[0]);
        }
        free(scratch);
    }
    subject_map_free(m);
    free(text);
    return 0;
}
