/* PAM entry points: read arguments, gather PAM items, run one approval, log and map the result. */
#include "approval.h"
#include "caller.h"
#include "command.h"
#include "command_policy.h"
#include "sudo_args.h"
#include "config.h"
#include "decision_log.h"
#include "gate.h"
#include "host_env.h"
#include "http.h"
#include "logger.h"
#include "metrics_file.h"
#include "result.h"
#include "ssh_auth_info.h"
#include "text.h"

#include <errno.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <time.h>

#define PUBLIC __attribute__((visibility("default")))
#define MAX_USER_LEN 256

/* The parsed subject_map_file for as long as this module stays loaded in the process:
 * a long-lived application then parses the map only when the file changes. A process
 * that loads the module for one login (sshd's per-connection child, sudo) parses once. */
static struct subject_map_cache map_cache = SUBJECT_MAP_CACHE_INIT;

__attribute__((destructor)) static void free_map_cache(void)
{
    subject_map_cache_clear(&map_cache);
}

struct args {
    const char *conf;
    bool debug;
};

static void pam_log_write(void *ctx, int prio, const char *msg)
{
    pam_syslog((pam_handle_t *)ctx, prio, "%s", msg);
}

/* failmode = "safe" softens only an unreachable provider before any request was
 * accepted; a config error, denial, expiry or bad token is never softened. */
static bool soften(result r, int failmode, const struct approval_report *rep)
{
    return r == RES_UNAVAILABLE && failmode == FAILMODE_SAFE && rep->unreachable;
}

/* The single place where a result becomes a PAM return code. */
static int to_pam(result r, int failmode, const struct approval_report *rep)
{
    switch (r) {
    case RES_OK: return PAM_SUCCESS;
    case RES_USER_UNKNOWN: return PAM_USER_UNKNOWN;
    case RES_UNAVAILABLE: return soften(r, failmode, rep) ? PAM_IGNORE : PAM_AUTHINFO_UNAVAIL;
    case RES_CONFIG: return PAM_SERVICE_ERR;
    case RES_CONV: return PAM_CONV_ERR;
    case RES_INTERNAL: return PAM_SYSTEM_ERR;
    /* The user pressed Ctrl-C: PAM_ABORT makes sudo stop at once instead of starting
     * another approval as its next "password attempt". */
    case RES_INTERRUPTED: return PAM_ABORT;
    case RES_IGNORE: return PAM_IGNORE;
    /* sudo -v / sudo -l without a command: fail closed without bothering any phone.
     * PAM_ABORT makes sudo stop at once; PAM_AUTH_ERR would make it "try again" up to
     * passwd_tries times and count wrong password attempts. */
    case RES_NO_COMMAND: return PAM_ABORT;
    case RES_NO_APPROVER: return PAM_AUTH_ERR;
    /* "Do not try again" (Linux-PAM): sshd ends the connection's attempts on it. */
    case RES_PROVIDER_LIMIT: return PAM_MAXTRIES;
    case RES_AUTH_STRENGTH: return PAM_AUTH_ERR;
    case RES_BREAKGLASS: return PAM_SUCCESS;
    case RES_BREAKGLASS_WRONG:
    case RES_DENIED:
    case RES_EXPIRED:
    case RES_TIMEOUT:
    case RES_INVALID_TOKEN:
    case RES_PROTOCOL:
    case RES_REJECTED:
    /* Request limits: like pam_faillock, an authentication failure. */
    case RES_LOCKED_OUT:
    case RES_RATE_LIMITED:
    case RES_PENDING_EXISTS:
    case RES_WRONG_CODE:
        return PAM_AUTH_ERR;
    }
    return PAM_AUTH_ERR;
}

static result parse_args(int argc, const char **argv, struct args *a, char *err, size_t errlen)
{
    a->conf = CONFIG_DEFAULT_PATH;
    a->debug = false;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "conf=", 5) == 0 && argv[i][5] == '/') {
            a->conf = argv[i] + 5;
        } else if (strcmp(argv[i], "debug") == 0) {
            a->debug = true;
        } else {
            char safe[128];
            log_escape(argv[i], safe, sizeof(safe));
            snprintf(err, errlen, "unknown or invalid module argument \"%s\" (conf= needs an absolute path)", safe);
            return RES_CONFIG;
        }
    }
    return RES_OK;
}

/* One message through the application's conversation. With answer set, the reply is
 * handed back (malloc'd); otherwise it is wiped and dropped. */
static int conv_one(pam_handle_t *pamh, int style, const char *text, char **answer)
{
    const struct pam_conv *conv = NULL;
    struct pam_message m = {style, text};
    const struct pam_message *mp = &m;
    struct pam_response *resp = NULL;
    int rc;

    if (pam_get_item(pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS || !conv || !conv->conv)
        return UI_NONE;
    rc = conv->conv(1, &mp, &resp, conv->appdata_ptr);
    if (resp && answer && rc == PAM_SUCCESS) {
        *answer = resp->resp;
        free(resp);
        return *answer ? UI_OK : UI_FAILED;
    }
    if (resp) {
        if (resp->resp) {
            explicit_bzero(resp->resp, strlen(resp->resp));
            free(resp->resp);
        }
        free(resp);
    } else if (rc == PAM_SUCCESS && (style == PAM_PROMPT_ECHO_ON || style == PAM_PROMPT_ECHO_OFF)) {
        return UI_FAILED; /* a prompt with no answer is a broken conversation */
    }
    return rc == PAM_SUCCESS ? UI_OK : UI_FAILED;
}

struct ui_ctx {
    pam_handle_t *pamh;
};

/* The binding message is what the user must act on, not chatter: it is shown even under
 * PAM_SILENT, which sudo sets on every pam_authenticate call. */
static int ui_info(void *ctx, const char *msg)
{
    return conv_one(((struct ui_ctx *)ctx)->pamh, PAM_TEXT_INFO, msg, NULL);
}

static int ui_prompt_enter(void *ctx, const char *msg)
{
    return conv_one(((struct ui_ctx *)ctx)->pamh, PAM_PROMPT_ECHO_ON, msg, NULL);
}

static int ui_prompt_secret(void *ctx, const char *msg, char **answer)
{
    *answer = NULL;
    return conv_one(((struct ui_ctx *)ctx)->pamh, PAM_PROMPT_ECHO_OFF, msg, answer);
}

/* confirm = "type": the code is shown on the phone and typed visibly, like a one-time code. */
static int ui_prompt_answer(void *ctx, const char *msg, char **answer)
{
    *answer = NULL;
    return conv_one(((struct ui_ctx *)ctx)->pamh, PAM_PROMPT_ECHO_ON, msg, answer);
}

static bool have_conv(pam_handle_t *pamh)
{
    const struct pam_conv *conv = NULL;
    return pam_get_item(pamh, PAM_CONV, (const void **)&conv) == PAM_SUCCESS && conv && conv->conv;
}

static const char *item_str(pam_handle_t *pamh, int item)
{
    const void *v = NULL;
    if (pam_get_item(pamh, item, &v) != PAM_SUCCESS)
        return NULL;
    return v;
}

/* The user name must be sane before it reaches NSS, logs or templates. */
static result check_user(const char *user, char *reason, size_t len)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    size_t n;

    if (!user || (n = strlen(user)) == 0 || n > MAX_USER_LEN) {
        snprintf(reason, len, "missing or overlong user name");
        return RES_USER_UNKNOWN;
    }
    /* C0, DEL, C1 (raw or encoded) or malformed UTF-8: a terminal escape, or a name
     * that would read differently on the phone than in the passwd file. */
    if (!text_is_clean(user)) {
        snprintf(reason, len, "user name holds a control character or is not valid UTF-8");
        return RES_USER_UNKNOWN;
    }
    if (getpwnam_r(user, &pw, buf, sizeof(buf), &found) != 0 || !found) {
        snprintf(reason, len, "no such user");
        return RES_USER_UNKNOWN;
    }
    return RES_OK;
}

/* The key sshd accepted before this module, for %k %K %T. SSH_AUTH_INFO_0 is read from
 * the PAM environment (never the process's), and only under sshd: PAM starts with an
 * empty environment that only the application and the modules fill, and under su or
 * sudo nothing a caller controls should reach the phone as a key that was "used". */
static void ssh_key_of_login(pam_handle_t *pamh, const char *service, const char *tty, struct ssh_key_info *key,
                             const struct logger *log)
{
    enum ssh_auth_info_status st;

    memset(key, 0, sizeof(*key));
    if (!ssh_login_is_sshd(service, tty))
        return;
    st = ssh_auth_info_parse(pam_getenv(pamh, "SSH_AUTH_INFO_0"), key);
    if (st == SSH_AUTH_INFO_KEY)
        log_msg(log, LOG_DEBUG, "ssh key from SSH_AUTH_INFO_0: %s %s (%u publickey line%s)", key->type,
                key->fingerprint, key->keys, key->keys == 1 ? "" : "s");
    else if (st == SSH_AUTH_INFO_MALFORMED)
        log_msg(log, LOG_DEBUG, "SSH_AUTH_INFO_0 not understood: no key is shown");
}

static void count_error(void *ctx, const char *msg)
{
    (void)msg;
    ++*(int *)ctx;
}

/* The first config error, and how many more pam_ciba-check would list: one log line still. */
static result load_config(const char *path, struct config *cfg, char *reason, size_t len)
{
    int n = 0;
    result r = config_load_all(path, 0, cfg, count_error, &n, reason, len);
    size_t used = strlen(reason);
    if (r == RES_CONFIG && n > 1 && used < len)
        snprintf(reason + used, len - used, " (+%d more: pam_ciba-check lists them)", n - 1);
    return r;
}

/* command_rules: a target pattern that names the same account (uid) as the target. */
static bool same_account(const char *pattern, const char *target)
{
    struct passwd pw1, pw2, *a = NULL, *b = NULL;
    char buf1[1024], buf2[1024];

    if (strpbrk(pattern, "*?[") || getpwnam_r(pattern, &pw1, buf1, sizeof(buf1), &a) != 0 || !a ||
        getpwnam_r(target, &pw2, buf2, sizeof(buf2), &b) != 0 || !b)
        return false;
    return a->pw_uid == b->pw_uid;
}

/* The facts command_rules match on. The target user sudo names as "#uid" becomes the
 * account's name; one that does not resolve counts as not known (it matches every
 * target pattern). */
static void command_facts_of(const struct command_info *cmd, char *target, size_t len, struct command_facts *f)
{
    size_t n = strcspn(cmd->target, ":");

    *f = (struct command_facts){cmd->certain && cmd->program[0], cmd->program, cmd->args_known ? cmd->args : NULL,
                                NULL, same_account};
    snprintf(target, len, "%.*s", (int)n, cmd->target);
    if (target[0] == '#') {
        struct passwd pw, *res = NULL;
        char buf[1024], *end;
        unsigned long uid = strtoul(target + 1, &end, 10);
        if (*end || end == target + 1 || getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
            return;
        snprintf(target, len, "%s", res->pw_name);
    }
    f->target = target[0] ? target : NULL;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stable name for the PAM code (pam_strerror's text is translated and may change). */
static const char *pam_code_name(int pam, char *buf, size_t len)
{
    switch (pam) {
    case PAM_SUCCESS: return "PAM_SUCCESS";
    case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
    case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
    case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
    case PAM_IGNORE: return "PAM_IGNORE";
    case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
    case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
    case PAM_CONV_ERR: return "PAM_CONV_ERR";
    case PAM_ABORT: return "PAM_ABORT";
    case PAM_MAXTRIES: return "PAM_MAXTRIES";
    case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
    case PAM_CRED_INSUFFICIENT: return "PAM_CRED_INSUFFICIENT";
    }
    snprintf(buf, len, "PAM_CODE_%d", pam);
    return buf;
}

static void syslog_line(void *ctx, int prio, const char *line)
{
    pam_syslog((pam_handle_t *)ctx, prio, "%s", line);
}

/* The decision: one journal entry with fields, or the syslog line (decision_log.h says
 * which and why). */
static void log_decision(pam_handle_t *pamh, result r, int pam, const struct config *cfg, const char *user,
                         const char *service, const char *rhost, const char *tty,
                         const struct approval_report *rep, long duration_ms)
{
    char code[32];
    struct decision d = {
        .outcome = result_name(r),
        .pam_result = pam_code_name(pam, code, sizeof(code)),
        .pam_text = pam_strerror(pamh, pam),
        .user = user,
        .service = service,
        .rhost = rhost,
        .tty = tty,
        .subject = rep->subject,
        .provider = cfg->issuer,
        .reason = rep->reason,
        .request = rep->request,
        .approver = rep->approver,
        .ident = program_invocation_short_name,
        .note = r == RES_UNAVAILABLE && pam == PAM_IGNORE ? " (failmode=safe: left to the rest of the stack)" : "",
        .success = r == RES_OK || r == RES_BREAKGLASS,
        .alert = r == RES_BREAKGLASS,
        .duration_ms = duration_ms,
    };
    struct decision_sinks sinks = {decision_journal_send, NULL, syslog_line, pamh, NULL, decision_journal_up};

    decision_log(&d, &sinks);
}

/* metrics_file: count the decision (or leave it for the next update when the lock stays
 * busy); a failed write loses the count, never the login. */
static void count_decision(const struct config *cfg, result r, const char *service,
                           const struct approval_report *rep, long duration_ms, const struct logger *log)
{
    struct metrics_update u = {cfg->metrics_file, 0, result_name(r), service, r == RES_OK && rep->request[0],
                               duration_ms > 0 ? (uint64_t)duration_ms : 0, 0};
    struct metrics_stats st;
    char why[512];
    result mr = metrics_file_update(&u, &st, why, sizeof(why));

    if (mr == RES_OK && st.deferred)
        log_msg(log, LOG_DEBUG, "metrics: deferred after %.2f ms (lock: %.2f ms, %d tries; held %.2f ms): %s",
                st.total_ms, st.lock_wait_ms, st.lock_tries, st.hold_ms, why);
    else if (mr == RES_OK)
        log_msg(log, LOG_DEBUG, "metrics: updated in %.2f ms (lock: %.2f ms, %d tries; held %.2f ms; folded %d)%s%s",
                st.total_ms, st.lock_wait_ms, st.lock_tries, st.hold_ms, st.folded,
                st.started_over ? "; started over: " : "", st.started_over ? st.old_file : "");
    else
        log_msg(log, mr == RES_CONFIG ? LOG_WARNING : LOG_DEBUG,
                "metrics: not updated after %.2f ms (lock: %.2f ms, %d tries; held %.2f ms): %s", st.total_ms,
                st.lock_wait_ms, st.lock_tries, st.hold_ms, why);
}

PUBLIC int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)flags; /* PAM_SILENT does not hide the binding message: see ui_info */
    double started = mono_now();
    /* Decided once: in a multi-threaded host (a display manager, a daemon) the module
     * changes no process-wide state, neither the SIGINT disposition nor dumpable. */
    bool sole_thread = host_sole_thread();
    struct args args;
    struct config cfg;
    struct logger log = {pam_log_write, pamh, false};
    struct approval_report rep;
    const char *user = NULL, *service, *rhost, *tty;
    long duration_ms;
    int dumpable, pam;
    result r;

    memset(&rep, 0, sizeof(rep));
    /* Before anything touches OpenSSL (the config's keys, the random code): its first
     * use reads OPENSSL_CONF. A failure is reported by the login that needs libcurl. */
    (void)http_global_init();
    config_defaults(&cfg);
    r = parse_args(argc, argv, &args, rep.reason, sizeof(rep.reason));
    log.debug = r == RES_OK && args.debug;
    if (r == RES_OK)
        r = load_config(args.conf, &cfg, rep.reason, sizeof(rep.reason));
    if (r == RES_OK && pam_get_user(pamh, &user, NULL) != PAM_SUCCESS) {
        snprintf(rep.reason, sizeof(rep.reason), "pam_get_user failed");
        r = RES_USER_UNKNOWN;
    }
    if (r == RES_OK)
        r = check_user(user, rep.reason, sizeof(rep.reason));
    service = item_str(pamh, PAM_SERVICE);
    rhost = item_str(pamh, PAM_RHOST);
    tty = item_str(pamh, PAM_TTY);
    if (r == RES_OK) {
        struct command_info cmd;
        struct approval_user u = {.user = user, .service = service, .rhost = rhost, .tty = tty};
        struct caller who;
        char bound_command[sizeof(cmd.target) + COMMAND_FULL_MAX + 2];
        struct ui_ctx uctx = {pamh};
        struct approval_ui ui = {ui_info, ui_prompt_enter, ui_prompt_secret, &uctx,
                                 have_conv(pamh) ? ui_prompt_answer : NULL};
        struct approval_env env = {NULL, NULL, &log, 0, !sole_thread};
        /* PAM_SILENT does not count: the message is shown anyway (see ui_info). */
        struct policy_facts facts = {user, service, rhost, tty, NULL, 0, have_conv(pamh)};
        char **groups = NULL, session[REUSE_SESSION_MAX];
        /* Wrong break-glass codes count toward the request limits' lockout in gate.c
         * (limits_end_of: a denial), so no hook is needed here. */
        struct breakglass_env breakglass = {.owner = 0, .on_wrong = NULL, .hook_ctx = NULL, .now = NULL};
        struct gate_env gate = {.maps = &map_cache, .trusted_uid = 0, .breakglass = &breakglass};
        struct command_facts rule_facts;
        char rule_target[sizeof(cmd.target)];
        struct ssh_key_info key;

        if (!sole_thread)
            log_msg(&log, LOG_DEBUG, "multi-threaded host: SIGINT and dumpable left alone, Ctrl-C does not end the wait");

        /* From the running executable and sudo's own argument rules, not from argv[0]. */
        command_of_self(&cmd);
        u.command = cmd.text;
        u.target = cmd.target;
        u.command_full = cmd.full;
        ssh_key_of_login(pamh, service, tty, &key, &log);
        u.key_short = key.fingerprint_short;
        u.key_full = key.fingerprint;
        u.key_type = key.type;

        /* Tokens and the client secret live in this process for a while: keep them out
         * of core dumps, and put the flag back so the host is unchanged afterwards. */
        dumpable = sole_thread ? prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) : 0;
        if (dumpable > 0)
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if ((cfg.groups || cfg.two_person_groups) && user_groups(user, &groups, &facts.n_groups) != RES_OK) {
            snprintf(rep.reason, sizeof(rep.reason), "cannot read the user's groups");
            r = RES_INTERNAL;
        }
        facts.groups = (const char *const *)groups;
        if (cfg.reuse_window > 0 && reuse_session_id(session, sizeof(session)) == RES_OK)
            gate.session = session;
        if (cfg.reuse_window > 0 && caller_of_self(item_str(pamh, PAM_RUSER), &who) == RES_OK)
            gate.caller = &who;
        /* reuse_scope "command" binds the whole command and whom it runs as; a command
         * that is not known for sure, or as long as the room for it (it may have been
         * cut: two commands could then look alike), binds no reuse. */
        if (cmd.certain && strlen(cmd.full) < COMMAND_FULL_MAX &&
            snprintf(bound_command, sizeof(bound_command), "%s\n%s", cmd.target, cmd.full) <
                (int)sizeof(bound_command))
            gate.command = bound_command;
        /* command_rules apply to sudo, and to any host whose command is not known for sure. */
        if (cmd.is_sudo || !cmd.certain) {
            command_facts_of(&cmd, rule_target, sizeof(rule_target), &rule_facts);
            gate.cmd = &rule_facts;
        }
        gate.no_command = cmd.is_sudo && cmd.certain &&
                          (cmd.mode == SUDO_VALIDATE || cmd.mode == SUDO_OTHER ||
                           (cmd.mode == SUDO_LIST && !cmd.has_command));
        if (r == RES_OK)
            r = gate_run(&cfg, &facts, &u, &ui, &env, &gate, &rep);
        user_groups_free(groups, facts.n_groups);
        if (dumpable > 0)
            prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
        /* require_tty: say why on whatever the application can show, if anything. */
        if (r == RES_NO_APPROVER && facts.can_converse)
            conv_one(pamh, PAM_ERROR_MSG, "pam_ciba: this needs a second person's approval, and no approver "
                     "other than you can be asked", NULL);
        if (r == RES_NO_COMMAND && facts.can_converse)
            conv_one(pamh, PAM_ERROR_MSG, "pam_ciba: sudo -v and sudo -l without a command ask for no approval; run the command with sudo", NULL);
        if (r == RES_CONV && facts.can_converse && strncmp(rep.reason, "require_tty", 11) == 0)
            conv_one(pamh, PAM_ERROR_MSG, "pam_ciba: this login needs an interactive terminal for the approval",
                     NULL);
    }
    pam = to_pam(r, cfg.failmode, &rep);
    duration_ms = (long)((mono_now() - started) * 1000.0 + 0.5);
    log_decision(pamh, r, pam, &cfg, user, service, rhost, tty, &rep, duration_ms);
    if (cfg.metrics_file)
        count_decision(&cfg, r, service, &rep, duration_ms, &log);
    config_free(&cfg);
    return pam;
}

PUBLIC int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
