/* The approval flow: hint and message, bc-authorize, tell the user, poll, verify. */
#include "approval.h"
#include "authz_details.h"
#include "ciba.h"
#include "client_auth.h"
#include "host_env.h"
#include "provider.h"
#include "idtoken.h"
#include "login_hint.h"
#include "message.h"
#include "ssh_auth_info.h"
#include "text.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PROMPT_SUFFIX ", then press Enter:"

static void host_names(char *full, size_t fulllen, char *shortname, size_t shortlen)
{
    /* gethostname only: a DNS lookup here could stall every login. */
    if (gethostname(full, fulllen) != 0)
        snprintf(full, fulllen, "localhost");
    full[fulllen - 1] = '\0';
    snprintf(shortname, shortlen, "%.*s", (int)strcspn(full, "."), full);
}

bool approval_uses_prompt(int prompt_mode, const char *service, const char *tty)
{
    if (prompt_mode == PROMPT_ENTER)
        return true;
    /* sshd's keyboard-interactive conversation only delivers messages with a prompt. */
    return prompt_mode == PROMPT_AUTO && ssh_login_is_sshd(service, tty);
}

/* Tell the user what to approve (text: the expanded message template). UI_NONE is fine;
 * a failing conversation is not. */
static result tell_user(const struct config *cfg, const struct approval_ui *ui, const struct approval_user *u,
                        const char *text, const struct logger *log)
{
    char msg[MESSAGE_MAX + sizeof(PROMPT_SUFFIX)];
    int st;

    if (!ui)
        return RES_OK;
    if (approval_uses_prompt(cfg->prompt, u->service, u->tty) && ui->prompt_enter) {
        /* Polling starts after the answer and goes on while the request is pending. */
        snprintf(msg, sizeof(msg), "%s" PROMPT_SUFFIX, text);
        st = ui->prompt_enter(ui->ctx, msg);
    } else if (ui->info) {
        snprintf(msg, sizeof(msg), "%s", text);
        st = ui->info(ui->ctx, msg);
    } else {
        st = UI_NONE;
    }
    if (st == UI_NONE)
        log_msg(log, LOG_DEBUG, "no conversation: the binding message was not shown");
    return st == UI_FAILED ? RES_CONV : RES_OK;
}

/* Poll; with the real clock, the user's Ctrl-C ends the wait (and the request with it). */
static result wait_for_answer(const struct ciba_client *c, struct ciba_pending *pending, double deadline,
                              struct ciba_tokens *tokens, bool interruptible, struct approval_report *rep)
{
    struct interrupt_window w = {0};
    result r;

    if (interruptible)
        interrupt_window_open(&w);
    r = ciba_poll(c, pending, deadline, tokens, rep->reason, sizeof(rep->reason));
    /* Ctrl-C wins even over an answer that arrived in the same instant: the user said stop. */
    if (interruptible && interrupt_window_close(&w)) {
        r = RES_INTERRUPTED;
        snprintf(rep->reason, sizeof(rep->reason), "interrupted by the user (SIGINT) while waiting");
    }
    return r;
}

static result ask_user_code(const struct approval_ui *ui, char **code)
{
    *code = NULL;
    if (!ui || !ui->prompt_secret || ui->prompt_secret(ui->ctx, "User code: ", code) != UI_OK || !*code)
        return RES_CONV;
    if (!**code || strlen(*code) > 256 || strpbrk(*code, "\r\n")) {
        wipe_free_str(*code);
        *code = NULL;
        return RES_CONV;
    }
    return RES_OK;
}

/* Descriptors a login needs at once: sockets (two address families while connecting),
 * the resolver's, TLS trust files, cache files, syslog, with room to spare. A caller
 * can lower RLIMIT_NOFILE before a setuid program starts (prlimit --nofile=6 su): the
 * sockets would then fail with EMFILE, which must never look like an outage. */
#define SPARE_DESCRIPTORS 16

/* CLOCK_MONOTONIC seconds: the transport's deadline is in real time even when the flow
 * runs on an injected clock. */
static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What failmode = "safe" may soften: no answer at all (status 0) or a 5xx. A 429 is an
 * answer, not an outage. */
static bool provider_unreachable(result r, long status)
{
    return r == RES_UNAVAILABLE && (status == 0 || status >= 500);
}

result approval_run(const struct config *cfg, const struct approval_user *u,
                    const struct approval_ui *ui, const struct approval_env *env,
                    struct approval_report *rep)
{
    const struct clock *clk = env->clock ? env->clock : &clock_real;
    /* One deadline for the whole login (issue 11): no request starts after max_wait, and
     * none runs past max_wait + request_timeout, whichever step it belongs to. */
    double deadline = clk->now(clk->ctx) + cfg->max_wait;
    double real_start = mono_seconds();
    char host_full[256], host_short[256], code[BINDING_CODE_LEN + 1];
    struct template_vars vars;
    struct http_client *http = NULL;
    struct transport real;
    const struct transport *transport = env->transport;
    struct ciba_pending pending = {0};
    struct ciba_tokens tokens = {0};
    struct provider prov;
    char *subject = NULL, *hint = NULL, *user_code = NULL, *details = NULL;
    char text[MESSAGE_MAX];
    result r;

    memset(rep, 0, sizeof(*rep));
    /* The subject is built from the user name: a name that must be rewritten to be shown
     * could stand for another account. */
    if (u->user && !text_is_clean(u->user)) {
        snprintf(rep->reason, sizeof(rep->reason), "user name holds a control character or is not valid UTF-8");
        return RES_USER_UNKNOWN;
    }
    provider_init(&prov, cfg, NULL, clk, env->log, env->cache_owner);
    host_names(host_full, sizeof(host_full), host_short, sizeof(host_short));
    r = binding_code_generate(code);
    if (r != RES_OK) {
        snprintf(rep->reason, sizeof(rep->reason), "random code generation failed");
        return r;
    }
    vars = (struct template_vars){u->user, host_short, host_full, u->service, u->rhost, u->tty, code,
                                  u->command, u->target, u->command_full, u->key_short, u->key_full,
                                  u->key_type};

    r = template_expand(u->subject ? u->subject : cfg->subject, &vars, 0, &subject);
    if (r == RES_OK && (!*subject || strpbrk(subject, "\r\n"))) {
        snprintf(rep->reason, sizeof(rep->reason), "subject template expands to an unusable subject");
        r = RES_USER_UNKNOWN;
        goto out;
    }
    if (r == RES_OK)
        r = login_hint_build(cfg->login_hint_format, cfg->issuer, subject, &hint);
    if (r == RES_OK)
        r = binding_message_build(cfg->binding_message, &vars, rep->binding_message);
    /* Expanded on the parsed JSON tree: login facts can never change its structure. */
    if (r == RES_OK && cfg->authorization_details)
        r = authz_details_expand(cfg->authorization_details, &vars, &details);
    if (r != RES_OK) {
        snprintf(rep->reason, sizeof(rep->reason), "cannot build the request");
        goto out;
    }
    if (!transport) {
        struct http_options o;
        if (!http_descriptors_spare(SPARE_DESCRIPTORS)) {
            snprintf(rep->reason, sizeof(rep->reason),
                     "local resource limit: fewer than %d file descriptors available (RLIMIT_NOFILE)",
                     SPARE_DESCRIPTORS);
            r = RES_INTERNAL;
            goto out;
        }
        http_options_from_config(cfg, &o);
        o.start_by = real_start + cfg->max_wait;
        o.end_by = o.start_by + cfg->request_timeout;
        o.sole_thread = !env->threaded_host;
        /* In su or sudo the environment is the caller's: never take a proxy from it. */
        if (o.proxy_from_env && host_secure()) {
            o.proxy_from_env = false;
            log_msg(env->log, LOG_DEBUG, "proxy_from_env ignored: set-id host, the environment is the caller's");
        }
        http = http_client_new(&o);
        if (!http) {
            const char *why = http_global_error();
            snprintf(rep->reason, sizeof(rep->reason), "cannot initialise libcurl%s%s", why && *why ? ": " : "",
                     why ? why : "");
            r = RES_INTERNAL;
            goto out;
        }
        real = http_client_transport(http);
        transport = &real;
    }
    /* Endpoints and keys first (usually from the cache): a provider we cannot verify
     * should not get a request the user is asked to approve. */
    prov.transport = transport;
    r = provider_resolve(&prov, rep->reason, sizeof(rep->reason));
    if (r == RES_OK)
        r = provider_load_keys(&prov, rep->reason, sizeof(rep->reason));
    if (r != RES_OK) {
        rep->unreachable = provider_unreachable(r, prov.last_status);
        goto out;
    }
    if (cfg->user_code) {
        r = ask_user_code(ui, &user_code);
        if (r != RES_OK) {
            snprintf(rep->reason, sizeof(rep->reason), "no user code entered");
            goto out;
        }
    }
    {
        struct client_credentials creds = {(enum client_auth)cfg->client_auth, cfg->client_id, cfg->client_secret,
                                           cfg->private_key_pem, cfg->key_id, cfg->issuer};
        struct ciba_client c = {transport, clk, env->log, prov.bc_endpoint, prov.token_endpoint, &creds};
        struct ciba_request req = {cfg->scope, hint, rep->binding_message, cfg->audience, cfg->resource,
                                   details, cfg->requested_expiry, cfg->acr_values,
                                   user_code};
        struct jws_verifier verifier = provider_verifier(&prov);
        struct idtoken_expect expect;
        /* A token issued before this request was sent cannot be its answer. */
        time_t sent = clk->wall(clk->ctx);

        log_msg(env->log, LOG_DEBUG, "login_hint=%s binding_message=\"%s\"", hint, rep->binding_message);
        r = ciba_start(&c, &req, &pending, rep->reason, sizeof(rep->reason));
        if (r != RES_OK) {
            rep->unreachable = provider_unreachable(r, pending.bc_status);
            goto out;
        }
        {
            /* %e: what is left of the request's lifetime, bounded by max_wait. */
            double left = deadline - clk->now(clk->ctx);
            long expires = pending.expires_in > 0 && pending.expires_in < left ? pending.expires_in : (long)left;
            r = message_build(cfg->message ? cfg->message : MESSAGE_DEFAULT, &vars, rep->binding_message,
                              expires, text, sizeof(text));
        }
        if (r == RES_OK)
            r = tell_user(cfg, ui, u, text, env->log);
        if (r != RES_OK) {
            snprintf(rep->reason, sizeof(rep->reason), "conversation failed while showing the message");
            goto out;
        }
        r = wait_for_answer(&c, &pending, deadline, &tokens, env->clock == NULL && !env->threaded_host, rep);
        if (r != RES_OK)
            goto out;
        expect = (struct idtoken_expect){cfg->issuer, cfg->client_id, subject, clk->wall(clk->ctx),
                                         cfg->clock_skew, cfg->login_hint_format == HINT_EMAIL ? subject : NULL,
                                         sent};
        r = idtoken_verify(tokens.id_token, &verifier, &expect, rep->reason, sizeof(rep->reason));
        if (r == RES_OK)
            snprintf(rep->reason, sizeof(rep->reason), "id_token verified");
    }
out:
    ciba_tokens_clear(&tokens);
    ciba_pending_clear(&pending);
    provider_free(&prov);
    wipe_free_str(user_code);
    http_client_free(http);
    free(subject);
    free(hint);
    free(details);
    return r;
}
