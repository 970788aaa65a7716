/* Runs policy, then subject mapping, then reuse, then the approval itself; logs reuse. */
#include "gate.h"
#include "two_person.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* The configured approvers, each with a subject template (or a literal "sub:" subject).
 * An approver the subject map does not know is left out (logged). */
static result approvers_resolve(const struct config *cfg, const struct gate_env *g, const struct logger *log,
                                struct approver *out, char **owned, size_t *n)
{
    char why[256], safe[128];

    *n = 0;
    for (size_t i = 0; cfg->approvers && cfg->approvers[i] && *n < APPROVERS_MAX; i++) {
        const char *a = cfg->approvers[i];
        char *tmpl = NULL;
        result r;

        if (strncmp(a, APPROVER_SUBJECT_PREFIX, strlen(APPROVER_SUBJECT_PREFIX)) == 0) {
            out[(*n)++] = (struct approver){a, NULL, a + strlen(APPROVER_SUBJECT_PREFIX)};
            continue;
        }
        if (!cfg->subject_map_file) {
            out[(*n)++] = (struct approver){a, a, cfg->subject};
            continue;
        }
        r = subject_map_lookup(g->maps, cfg->subject_map_file, g->trusted_uid, a, &tmpl, why, sizeof(why));
        if (r == RES_USER_UNKNOWN) {
            log_escape(a, safe, sizeof(safe));
            log_msg(log, LOG_WARNING, "two-person: approver %s has no subject in subject_map_file: not asked", safe);
            continue;
        }
        if (r != RES_OK)
            return r;
        owned[*n] = tmpl;
        out[(*n)++] = (struct approver){a, a, tmpl};
    }
    return RES_OK;
}

result gate_run(const struct config *cfg, const struct policy_facts *facts, const struct approval_user *u,
                const struct approval_ui *ui, const struct approval_env *env, const struct gate_env *g,
                struct approval_report *rep)
{
    struct approval_user mapped = *u;
    char *tmpl = NULL, why[256], safe_tty[96], fields[96];
    double (*now)(void) = g->now ? g->now : reuse_now;
    struct reuse_store store = {cfg->reuse_dir, g->trusted_uid};
    struct reuse_identity id;
    double age = 0;
    unsigned differs = 0;
    enum command_action action = CMD_APPROVE;
    struct approver approvers[APPROVERS_MAX];
    char *owned[APPROVERS_MAX] = {0}, tp_why[128];
    size_t n_approvers = 0;
    int rule = -1;
    result r;

    memset(rep, 0, sizeof(*rep));
    r = policy_decide(cfg, facts, rep->reason, sizeof(rep->reason));
    if (r != RES_OK)
        return r;
    /* sudo -v and sudo -l validate or list: nothing to approve, so no phone is bothered. */
    if (g->no_command) {
        snprintf(rep->reason, sizeof(rep->reason), "sudo -v or sudo -l without a command: no approval is requested");
        return RES_NO_COMMAND;
    }
    if (g->cmd && cfg->n_command_rules > 0) {
        action = command_policy_decide(cfg->command_rules, cfg->n_command_rules, g->cmd, &rule);
        if (rule >= 0)
            log_msg(env->log, LOG_INFO, "command rule at line %d: %s%s", cfg->command_rules[rule].line,
                    command_action_name(action), g->cmd->certain ? "" : " (command not known for sure: strictest rule)");
    }
    if (two_person_needed(cfg, action, u->service, facts->groups, facts->n_groups, tp_why, sizeof(tp_why))) {
        log_msg(env->log, LOG_INFO, "two-person approval: %s", tp_why);
        r = approvers_resolve(cfg, g, env->log, approvers, owned, &n_approvers);
        if (r == RES_OK && n_approvers == 0) {
            snprintf(rep->reason, sizeof(rep->reason), "two-person approval (%s): no approver has a subject", tp_why);
            r = RES_NO_APPROVER;
        }
        if (r != RES_OK)
            goto out;
        mapped.approvers = approvers;
        mapped.n_approvers = n_approvers;
        action = CMD_TWO_PERSON;
    }
    if (cfg->subject_map_file) {
        r = subject_map_lookup(g->maps, cfg->subject_map_file, g->trusted_uid, u->user, &tmpl, rep->reason,
                               sizeof(rep->reason));
        if (r == RES_USER_UNKNOWN) {
            snprintf(rep->reason, sizeof(rep->reason), "no subject for the user in subject_map_file (unmapped = %s)",
                     cfg->unmapped == UNMAPPED_IGNORE ? "ignore" : "deny");
            r = cfg->unmapped == UNMAPPED_IGNORE ? RES_IGNORE : RES_USER_UNKNOWN;
            goto out;
        }
        if (r != RES_OK)
            goto out;
        mapped.subject = tmpl;
    }
    /* An unknown caller, or an unknown command in scope "command", leaves a field empty:
     * reuse_check and reuse_record then refuse, so nothing is reused or recorded. */
    id = (struct reuse_identity){u->user, u->service, u->tty, g->session,
                                 mapped.subject ? mapped.subject : cfg->subject,
                                 g->caller ? g->caller->ruid : (uid_t)-1, g->caller ? g->caller->ruser : NULL,
                                 g->caller ? g->caller->loginuid : REUSE_LOGINUID_UNSET, NULL};
    if (!g->caller)
        id.session = NULL;
    if (cfg->reuse_scope == REUSE_SCOPE_COMMAND)
        id.command = g->command ? g->command : "";
    log_escape(u->tty ? u->tty : "", safe_tty, sizeof(safe_tty));
    /* never_reuse and two_person: a fresh approval every time, even inside reuse_window. */
    if (cfg->reuse_window > 0 && action != CMD_APPROVE)
        log_msg(env->log, LOG_INFO, "no approval reuse: %s", action == CMD_TWO_PERSON ? "two-person approval" : "never_reuse command rule");
    else if (cfg->reuse_window > 0) {
        log_msg(env->log, LOG_DEBUG, "reuse: login session %s", g->session ? g->session : "unknown");
        r = reuse_check(&store, &id, cfg->reuse_window, now(), &age, &differs, why, sizeof(why));
        if (r == RES_OK) {
            log_msg(env->log, LOG_NOTICE, "approval reused: tty=%s %s", safe_tty, why);
            snprintf(rep->reason, sizeof(rep->reason), "approval reused (%s)", why);
            goto out;
        }
        /* A rejected record or an unsafe directory is worth a warning; no record is normal. */
        log_msg(env->log, r == RES_INVALID_TOKEN || r == RES_CONFIG ? LOG_WARNING : LOG_DEBUG,
                "no approval reuse: %s", why);
        /* Field names only: values (a command line, the session) stay out of the log. */
        if (differs)
            log_msg(env->log, LOG_DEBUG, "no approval reuse: differs in %s",
                    reuse_field_names(differs, fields, sizeof(fields)));
    }
    {
        struct breakglass_env bg = {g->trusted_uid, NULL, NULL, NULL};
        r = breakglass_login(cfg, &mapped, ui, env, g->breakglass ? g->breakglass : &bg, rep);
    }
    if (r == RES_OK && cfg->reuse_window > 0) {
        result rr = reuse_record(&store, &id, cfg->reuse_window, now(), why, sizeof(why));
        log_msg(env->log, rr == RES_OK || rr == RES_DENIED ? LOG_DEBUG : LOG_WARNING, "reuse: %s", why);
    }
out:
    for (size_t i = 0; i < n_approvers; i++)
        free(owned[i]);
    free(tmpl);
    return r;
}
