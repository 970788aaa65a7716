/* Matches the command sudo will run against command_rules; the strictest match wins. */
#include "command_policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {"approve", "never_reuse", "two_person"};

int command_action_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, action_names[i]) == 0)
            return i;
    return -1;
}

const char *command_action_name(enum command_action a)
{
    return a >= CMD_APPROVE && a <= CMD_TWO_PERSON ? action_names[a] : "?";
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool command_pattern_valid(const char *pattern, bool is_command, char *why, size_t whylen)
{
    size_t n = pattern ? strlen(pattern) : 0;

    if (n == 0 || n > COMMAND_PATTERN_MAX) {
        snprintf(why, whylen, "a pattern must hold 1 to %d bytes", COMMAND_PATTERN_MAX);
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)pattern; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen, "a pattern must not hold control characters");
            return false;
        }
    }
    if (is_command && !*base_name(pattern)) {
        snprintf(why, whylen, "\"%.64s\" names no program after its last '/'", pattern);
        return false;
    }
    return true;
}

/* Base names only: sudo looks a bare name up in its secure_path, which the module cannot
 * see, and "/usr/bin/apt" and "/bin/apt" are the same program on a merged /usr. Matching
 * more than the directory would is safe: a rule can only make an approval stricter. */
static bool program_matches(char *const *patterns, const char *program)
{
    for (size_t i = 0; patterns && patterns[i]; i++)
        if (fnmatch(base_name(patterns[i]), base_name(program), 0) == 0)
            return true;
    return false;
}

static bool target_matches(char *const *patterns, const struct command_facts *f)
{
    if (!patterns || !f->target)
        return true;
    for (size_t i = 0; patterns[i]; i++) {
        if (fnmatch(patterns[i], f->target, 0) == 0)
            return true;
        if (f->same_user && f->same_user(patterns[i], f->target))
            return true;
    }
    return false;
}

static bool rule_matches(const struct command_rule *r, const struct command_facts *f)
{
    if (!f->certain)
        return true;
    if (!f->program || !program_matches(r->commands, f->program))
        return false;
    if (r->args && f->args && fnmatch(r->args, f->args, 0) != 0)
        return false;
    return target_matches(r->targets, f);
}

enum command_action command_policy_decide(const struct command_rule *rules, size_t n,
                                          const struct command_facts *f, int *which)
{
    enum command_action best = CMD_APPROVE;

    *which = -1;
    for (size_t i = 0; i < n; i++) {
        if (!rule_matches(&rules[i], f))
            continue;
        if (*which < 0 || rules[i].action > (int)best) {
            best = (enum command_action)rules[i].action;
            *which = (int)i;
        }
    }
    return best;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

void command_rules_free(struct command_rule *rules, size_t n)
{
    for (size_t i = 0; rules && i < n; i++) {
        free_list(rules[i].commands);
        free_list(rules[i].targets);
        free(rules[i].args);
    }
    free(rules);
}
