/* libFuzzer target: binding_fit and binding_profile_check (binding.c). Input: byte 0 picks
 * the preset (or a custom set, taken from field 1), byte 1 the length limit, then
 * NUL-separated fields: template, charset, user, host, service, rhost, tty, command,
 * target. Oracles: the check and the fit agree (the fit fails exactly when the template's
 * own text and code cannot fit); a fitted message has 1..max characters, all in the
 * provider's set (the presets checked against an independent copy of the providers' own
 * rules), no blank at either end or twice in a row, and holds the code verbatim whenever
 * the template uses %c; the same input gives the same message. */
#include "fuzz_common.h"
#include "binding.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The providers' own character rules, written out independently of binding.c. */
static bool preset_allows(enum binding_preset preset, unsigned char c)
{
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    switch (preset) {
    case BINDING_PRESET_AUTH0:
        return alnum || (c && strchr(" +-_.,:#", c));
    case BINDING_PRESET_NODE_OIDC:
    case BINDING_PRESET_KEYCLOAK:
        return alnum || (c && strchr("-._+/!?#", c));
    default:
        return false;
    }
}

static const size_t preset_max[] = {64, 20, 50};

/* Whether tmpl uses %c (not "%%c"). */
static bool uses_code(const char *tmpl)
{
    for (const char *p = tmpl; *p; p++) {
        if (*p != '%')
            continue;
        if (p[1] == 'c')
            return true;
        if (p[1])
            p++;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *field[9] = {0}, *p, why[256], out[BINDING_MESSAGE_MAX + 1], again[BINDING_MESSAGE_MAX + 1];
    static const char code[] = "K7QF";
    struct binding_profile prof;
    struct template_vars v;
    enum binding_preset preset;
    bool custom;
    result check, fit;
    int n = 0;

    if (size < 2)
        return 0;
    preset = (enum binding_preset)(data[0] % 4);
    custom = preset == BINDING_PRESET_CUSTOM;
    buf = malloc(size - 1);
    memcpy(buf, data + 2, size - 2);
    buf[size - 2] = '\0';
    for (p = buf; n < 9 && p <= buf + size - 2; p += strlen(p) + 1)
        field[n++] = p;
    binding_profile_preset(preset, &prof);
    if (custom) {
        if (!field[1] || binding_profile_set_charset(&prof, field[1], why, sizeof(why)) != RES_OK) {
            free(buf);
            return 0;
        }
        prof.max = 1 + data[1] % BINDING_MESSAGE_MAX;
    } else if (data[1] & 0x80) {
        /* a preset refined by binding_message_max */
        prof.max = 1 + data[1] % BINDING_MESSAGE_MAX;
    }
    v = (struct template_vars){field[2], field[3], field[3], field[4], field[5], field[6], code, field[7],
                               field[8], field[7]};

    check = binding_profile_check(&prof, field[0], why, sizeof(why));
    fit = binding_fit(field[0], &v, &prof, out);
    FUZZ_ASSERT(check == RES_OK || check == RES_CONFIG);
    FUZZ_ASSERT(fit == check);
    if (fit == RES_OK) {
        size_t len = strlen(out);
        FUZZ_ASSERT(len >= 1 && len <= prof.max);
        FUZZ_ASSERT(out[0] != ' ' && out[len - 1] != ' ' && !strstr(out, "  "));
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)out[i];
            FUZZ_ASSERT(c < 128 && prof.allowed[c]);
            FUZZ_ASSERT(custom || preset_allows(preset, c));
        }
        FUZZ_ASSERT(custom || (data[1] & 0x80) || len <= preset_max[preset]);
        FUZZ_ASSERT(!uses_code(field[0]) || strstr(out, code));
        FUZZ_ASSERT(binding_fit(field[0], &v, &prof, again) == RES_OK && strcmp(out, again) == 0);
    }
    free(buf);
    return 0;
}
