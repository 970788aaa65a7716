/* The break-glass prompt around an approval: before it ("always") or after an outage ("unreachable"). */
#include "breakglass_login.h"
#include "logger.h"
#include "wipe.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PROMPT_ALWAYS "Break-glass code (or press Enter to approve on your phone): "
#define PROMPT_UNREACHABLE "The approval service cannot be reached. Break-glass code (or Enter to give up): "
/* Longest answer looked at: a code with separators fits many times over. */
#define ANSWER_MAX 64

static long long wall_now(void)
{
    return (long long)time(NULL);
}

/* Ask for a code. RES_OK with *code set (non-empty); RES_IGNORE: no code (Enter, or no one
 * to ask); RES_CONV: the conversation failed. */
static result ask(const struct approval_ui *ui, const char *prompt, char **code)
{
    int st;

    *code = NULL;
    if (!ui || !ui->prompt_secret)
        return RES_IGNORE;
    st = ui->prompt_secret(ui->ctx, prompt, code);
    if (st == UI_NONE)
        return RES_IGNORE;
    if (st != UI_OK || !*code) {
        wipe_free_str(*code);
        *code = NULL;
        return RES_CONV;
    }
    if (!**code) {
        wipe_free_str(*code);
        *code = NULL;
        return RES_IGNORE;
    }
    return RES_OK;
}

static result check_code(const struct config *cfg, const struct approval_user *u, const struct approval_env *env,
                         const struct breakglass_env *bg, char *code, struct approval_report *rep)
{
    struct bg_store store = {cfg->breakglass_dir, bg->owner};
    struct bg_use use;
    char why[256], safe_user[128], safe_service[64], safe_rhost[128], safe_tty[96];
    result r;

    if (strlen(code) > ANSWER_MAX)
        code[ANSWER_MAX] = '\0'; /* then not a code: refused as one */
    r = bg_store_use(&store, u->user, code, bg->now ? bg->now() : wall_now(), &use, why, sizeof(why));
    wipe_free_str(code);
    log_escape(u->user ? u->user : "?", safe_user, sizeof(safe_user));
    log_escape(u->service ? u->service : "?", safe_service, sizeof(safe_service));
    log_escape(u->rhost ? u->rhost : "", safe_rhost, sizeof(safe_rhost));
    log_escape(u->tty ? u->tty : "", safe_tty, sizeof(safe_tty));
    rep->unreachable = false; /* a code was tried: failmode no longer decides */
    if (r == RES_OK) {
        log_msg(env->log, LOG_ALERT,
                "break-glass code used: user=%s service=%s rhost=%s tty=%s slot=%d remaining=%d", safe_user,
                safe_service, safe_rhost, safe_tty, use.slot, use.remaining);
        snprintf(rep->reason, sizeof(rep->reason), "%s", why);
        return RES_BREAKGLASS;
    }
    if (r == RES_DENIED) {
        /* A replayed code was once valid: it leaked, worth an alert of its own. */
        log_msg(env->log, use.slot ? LOG_ALERT : LOG_WARNING,
                "break-glass code refused: user=%s service=%s rhost=%s tty=%s reason=\"%s\" remaining=%d", safe_user,
                safe_service, safe_rhost, safe_tty, why, use.remaining);
        snprintf(rep->reason, sizeof(rep->reason), "%s", why);
        if (bg->on_wrong)
            bg->on_wrong(bg->hook_ctx, u->user, u->service, u->rhost);
        return RES_BREAKGLASS_WRONG;
    }
    log_msg(env->log, LOG_ERR, "break-glass codes refused for user=%s: %s", safe_user, why);
    snprintf(rep->reason, sizeof(rep->reason), "break-glass: %s", why);
    return r == RES_INTERNAL || r == RES_USER_UNKNOWN ? RES_INTERNAL : RES_CONFIG;
}

result breakglass_login(const struct config *cfg, const struct approval_user *u, const struct approval_ui *ui,
                        const struct approval_env *env, const struct breakglass_env *bg,
                        struct approval_report *rep)
{
    char *code = NULL;
    result r;

    if (cfg->breakglass == BREAKGLASS_ALWAYS) {
        r = ask(ui, PROMPT_ALWAYS, &code);
        if (r == RES_OK) {
            memset(rep, 0, sizeof(*rep));
            return check_code(cfg, u, env, bg, code, rep);
        }
        if (r == RES_CONV) {
            memset(rep, 0, sizeof(*rep));
            snprintf(rep->reason, sizeof(rep->reason), "conversation failed at the break-glass prompt");
            return r;
        }
    }
    r = approval_run(cfg, u, ui, env, rep);
    if (cfg->breakglass == BREAKGLASS_OFF || r != RES_UNAVAILABLE || !rep->unreachable)
        return r;
    log_msg(env->log, LOG_NOTICE, "provider unreachable: offering the break-glass prompt");
    if (ask(ui, PROMPT_UNREACHABLE, &code) != RES_OK)
        return r; /* Enter, or no conversation: the outage result, for failmode to judge */
    return check_code(cfg, u, env, bg, code, rep);
}
