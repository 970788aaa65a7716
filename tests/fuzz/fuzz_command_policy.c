/* libFuzzer target: command_policy_decide (command_rules). Input: one flag byte (bit 0:
 * args not known, bit 1: target not known), then lines: the program, its arguments, the
 * target, then one rule a line: an action digit, then TAB-separated fields: command
 * patterns (comma-separated), an args pattern (empty: none), target patterns (comma-
 * separated, empty: none); patterns command_pattern_valid refuses are left out, as the
 * config does. Oracles: an unknown command gets exactly the strictest action of all
 * rules; knowing less (the command, its arguments, the target) never gives a laxer
 * action; the rule reported is one with the action returned. */
#include "command_policy.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RULES 16

static char **split(char *s, char sep)
{
    size_t n = 1, k = 0;
    char **out;
    char why[160];

    for (char *p = s; *p; p++)
        n += *p == sep;
    out = calloc(n + 1, sizeof(char *));
    for (char *t = s, *end; t; t = end) {
        end = strchr(t, sep);
        if (end)
            *end++ = '\0';
        if (command_pattern_valid(t, false, why, sizeof(why)))
            out[k++] = strdup(t);
    }
    if (k == 0) {
        free(out);
        return NULL;
    }
    return out;
}

static enum command_action decide(const struct command_rule *r, size_t n, bool certain, const char *prog,
                                  const char *args, const char *target)
{
    struct command_facts f = {certain, prog, args, target, NULL};
    int which;
    enum command_action a = command_policy_decide(r, n, &f, &which);

    FUZZ_ASSERT(which >= -1 && which < (int)n);
    FUZZ_ASSERT(which >= 0 ? r[which].action == (int)a : a == CMD_APPROVE);
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct command_rule *rules = calloc(MAX_RULES, sizeof(*rules));
    char *text, *lines[3 + MAX_RULES] = {0}, why[160];
    size_t nl = 0, n = 0;
    int strictest = CMD_APPROVE;
    unsigned flags;

    if (size < 1 || !rules) {
        free(rules);
        return 0;
    }
    flags = data[0];
    text = strndup((const char *)data + 1, size - 1);
    for (char *t = text, *end; t && nl < 3 + MAX_RULES; t = end) {
        end = strchr(t, '\n');
        if (end)
            *end++ = '\0';
        lines[nl++] = t;
    }
    for (size_t i = 3; i < nl; i++) {
        char *f[3] = {lines[i] + (lines[i][0] ? 1 : 0), NULL, NULL};
        struct command_rule *r = &rules[n];
        if (!lines[i][0])
            continue;
        for (int k = 1; k < 3; k++) {
            f[k] = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
            if (f[k])
                *f[k]++ = '\0';
        }
        r->action = (unsigned char)lines[i][0] % 3;
        r->commands = split(f[0], ',');
        /* A command pattern must also name a program after its last '/'. */
        for (size_t c = 0; r->commands && r->commands[c]; c++)
            if (!command_pattern_valid(r->commands[c], true, why, sizeof(why)))
                r->commands[c][0] = '*', r->commands[c][1] = '\0';
        if (!r->commands)
            continue;
        r->args = f[1] && *f[1] && command_pattern_valid(f[1], false, why, sizeof(why)) ? strdup(f[1]) : NULL;
        r->targets = f[2] && *f[2] ? split(f[2], ',') : NULL;
        if (r->action > strictest)
            strictest = r->action;
        n++;
    }
    {
        const char *prog = nl > 0 ? lines[0] : "", *args = nl > 1 ? lines[1] : "", *target = nl > 2 ? lines[2] : "";
        enum command_action known = decide(rules, n, true, prog, (flags & 1) ? NULL : args, (flags & 2) ? NULL : target);
        enum command_action unknown = decide(rules, n, false, NULL, NULL, NULL);

        FUZZ_ASSERT((int)unknown == strictest);
        FUZZ_ASSERT(known <= unknown);
        FUZZ_ASSERT(decide(rules, n, true, prog, NULL, target) >= decide(rules, n, true, prog, args, target));
        FUZZ_ASSERT(decide(rules, n, true, prog, args, NULL) >= decide(rules, n, true, prog, args, target));
    }
    command_rules_free(rules, n < MAX_RULES ? MAX_RULES : n);
    free(text);
    return 0;
}
