/* Runs policy, then subject mapping, then reuse, then the approval itself; logs reuse. */
#include "gate.h"
#include "two_person.h"
#include "limits_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* The request limits from the config, in milliseconds; NULL when they are all off. */
static const struct limits_conf *limits_of(const struct config *cfg, struct limits_conf *lc)
{
    *lc = (struct limits_conf){cfg->max_requests, (long long)cfg->request_window * 1000, cfg->max_denials,
                               (long long)cfg->lockout_time * 1000};
    return cfg->max_requests > 0 || cfg->max_denials > 0 ? lc : NULL;
}

/* Reserve a request under the limits; when refused, tell the user why and until when. */
static result limits_reserve(const struct config *cfg, const struct limits_conf *lc, const struct limits_store *ls,
                             const struct approval_user *u, const struct approval_ui *ui,
                             const struct approval_env *env, double now, struct limits_ticket *t,
                             struct approval_report *rep)
{
    struct limits_block blk;
    char why[256], safe_user[128], safe_source[128], msg[400];
    result r = limits_begin(ls, lc, u->user, u->rhost, now, (double)cfg->max_wait + cfg->request_timeout + 5, t,
                            &blk, why, sizeof(why));

    if (r == RES_OK) {
        log_msg(env->log, LOG_DEBUG, "%s", why);
        return r;
    }
    if (r != RES_LOCKED_OUT && r != RES_RATE_LIMITED && r != RES_PENDING_EXISTS) {
        /* Unsafe or tampered counters, or no descriptors for them: fail closed, and say
         * what to do about a refused file. */
        if (r == RES_CONFIG && strstr(why, "(refused)"))
            snprintf(rep->reason, sizeof(rep->reason),
                     "%.200s; root can remove it: pam_ciba-check --clear-lockout USER (or --clear-source)", why);
        else
            snprintf(rep->reason, sizeof(rep->reason), "%.250s", why);
        return r;
    }
    log_escape(u->user, safe_user, sizeof(safe_user));
    log_escape(t->source, safe_source, sizeof(safe_source));
    limits_block_message(&blk, safe_user, safe_source, now, (long long)time(NULL), msg, sizeof(msg));
    snprintf(rep->reason, sizeof(rep->reason), "%.300s", msg + strlen("pam_ciba: "));
    /* sshd (OpenSSH before 10.3) drops a message that comes without a prompt when the
     * login then fails: there, as for the binding message, it goes into a prompt. */
    if (ui && ui->prompt_enter && approval_uses_prompt(cfg->prompt, u->service, u->tty)) {
        char prompt[sizeof(msg) + 16];
        snprintf(prompt, sizeof(prompt), "%s Press Enter:", msg);
        ui->prompt_enter(ui->ctx, prompt);
    } else if (ui && ui->info) {
        ui->info(ui->ctx, msg);
    }
    return r;
}

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
    struct limits_store lstore = {cfg->reuse_dir, g->trusted_uid};
    struct limits_conf lconf;
    const struct limits_conf *lc = limits_of(cfg, &lconf);
    struct limits_ticket ticket = {0};
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
    /* Only logins that would send a request reach the limits: a reused approval sends none. */
    if (lc) {
        r = limits_reserve(cfg, lc, &lstore, u, ui, env, now(), &ticket, rep);
        if (r != RES_OK) {
            free(tmpl);
            return r;
        }
    }
    {
        struct breakglass_env bg = {g->trusted_uid, NULL, NULL, NULL};
        r = breakglass_login(cfg, &mapped, ui, env, g->breakglass ? g->breakglass : &bg, rep);
    }
    if (ticket.active) {
        result lr = limits_end(&lstore, lc, &ticket, limits_end_of(r, rep->request_sent), now(), why, sizeof(why));
        log_msg(env->log, lr == RES_OK ? LOG_DEBUG : LOG_WARNING, "%s", why);
        /* Counters that cannot be kept fail the login, as at the start. */
        if (lr != RES_OK && r == RES_OK) {
            snprintf(rep->reason, sizeof(rep->reason), "%s", why);
            r = lr;
        }
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
