/* Around one approval: when and how a break-glass code is asked for and checked (no PAM). */
#ifndef PAM_CIBA_BREAKGLASS_LOGIN_H
#define PAM_CIBA_BREAKGLASS_LOGIN_H
#include "approval.h"
#include "breakglass.h"

/* LOCKOUT HOOK (issue 14 item 1 / push-fatigue lockout): called once for every wrong,
 * replayed or revoked break-glass code typed at the prompt, after it was logged. The
 * lockout (pam_ciba/limits*.c) wires its failure counter here; NULL: nothing counts. */
typedef void (*breakglass_wrong_fn)(void *ctx, const char *user, const char *service, const char *rhost);

struct breakglass_env {
    uid_t owner;                  /* owner of breakglass_dir and its files: root in the module */
    breakglass_wrong_fn on_wrong; /* see above; may be NULL */
    void *hook_ctx;
    long long (*now)(void);       /* Unix seconds for "used at"; NULL: time() */
};

/* approval_run, with break-glass codes as cfg->breakglass says:
 *  "off": approval_run alone.
 *  "unreachable": when approval_run ends RES_UNAVAILABLE with rep->unreachable (the
 *    failmode = "safe" case), ask for a code; an empty answer keeps the outage result.
 *  "always": ask first ("code, or Enter to approve on the phone"): a code is checked and
 *    no request is sent; Enter runs the approval, and an unreachable provider asks again.
 * A good code: RES_BREAKGLASS, logged at LOG_ALERT with the codes left. A wrong one:
 * RES_BREAKGLASS_WRONG, logged, and on_wrong called. An unsafe or malformed code file:
 * RES_CONFIG (refused). No conversation (ui without prompt_secret, or UI_NONE): no code. */
result breakglass_login(const struct config *cfg, const struct approval_user *u, const struct approval_ui *ui,
                        const struct approval_env *env, const struct breakglass_env *bg,
                        struct approval_report *rep);

#endif
