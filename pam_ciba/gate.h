/* Around one approval: the policy, the subject mapping and approval reuse, without PAM. */
#ifndef PAM_CIBA_GATE_H
#define PAM_CIBA_GATE_H
#include "approval.h"
#include "breakglass_login.h"
#include "caller.h"
#include "command_policy.h"
#include "policy.h"
#include "reuse.h"
#include "subject_map.h"

struct gate_env {
    struct subject_map_cache *maps; /* the caller's (process-wide) map cache */
    uid_t trusted_uid;              /* owner of the map file and the reuse records */
    const char *session;            /* reuse_session_id(), or NULL: no reuse */
    const struct caller *caller;    /* who asks, or NULL (unknown): no reuse */
    const char *command;            /* the exact command, for reuse_scope "command"; NULL or
                                     * "": not known for sure, so no reuse in that scope */
    double (*now)(void);            /* reuse clock; NULL: reuse_now */
    /* Break-glass codes (issue 14 item 1): owner and the lockout hook; NULL: owner
     * trusted_uid, no hook. */
    const struct breakglass_env *breakglass;
    /* sudo command policy and two-person approval (issue 13). */
    const struct command_facts *cmd; /* the sudo command for command_rules; NULL: not sudo */
    bool no_command;                 /* sudo -v, or sudo -l without a command: never ask */
};

/* Decide whether the login needs an approval (RES_IGNORE if not; RES_NO_COMMAND for sudo
 * -v or -l without a command, which never sends a request), pick the command rule's
 * action (never_reuse and two_person skip reuse; two_person, two_person_groups and
 * two_person_services add the approvers), map the user to a
 * subject (unmapped: RES_USER_UNKNOWN or RES_IGNORE), reuse a recent approval of the same
 * caller for the same user, service, tty and session (and command, with reuse_scope
 * "command") when reuse_window allows, else run approval_run (through breakglass_login:
 * a break-glass code may stand in for it) and record a verified approval, never a
 * break-glass login, for later reuse. rep->reason says what decided. */
result gate_run(const struct config *cfg, const struct policy_facts *facts, const struct approval_user *u,
                const struct approval_ui *ui, const struct approval_env *env, const struct gate_env *g,
                struct approval_report *rep);

#endif
