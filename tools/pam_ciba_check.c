/* pam_ciba-check: validate a pam_ciba config, show what a login would send, and optionally run one approval without PAM. */
#include "approval.h"
#include "binding.h"
#include "config.h"
#include "http.h"
#include "jwks.h"
#include "limits_store.h"
#include "login_hint.h"
#include "logger.h"
#include "provider.h"
#include "result.h"
#include "ssh_auth_info.h"
#include "subject_map.h"
#include "template.h"

#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* sshd's default LoginGraceTime: an approval over SSH must finish inside it. */
#define SSHD_LOGIN_GRACE_TIME 120

static const char *const prompt_names[] = {"auto", "enter", "none", NULL};
static const char *const auth_names[] = {"client_secret_post", "client_secret_basic", "private_key_jwt",
                                         "tls_client_auth", NULL};
static const char *const hint_names[] = {"iss_sub", "plain", "email", NULL};

/* names[i], or "?" for a value this tool does not know yet. */
static const char *name_of(const char *const *names, int i)
{
    for (int k = 0; names[k]; k++)
        if (k == i)
            return names[k];
    return "?";
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pam_ciba-check [--config PATH] [--login] [--offline] [--service NAME]\n"
            "                      [--rhost HOST] [--tty TTY] [--command CMD] [--ssh-key FILE]\n"
            "                      [--debug] USER\n"
            "       pam_ciba-check [--config PATH] --show-message [--service NAME] [--rhost HOST]\n"
            "                      [--tty TTY] [--command CMD] USER...\n"
            "       pam_ciba-check [--config PATH] --show-limits [--rhost HOST] USER\n"
            "       pam_ciba-check [--config PATH] --clear-lockout USER\n"
            "       pam_ciba-check [--config PATH] --clear-source HOST\n"
            "\n"
            "Validates the configuration (default " CONFIG_DEFAULT_PATH "), resolves the endpoints\n"
            "and signing keys (discovery and JWKS; --offline: only what the file says), and prints\n"
            "the login hint and an example binding message for USER. With --login, runs a real\n"
            "approval for USER against the provider, as the PAM module would (no PAM involved;\n"
            "the policy keys groups, services and exemptions are not applied). With --show-message,\n"
            "prints only the binding message each USER would get, fitted to the provider's limits\n"
            "(binding_message_profile), without contacting the provider.\n"
            "--show-limits prints USER's request counters (and HOST's with --rhost); --clear-lockout\n"
            "removes USER's counters (lockout, denial streak, request counts), --clear-source\n"
            "HOST's (root only).\n"
            "--ssh-key FILE: the public key (a .pub file) sshd accepted first, for %%k %%K %%T.\n"
            "Exit status: 0 valid (and approved with --login), 1 not approved, 2 invalid config\n"
            "or usage.\n");
}

static void stderr_log(void *ctx, int prio, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "pam_ciba-check: %s%s\n", prio == LOG_DEBUG ? "debug: " : "", msg);
}

static int term_info(void *ctx, const char *msg)
{
    (void)ctx;
    printf("%s\n", msg);
    fflush(stdout);
    return UI_OK;
}

static int term_prompt_enter(void *ctx, const char *msg)
{
    char line[256];
    (void)ctx;
    printf("%s ", msg);
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin))
        return UI_FAILED;
    return UI_OK;
}

/* The user_code, read without echo when stdin is a terminal. */
static int term_prompt_secret(void *ctx, const char *msg, char **answer)
{
    char line[300];
    struct termios old, quiet;
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    (void)ctx;
    *answer = NULL;
    printf("%s", msg);
    fflush(stdout);
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    if (!fgets(line, sizeof(line), stdin))
        line[0] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        printf("\n");
    }
    line[strcspn(line, "\r\n")] = '\0';
    *answer = strdup(line);
    explicit_bzero(line, sizeof(line));
    return *answer ? UI_OK : UI_FAILED;
}

/* confirm = "type": the code from the phone, typed visibly. */
static int term_prompt_answer(void *ctx, const char *msg, char **answer)
{
    char line[300];
    (void)ctx;
    *answer = NULL;
    printf("%s", msg);
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin))
        return UI_FAILED;
    line[strcspn(line, "\r\n")] = '\0';
    *answer = strdup(line);
    explicit_bzero(line, sizeof(line));
    return *answer ? UI_OK : UI_FAILED;
}

static void host_short(char *out, size_t len)
{
    if (gethostname(out, len) != 0)
        snprintf(out, len, "localhost");
    out[len - 1] = '\0';
    out[strcspn(out, ".")] = '\0';
}

static const char *or_none(const char *s)
{
    return s && *s ? s : "(not set)";
}

/* Endpoints and keys as the module resolves them (discovery and JWKS, through its cache). */
static bool show_provider(const struct config *cfg, bool offline, const struct logger *log)
{
    struct http_options o;
    struct http_client *http = NULL;
    struct transport t;
    struct provider prov;
    char reason[512] = "";
    bool ok = true;

    if (offline) {
        printf("bc-authorize:        %s\n", cfg->bc_endpoint ? cfg->bc_endpoint : "(from discovery: not fetched, --offline)");
        printf("token endpoint:      %s\n", cfg->token_endpoint ? cfg->token_endpoint : "(from discovery: not fetched, --offline)");
        return true;
    }
    http_options_from_config(cfg, &o);
    if (!(http = http_client_new(&o))) {
        printf("provider:            cannot initialise libcurl\n");
        return false;
    }
    t = http_client_transport(http);
    provider_init(&prov, cfg, &t, &clock_real, log, geteuid());
    if (provider_resolve(&prov, reason, sizeof(reason)) != RES_OK) {
        char safe[sizeof(reason)];
        log_escape(reason, safe, sizeof(safe));
        printf("endpoints:           CANNOT RESOLVE: %s\n", safe);
        ok = false;
    } else {
        printf("bc-authorize:        %s%s\n", prov.bc_endpoint, cfg->discovery ? "  (discovery)" : "");
        printf("token endpoint:      %s%s\n", prov.token_endpoint, cfg->discovery ? "  (discovery)" : "");
        printf("jwks_uri:            %s\n", prov.jwks_uri);
        if (provider_load_keys(&prov, reason, sizeof(reason)) != RES_OK) {
            char safe[sizeof(reason)];
            log_escape(reason, safe, sizeof(safe));
            printf("signing keys:        CANNOT LOAD: %s\n", safe);
            ok = false;
        } else {
            printf("signing keys:        %zu usable\n", jwks_count(prov.keys));
        }
    }
    provider_free(&prov);
    http_client_free(http);
    return ok;
}

/* The provider's limits the binding message is fitted to. */
static void print_limits(const struct config *cfg)
{
    const struct binding_profile *p = &cfg->binding_limits;
    char space[16], other[16];

    if (p->space == ' ')
        snprintf(space, sizeof(space), "stay");
    else if (p->space)
        snprintf(space, sizeof(space), "become '%c'", p->space);
    else
        snprintf(space, sizeof(space), "are dropped");
    if (p->other)
        snprintf(other, sizeof(other), "become '%c'", p->other);
    else
        snprintf(other, sizeof(other), "are dropped");
    printf("provider limits:     %s%s: at most %zu characters from [%s]; spaces %s, other characters %s\n",
           name_of(binding_preset_names, cfg->binding_message_profile),
           cfg->binding_message_profile != BINDING_PRESET_CUSTOM &&
                   (cfg->binding_message_max || cfg->binding_message_charset)
               ? " (adjusted)"
               : "",
           p->max, p->charset, space,
           other);
}

/* --show-message: the binding message each user would get, nothing sent anywhere. */
static int show_messages(const struct config *cfg, const struct approval_user *u, char **users, int n)
{
    char host[256], hostfull[256], code[BINDING_CODE_LEN + 1] = "K7QF", msg[BINDING_MESSAGE_MAX + 1];
    size_t width = 4;
    int rc = 0;

    host_short(host, sizeof(host));
    if (gethostname(hostfull, sizeof(hostfull)) != 0)
        snprintf(hostfull, sizeof(hostfull), "%s", host);
    hostfull[sizeof(hostfull) - 1] = '\0';
    binding_code_generate(code);
    for (int i = 0; i < n; i++)
        if (strlen(users[i]) > width)
            width = strlen(users[i]) < 32 ? strlen(users[i]) : 32;
    printf("binding_message:     \"%s\"\n", cfg->binding_message);
    print_limits(cfg);
    for (int i = 0; i < n; i++) {
        struct template_vars vars = {users[i], host, hostfull, u->service, u->rhost, u->tty, code, u->command,
                                     u->target, u->command_full, u->key_short, u->key_full, u->key_type};
        char name[200];
        /* a user name is printed as the module would log it */
        log_escape(users[i], name, sizeof(name));
        if (binding_fit(cfg->binding_message, &vars, &cfg->binding_limits, msg) != RES_OK) {
            printf("%-*s  CANNOT BE BUILT\n", (int)width, name);
            rc = 1;
            continue;
        }
        printf("%-*s  %s%s\n", (int)width, name, msg, getpwnam(users[i]) ? "" : "   (no such user here)");
    }
    printf("(the code, here %s, is new at every login)\n", code);
    return rc;
}

/* command_rules and two-person approval: what the rules say about --command (read as
 * "program arguments", run as root) and what the approvers' phones would show. */
static void show_two_person(const struct config *cfg, const struct approval_user *u, const struct template_vars *vars)
{
    char binding[BINDING_MESSAGE_MAX + 1], program[COMMAND_PATTERN_MAX + 1] = "";
    const char *args = "";

    if (cfg->n_command_rules > 0) {
        printf("command_rules:       %zu rule%s (sudo only; the strictest match wins)\n", cfg->n_command_rules,
               cfg->n_command_rules == 1 ? "" : "s");
        if (u->command) {
            struct command_facts f = {true, program, NULL, "root", NULL};
            int which;
            enum command_action a;
            size_t n = strcspn(u->command, " ");
            snprintf(program, sizeof(program), "%.*s", (int)(n < COMMAND_PATTERN_MAX ? n : COMMAND_PATTERN_MAX),
                     u->command);
            args = u->command[n] ? u->command + n + 1 : "";
            f.args = args;
            a = command_policy_decide(cfg->command_rules, cfg->n_command_rules, &f, &which);
            if (which >= 0)
                printf("command rule:        sudo %s (as root): %s (rule at line %d)\n", u->command,
                       command_action_name(a), cfg->command_rules[which].line);
            else
                printf("command rule:        sudo %s (as root): approve (no rule matches)\n", u->command);
        }
    }
    if (!cfg->approvers)
        return;
    printf("approvers:          ");
    for (size_t i = 0; cfg->approvers[i]; i++)
        printf(" %s", cfg->approvers[i]);
    printf("\n");
    if (binding_message_build(cfg->approver_binding_message, vars, binding) == RES_OK)
        printf("approver message:    %s   (template \"%s\")\n", binding, cfg->approver_binding_message);
}

/* Everything a login would send, without sending it. Returns false if USER cannot log in. */
static bool show(const char *path, const struct config *cfg, const struct approval_user *u, bool offline,
                 const struct logger *log)
{
    char host[256], hostfull[256], code[BINDING_CODE_LEN + 1] = "K7QF", binding[BINDING_MESSAGE_MAX + 1];
    struct template_vars vars;
    char *subject = NULL, *hint = NULL;
    bool ok = true;

    host_short(host, sizeof(host));
    if (gethostname(hostfull, sizeof(hostfull)) != 0)
        snprintf(hostfull, sizeof(hostfull), "%s", host);
    hostfull[sizeof(hostfull) - 1] = '\0';
    binding_code_generate(code);
    vars = (struct template_vars){u->user, host, hostfull, u->service, u->rhost, u->tty, code, u->command,
                                  u->target, u->command_full, u->key_short, u->key_full, u->key_type};

    printf("config:              %s: OK\n", path);
    printf("issuer:              %s\n", cfg->issuer);
    if (!show_provider(cfg, offline, log))
        ok = false;
    printf("client_id:           %s (%s; secrets are not shown)\n", cfg->client_id,
           name_of(auth_names, cfg->client_auth));
    printf("scope:               %s\n", cfg->scope);
    printf("audience:            %s\n", or_none(cfg->audience));
    printf("resource:            %s\n", or_none(cfg->resource));
    printf("requested_expiry:    %d%s\n", cfg->requested_expiry,
           cfg->requested_expiry ? "" : " (not sent: the provider's default)");
    printf("ca_file:             %s\n", cfg->ca_file ? cfg->ca_file : "(system trust store)");
    printf("timeouts:            connect %ds, request %ds, whole login (max_wait) %ds\n",
           cfg->connect_timeout, cfg->request_timeout, cfg->max_wait);
    if (cfg->confirm == CONFIRM_TYPE)
        printf("confirm:             type: the terminal asks for the code the phone shows (it is not shown "
               "here); polling starts once it is typed\n");
    else
        printf("prompt:              %s: for service \"%s\" the message is shown %s\n",
               name_of(prompt_names, cfg->prompt), u->service,
               approval_uses_prompt(cfg->prompt, u->service, u->tty) ? "in a prompt, polling after Enter"
                                                                      : "as an info message, then polling");
    if (cfg->max_wait >= SSHD_LOGIN_GRACE_TIME)
        printf("warning:             max_wait %ds is not below sshd's default LoginGraceTime (%ds): "
               "sshd would cut SSH logins off first\n", cfg->max_wait, SSHD_LOGIN_GRACE_TIME);
    if (!getpwnam(u->user)) {
        printf("user:                %s: NO SUCH USER (the module answers PAM_USER_UNKNOWN)\n", u->user);
        ok = false;
    } else {
        printf("user:                %s\n", u->user);
    }
    if (template_expand(u->subject ? u->subject : cfg->subject, &vars, 0, &subject) != RES_OK || !*subject ||
        login_hint_build(cfg->login_hint_format, cfg->issuer, subject, &hint) != RES_OK) {
        printf("login hint:          cannot be built from subject = \"%s\"\n", u->subject ? u->subject : cfg->subject);
        ok = false;
    } else {
        printf("subject:             %s\n", subject);
        printf("login hint (%s): %s\n", name_of(hint_names, cfg->login_hint_format), hint);
    }
    print_limits(cfg);
    if (binding_fit(cfg->binding_message, &vars, &cfg->binding_limits, binding) == RES_OK)
        printf("binding message:     %s   (template \"%s\"; the code changes every login)\n", binding,
               cfg->binding_message);
    show_two_person(cfg, u, &vars);
    free(subject);
    free(hint);
    return ok;
}

/* --ssh-key: what the module would show for this public key, read as sshd would hand it
 * over (SSH_AUTH_INFO_0: "publickey TYPE BASE64"). */
static bool read_ssh_key(const char *path, struct ssh_key_info *key)
{
    char line[SSH_AUTH_INFO_MAX], *text, *type, *b64, *save = NULL;
    FILE *f = fopen(path, "re");
    bool ok = false;

    if (!f || !fgets(line, sizeof(line), f)) {
        fprintf(stderr, "pam_ciba-check: cannot read %s\n", path);
    } else if (!(type = strtok_r(line, " \t\r\n", &save)) || !(b64 = strtok_r(NULL, " \t\r\n", &save)) ||
               asprintf(&text, "publickey %s %s\n", type, b64) < 0) {
        fprintf(stderr, "pam_ciba-check: %s: not a public key line (TYPE BASE64 [COMMENT])\n", path);
    } else {
        ok = ssh_auth_info_parse(text, key) == SSH_AUTH_INFO_KEY;
        if (!ok)
            fprintf(stderr, "pam_ciba-check: %s: not a key the module can show (unknown type or bad encoding)\n",
                    path);
        free(text);
    }
    if (f)
        fclose(f);
    return ok;
}

/* One line per configuration error, as an admin fixes them: file:line first. */
enum limits_mode { LIMITS_NONE, LIMITS_SHOW, LIMITS_CLEAR_USER, LIMITS_CLEAR_SOURCE };

/* One counter record, as the module would see it now. */
static int show_record(const struct limits_store *st, const struct limits_conf *lc, int kind, const char *name,
                       const char *label)
{
    struct limits_record *rec = malloc(sizeof(*rec));
    char why[512], safe[300];
    double now = limits_now();
    long long now_ms = (long long)(now * 1000.0), until = 0;
    size_t pending = 0;
    int rc = 0;
    result r;

    if (!rec)
        return 1;
    log_escape(name, safe, sizeof(safe));
    r = limits_read(st, lc, kind, name, now, rec, why, sizeof(why));
    if (r == RES_DENIED) {
        printf("%-20s %s: no counters\n", label, safe);
    } else if (r != RES_OK) {
        printf("%-20s %s: REFUSED: %s (logins fail until it is cleared)\n", label, safe, why);
        rc = 1;
    } else {
        enum limits_verdict v = limits_decide(rec, lc, now_ms, &until);
        size_t n = limits_count(rec, &pending);
        printf("%-20s %s: %zu unapproved request%s in the last %lld s (%zu pending), max_requests %d\n", label, safe,
               n, n == 1 ? "" : "s", lc->window_ms / 1000, pending, lc->max_requests);
        if (kind == LIMITS_USER)
            printf("%-20s denials in a row: %u of %d\n", "", rec->streak, lc->max_denials);
        printf("%-20s next request: %s", "", v == LIMITS_GO ? "allowed" : limits_verdict_name(v));
        if (until > now_ms)
            printf(" for %lld s more", (until - now_ms + 999) / 1000);
        printf("\n");
    }
    free(rec);
    return rc;
}

static int limits_tool(enum limits_mode mode, const struct config *cfg, const char *name, const char *rhost)
{
    struct limits_store st = {cfg->reuse_dir, 0};
    struct limits_conf lc = {cfg->max_requests, (long long)cfg->request_window * 1000, cfg->max_denials,
                             (long long)cfg->lockout_time * 1000};
    char why[512], key[LIMITS_NAME_MAX + 1];
    result r;
    int rc;

    if (geteuid() != 0) {
        fprintf(stderr, "pam_ciba-check: the request counters are root-only: run as root\n");
        return 2;
    }
    if (mode == LIMITS_SHOW) {
        rc = show_record(&st, &lc, LIMITS_USER, name, "user:");
        limits_source_key(rhost, key, sizeof(key));
        if (key[0])
            rc |= show_record(&st, &lc, LIMITS_SOURCE, key, "source:");
        return rc;
    }
    if (mode == LIMITS_CLEAR_SOURCE)
        limits_source_key(name, key, sizeof(key));
    r = limits_clear(&st, mode == LIMITS_CLEAR_USER ? LIMITS_USER : LIMITS_SOURCE,
                     mode == LIMITS_CLEAR_USER ? name : key, why, sizeof(why));
    printf("%s\n", why);
    return r == RES_OK ? 0 : 1;
}

static void print_config_error(void *ctx, const char *msg)
{
    ++*(int *)ctx;
    fprintf(stderr, "pam_ciba-check: %s\n", msg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"login", no_argument, NULL, 'l'},
        {"service", required_argument, NULL, 's'}, {"rhost", required_argument, NULL, 'r'},
        {"tty", required_argument, NULL, 't'}, {"command", required_argument, NULL, 'C'},
        {"debug", no_argument, NULL, 'd'}, {"offline", no_argument, NULL, 'o'},
        {"ssh-key", required_argument, NULL, 'k'},
        {"show-limits", no_argument, NULL, 'S'}, {"clear-lockout", no_argument, NULL, 'L'},
        {"clear-source", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'}, {"show-message", no_argument, NULL, 'm'}, {NULL, 0, NULL, 0},
    };
    const char *path = CONFIG_DEFAULT_PATH;
    struct approval_user u = {.service = "pam_ciba-check"};
    char *mapped = NULL;
    struct logger log = {stderr_log, NULL, false};
    bool login = false, offline = false, messages = false;
    struct config cfg;
    struct ssh_key_info key;
    char err[1024];
    int opt, rc, n_errors = 0;
    enum limits_mode lmode = LIMITS_NONE;

    while ((opt = getopt_long(argc, argv, "c:ls:r:t:C:dohmk:", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'l': login = true; break;
        case 's': u.service = optarg; break;
        case 'r': u.rhost = optarg; break;
        case 't': u.tty = optarg; break;
        case 'C': u.command = u.command_full = optarg; break;
        case 'd': log.debug = true; break;
        case 'o': offline = true; break;
        case 'S': lmode = LIMITS_SHOW; break;
        case 'L': lmode = LIMITS_CLEAR_USER; break;
        case 'R': lmode = LIMITS_CLEAR_SOURCE; break;
        case 'k':
            if (!read_ssh_key(optarg, &key))
                return 2;
            u.key_short = key.fingerprint_short;
            u.key_full = key.fingerprint;
            u.key_type = key.type;
            break;
        case 'h': usage(stdout); return 0;
        case 'm': messages = true; break;
        default: usage(stderr); return 2;
        }
    }
    if (messages ? (optind >= argc || login || lmode != LIMITS_NONE)
                 : (optind != argc - 1 || (lmode != LIMITS_NONE && login))) {
        usage(stderr);
        return 2;
    }
    u.user = argv[optind];
    if (!u.tty && isatty(STDIN_FILENO))
        u.tty = ttyname(STDIN_FILENO);

    /* The same checks the module makes: root-owned files, secret files not readable by others. */
    config_defaults(&cfg);
    if (config_load_all(path, 0, &cfg, print_config_error, &n_errors, err, sizeof(err)) != RES_OK) {
        if (n_errors == 0) /* out of memory: nothing was reported */
            fprintf(stderr, "pam_ciba-check: invalid configuration: %s\n", err);
        else
            fprintf(stderr, "pam_ciba-check: %d configuration error%s\n", n_errors, n_errors == 1 ? "" : "s");
        config_free(&cfg);
        return 2;
    }
    if (messages) {
        rc = show_messages(&cfg, &u, argv + optind, argc - optind);
        config_free(&cfg);
        return rc;
    }
    if (lmode != LIMITS_NONE) {
        rc = limits_tool(lmode, &cfg, argv[optind], u.rhost);
        config_free(&cfg);
        return rc;
    }
    if (cfg.subject_map_file) {
        struct subject_map_cache maps = SUBJECT_MAP_CACHE_INIT;
        result m = subject_map_lookup(&maps, cfg.subject_map_file, 0, u.user, &mapped, err, sizeof(err));
        subject_map_cache_clear(&maps);
        if (m == RES_CONFIG) {
            fprintf(stderr, "pam_ciba-check: invalid subject map: %s\n", err);
            config_free(&cfg);
            return 2;
        }
        if (m != RES_OK)
            printf("subject map:         %s is not in %s (unmapped = %s)\n", u.user, cfg.subject_map_file,
                   cfg.unmapped == UNMAPPED_IGNORE ? "ignore: the module answers PAM_IGNORE"
                                                   : "deny: the module answers PAM_USER_UNKNOWN");
        u.subject = mapped;
    }
    rc = show(path, &cfg, &u, offline, &log) && (!cfg.subject_map_file || mapped) ? 0 : 1;
    if (login && rc == 0) {
        struct approval_ui ui = {term_info, term_prompt_enter, term_prompt_secret, NULL, term_prompt_answer};
        struct approval_env env = {NULL, NULL, &log, 0, false};
        struct approval_report rep;
        result r;

        printf("\nSending a real approval request for %s; Ctrl-C cancels.\n", u.user);
        fflush(stdout);
        r = approval_run(&cfg, &u, &ui, &env, &rep);
        char safe[sizeof(rep.reason)];
        /* reasons can quote provider text: escaped, as in the logs */
        log_escape(rep.reason, safe, sizeof(safe));
        printf("outcome:             %s (%s)\n", result_name(r), safe);
        rc = r == RES_OK ? 0 : 1;
    }
    free(mapped);
    config_free(&cfg);
    return rc;
}
