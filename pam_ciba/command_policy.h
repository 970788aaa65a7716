/* sudo command rules (command_rules): which action a command needs, without PAM. */
#ifndef PAM_CIBA_COMMAND_POLICY_H
#define PAM_CIBA_COMMAND_POLICY_H
#include <stdbool.h>
#include <stddef.h>

/* Ordered from lax to strict: when several rules match, the strictest wins. */
enum command_action { CMD_APPROVE = 0, CMD_NEVER_REUSE = 1, CMD_TWO_PERSON = 2 };

#define COMMAND_PATTERN_MAX 256
#define COMMAND_RULES_MAX 256

struct command_rule {
    char **commands; /* NULL-terminated glob patterns for the program (base names compared) */
    char *args;      /* glob for the arguments joined by single spaces; NULL = any */
    char **targets;  /* NULL-terminated globs for the target user; NULL = any */
    int action;      /* enum command_action */
    int line;        /* where the rule is in the config file, for the log */
};

/* What one sudo invocation will do, from command.h's command_info. */
struct command_facts {
    bool certain;        /* false: not known for sure; every rule then counts as matching */
    const char *program; /* the program, or a mode label: shell, login-shell, sudoedit, list, validate */
    const char *args;    /* the words after it joined by single spaces; NULL = not known */
    const char *target;  /* target user name; NULL = not known (matches every target pattern) */
    /* Optional: whether the user named by a target pattern is the same account as target
     * (same uid under another name). NULL: names only. */
    bool (*same_user)(const char *pattern, const char *target);
};

/* The strictest action of all rules that match (CMD_APPROVE when none does); *which = the
 * index of the first rule with that action, or -1. A fact that is not known matches any
 * pattern for it, so an unknown command gets the strictest action any rule names. */
enum command_action command_policy_decide(const struct command_rule *rules, size_t n,
                                          const struct command_facts *f, int *which);

/* Whether a pattern is acceptable in a rule: 1..COMMAND_PATTERN_MAX printable bytes (for
 * a command pattern, a non-empty base name after the last '/'). */
bool command_pattern_valid(const char *pattern, bool is_command, char *why, size_t whylen);

/* "approve", "never_reuse", "two_person"; -1 for anything else. */
int command_action_parse(const char *name);
const char *command_action_name(enum command_action a);

void command_rules_free(struct command_rule *rules, size_t n);

#endif
