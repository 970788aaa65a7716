/* The approval flow: hint and message, bc-authorize, tell the user, poll, verify. */
#include "approval.h"
#include "authz_details.h"
#include "ciba.h"
#include "client_auth.h"
#include "confirm.h"
#include "host_env.h"
#include "provider.h"
#include "idtoken.h"
#include "login_hint.h"
#include "message.h"
#include "ssh_auth_info.h"
#include "text.h"
#include "two_person.h"
#include "wipe.h"

#include <openssl/evp.h>
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

void approval_request_hash(const char *auth_req_id, char out[APPROVAL_REQUEST_HASH_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    out[0] = '\0';
    if (!auth_req_id || !*auth_req_id ||
        EVP_Digest(auth_req_id, strlen(auth_req_id), md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen * 2 < APPROVAL_REQUEST_HASH_LEN)
        return;
    for (unsigned i = 0; i < APPROVAL_REQUEST_HASH_LEN / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
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

/* confirm = "type": the prompt is the wait. Polling starts once the code is in: a PAM
 * conversation call cannot be interrupted (sshd, sudo and login block in it), so neither
 * an approval nor a denial could end the prompt sooner, and no thread of ours runs inside
 * a set-id host. The first poll follows the answer at once (the interval has passed), so
 * an approval that is already in finishes the login one token request after Enter. */
static result ask_typed_code(const struct approval_ui *ui, const char *text, const char *code,
                             const struct clock *clk, double deadline, struct approval_report *rep)
{
    char msg[MESSAGE_MAX + sizeof(CONFIRM_TYPE_SUFFIX)];
    char *typed = NULL;
    bool right, none;
    int st;

    snprintf(msg, sizeof(msg), "%s" CONFIRM_TYPE_SUFFIX, text);
    st = ui->prompt_answer(ui->ctx, msg, &typed);
    if (st != UI_OK || !typed) {
        wipe_free_str(typed);
        snprintf(rep->reason, sizeof(rep->reason), "conversation failed while asking for the code");
        return RES_CONV;
    }
    /* The answer may be anything, even a password typed in the wrong place: it is
     * compared, wiped, and never logged. */
    right = confirm_code_matches(typed, code);
    none = confirm_answer_empty(typed);
    wipe_free_str(typed);
    if (!right) {
        snprintf(rep->reason, sizeof(rep->reason), none ? "no code was typed" : "the typed code is wrong");
        return RES_WRONG_CODE;
    }
    if (clk->now(clk->ctx) >= deadline) {
        snprintf(rep->reason, sizeof(rep->reason), "the code was typed after max_wait");
        return RES_TIMEOUT;
    }
    return RES_OK;
}

/* The approvers' side of a two-person login: their subjects, hints and one binding message. */
struct approver_reqs {
    size_t n;
    const struct approver *who[APPROVERS_MAX];
    char *subject[APPROVERS_MAX];
    char *hint[APPROVERS_MAX];
    char message[BINDING_MESSAGE_MAX + 1];
};

static void approver_reqs_free(struct approver_reqs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->subject[i]);
        free(a->hint[i]);
    }
    a->n = 0;
}

/* Each approver's subject (%u = the approver), never the requester's own subject nor a
 * subject already asked; an approver whose subject cannot be built is left out (logged). */
static result approvers_prepare(const struct config *cfg, const struct approval_user *u, const struct template_vars *vars,
                                const char *own_subject, const struct logger *log, struct approver_reqs *a)
{
    char safe[128];
    result r;

    memset(a, 0, sizeof(*a));
    /* Fitted to the provider's limits like the user's own message. */
    r = binding_fit(cfg->approver_binding_message ? cfg->approver_binding_message : APPROVER_BINDING_MESSAGE_DEFAULT,
                    vars, &cfg->binding_limits, a->message);
    if (r != RES_OK)
        return r;
    for (size_t i = 0; i < u->n_approvers && a->n < APPROVERS_MAX; i++) {
        const struct approver *ap = &u->approvers[i];
        struct template_vars av = *vars;
        char *sub = NULL, *hint = NULL;
        bool dup = false;

        log_escape(ap->name ? ap->name : "?", safe, sizeof(safe));
        if (ap->user && u->user && strcmp(ap->user, u->user) == 0) {
            log_msg(log, LOG_NOTICE, "two-person: approver %s is the requester: not asked", safe);
            continue;
        }
        av.user = ap->user;
        if (!ap->subject || (ap->user ? template_expand(ap->subject, &av, 0, &sub) : ((sub = strdup(ap->subject)) ? RES_OK : RES_INTERNAL)) != RES_OK ||
            !*sub || strpbrk(sub, "\r\n") || login_hint_build(cfg->login_hint_format, cfg->issuer, sub, &hint) != RES_OK) {
            log_msg(log, LOG_WARNING, "two-person: no usable subject for approver %s: not asked", safe);
            free(sub);
            free(hint);
            continue;
        }
        for (size_t k = 0; k < a->n; k++)
            dup = dup || two_person_same_subject(sub, a->subject[k]);
        if (two_person_same_subject(sub, own_subject) || dup) {
            log_msg(log, LOG_NOTICE, "two-person: approver %s has %s subject: not asked", safe,
                    dup ? "an already asked" : "the requester's");
            free(sub);
            free(hint);
            continue;
        }
        a->who[a->n] = ap;
        a->subject[a->n] = sub;
        a->hint[a->n] = hint;
        a->n++;
    }
    return RES_OK;
}

/* The provider limits requests: say so and how long to wait, so nobody retries blindly. */
static void tell_limit(const struct approval_ui *ui, long wait)
{
    char msg[160];
    if (!ui || !ui->info)
        return;
    ciba_limit_message(wait, msg, sizeof(msg));
    ui->info(ui->ctx, msg);
}

/* Poll the user's request (index 0) and the approvers' (1..n) in one loop until the user
 * and one approver have approved with tokens verified for their own subjects, or the login
 * fails. Requests that no longer matter stop being polled. */
static result two_person_wait(const struct ciba_client *c, struct ciba_pending *pending, bool *active, size_t n,
                              double deadline, const struct jws_verifier *verifier, struct idtoken_expect expect,
                              const char *const *subjects, const struct approver_reqs *a, bool interruptible,
                              struct approval_report *rep)
{
    struct interrupt_window w = {0};
    struct two_person_state st;
    enum two_person_verdict v = TP_WAIT;
    result r = RES_INTERNAL;
    char why[320], safe[128];

    two_person_start(&st, n - 1);
    if (interruptible)
        interrupt_window_open(&w);
    while (v == TP_WAIT) {
        struct ciba_tokens tokens = {0};
        int which = -1;

        r = ciba_poll_any(c, pending, active, n, deadline, &which, &tokens, why, sizeof(why));
        if (which < 0 || r == RES_TIMEOUT) {
            snprintf(rep->reason, sizeof(rep->reason), "two-person: %.250s%s", why,
                     st.user_ok ? " (no approver approved)" : "");
            ciba_tokens_clear(&tokens);
            break;
        }
        active[which] = false;
        if (r == RES_OK) {
            expect.subject = subjects[which];
            expect.email = expect.email ? subjects[which] : NULL;
            expect.now = c->clock->wall(c->clock->ctx);
            r = idtoken_verify(tokens.id_token, verifier, &expect, why, sizeof(why));
        }
        ciba_tokens_clear(&tokens);
        v = two_person_update(&st, which == 0, (size_t)(which - 1), r);
        if (which > 0) {
            log_escape(a->who[which - 1]->name, safe, sizeof(safe));
            log_msg(c->log, r == RES_OK ? LOG_INFO : LOG_NOTICE, "two-person: approver %s: %s%s%s", safe,
                    result_name(r), r == RES_OK ? "" : ": ", r == RES_OK ? "" : why);
        }
        if (v == TP_FAILED) {
            if (which == 0)
                snprintf(rep->reason, sizeof(rep->reason), "%s", why);
            else
                snprintf(rep->reason, sizeof(rep->reason), "two-person: approver %.60s: %.200s", safe, why);
            r = r == RES_OK ? RES_DENIED : r;
            if (which > 0 && r == RES_EXPIRED)
                snprintf(rep->reason, sizeof(rep->reason), "two-person: no approver approved before their requests expired");
        }
        /* The first verified approver decides: the others' requests are dropped. */
        if (st.approver >= 0)
            for (size_t k = 1; k < n; k++)
                active[k] = false;
    }
    if (interruptible && interrupt_window_close(&w)) {
        v = TP_FAILED;
        r = RES_INTERRUPTED;
        snprintf(rep->reason, sizeof(rep->reason), "interrupted by the user (SIGINT) while waiting");
    }
    if (v == TP_APPROVED) {
        snprintf(rep->approver, sizeof(rep->approver), "%s", a->who[st.approver]->name);
        snprintf(rep->reason, sizeof(rep->reason), "id_token verified for the user and approver");
        return RES_OK;
    }
    return r == RES_OK ? RES_DENIED : r;
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
    struct approver_reqs areqs = {0};
    struct ciba_pending apending[APPROVERS_MAX + 1];
    result r;

    memset(apending, 0, sizeof(apending));
    memset(rep, 0, sizeof(*rep));
    /* The subject is built from the user name: a name that must be rewritten to be shown
     * could stand for another account. */
    if (u->user && !text_is_clean(u->user)) {
        snprintf(rep->reason, sizeof(rep->reason), "user name holds a control character or is not valid UTF-8");
        return RES_USER_UNKNOWN;
    }
    /* Nowhere to type the code: fail before the phone is asked anything. */
    if (cfg->confirm == CONFIRM_TYPE && !(ui && ui->prompt_answer)) {
        snprintf(rep->reason, sizeof(rep->reason), "confirm = \"type\" needs a conversation to type the code in");
        return RES_CONV;
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
        snprintf(rep->subject, sizeof(rep->subject), "%s", subject);
    if (r == RES_OK)
        r = login_hint_build(cfg->login_hint_format, cfg->issuer, subject, &hint);
    if (r == RES_OK)
        r = binding_fit(cfg->binding_message, &vars, &cfg->binding_limits, rep->binding_message);
    /* A template whose literal text fills the 64 characters cuts the code off the end:
     * nobody could type it, so say so instead of sending the request. */
    if (r == RES_OK && cfg->confirm == CONFIRM_TYPE && !strstr(rep->binding_message, code)) {
        snprintf(rep->reason, sizeof(rep->reason), "binding_message is too long: the code (%%c) was cut off");
        r = RES_CONFIG;
        goto out;
    }
    /* Expanded on the parsed JSON tree: login facts can never change its structure. */
    if (r == RES_OK && cfg->authorization_details)
        r = authz_details_expand(cfg->authorization_details, &vars, &details);
    if (r == RES_OK && u->n_approvers > 0) {
        r = approvers_prepare(cfg, u, &vars, subject, env->log, &areqs);
        if (r == RES_OK && areqs.n == 0) {
            snprintf(rep->reason, sizeof(rep->reason),
                     "two-person: no approver other than the requester (approvers asked: none)");
            r = RES_NO_APPROVER;
            goto out;
        }
    }
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

        if (cfg->confirm == CONFIRM_TYPE) {
            /* The log must not give the code to whoever can read it and the terminal. */
            char masked[sizeof(rep->binding_message)];
            confirm_mask(rep->binding_message, code, masked, sizeof(masked));
            log_msg(env->log, LOG_DEBUG, "login_hint=%s binding_message=\"%s\" (code hidden: confirm = type)", hint,
                    masked);
        } else {
            log_msg(env->log, LOG_DEBUG, "login_hint=%s binding_message=\"%s\"", hint, rep->binding_message);
        }
        rep->request_sent = true;
        r = ciba_start(&c, &req, &pending, rep->reason, sizeof(rep->reason));
        if (r != RES_OK) {
            rep->unreachable = provider_unreachable(r, pending.bc_status);
            if (r == RES_PROVIDER_LIMIT)
                tell_limit(ui, pending.limit_wait);
            goto out;
        }
        approval_request_hash(pending.auth_req_id, rep->request);
        rep->requests_sent = 1;
        if (areqs.n > 0) {
            /* The approvers are asked at once: both approvals run in parallel. */
            struct ciba_request areq = req;
            char why[320], safe[128];
            size_t accepted = 0;
            areq.binding_message = areqs.message;
            areq.user_code = NULL; /* the user's secret is for the user's own request */
            log_msg(env->log, LOG_DEBUG, "two-person: approver binding_message=\"%s\"", areqs.message);
            for (size_t i = 0; i < areqs.n; i++) {
                areq.login_hint = areqs.hint[i];
                rep->requests_sent++;
                if (ciba_start(&c, &areq, &apending[i + 1], why, sizeof(why)) == RES_OK) {
                    accepted++;
                    continue;
                }
                log_escape(areqs.who[i]->name, safe, sizeof(safe));
                log_msg(env->log, LOG_WARNING, "two-person: request for approver %s failed: %s", safe, why);
                ciba_pending_clear(&apending[i + 1]);
            }
            if (accepted == 0) {
                snprintf(rep->reason, sizeof(rep->reason), "two-person: no approver's request was accepted");
                r = RES_NO_APPROVER;
                goto out;
            }
        }
        {
            /* %e: what is left of the request's lifetime, bounded by max_wait. */
            double left = deadline - clk->now(clk->ctx);
            long expires = pending.expires_in > 0 && pending.expires_in < left ? pending.expires_in : (long)left;
            if (cfg->confirm == CONFIRM_TYPE) {
                /* The terminal shows the binding message with the code masked: the person
                 * at the terminal must learn the code from the phone, or not at all. */
                char masked[sizeof(rep->binding_message)], stars[sizeof(code)];
                struct template_vars shown = vars;
                confirm_mask(rep->binding_message, code, masked, sizeof(masked));
                confirm_mask(code, code, stars, sizeof(stars));
                shown.code = stars;
                r = message_build(cfg->message ? cfg->message : MESSAGE_DEFAULT, &shown, masked, expires, text,
                                  sizeof(text));
            } else {
                r = message_build(cfg->message ? cfg->message : MESSAGE_DEFAULT, &vars, rep->binding_message,
                                  expires, text, sizeof(text));
            }
        }
        if (r == RES_OK && areqs.n > 0 && ui && ui->info)
            (void)ui->info(ui->ctx, "This also needs an approver's approval: they have been asked.");
        if (r == RES_OK && cfg->confirm == CONFIRM_TYPE) {
            r = ask_typed_code(ui, text, code, clk, deadline, rep);
            if (r != RES_OK)
                goto out;
        } else {
            if (r == RES_OK)
                r = tell_user(cfg, ui, u, text, env->log);
            if (r != RES_OK) {
                snprintf(rep->reason, sizeof(rep->reason), "conversation failed while showing the message");
                goto out;
            }
        }
        expect = (struct idtoken_expect){cfg->issuer, cfg->client_id, subject, clk->wall(clk->ctx),
                                         cfg->clock_skew, cfg->login_hint_format == HINT_EMAIL ? subject : NULL,
                                         sent, (const char *const *)cfg->require_acr,
                                         (const char *const *)cfg->require_amr};
        if (areqs.n > 0) {
            bool active[APPROVERS_MAX + 1];
            const char *subjects[APPROVERS_MAX + 1];
            apending[0] = pending;
            active[0] = true;
            subjects[0] = subject;
            for (size_t i = 0; i < areqs.n; i++) {
                active[i + 1] = apending[i + 1].auth_req_id != NULL;
                subjects[i + 1] = areqs.subject[i];
            }
            r = two_person_wait(&c, apending, active, areqs.n + 1, deadline, &verifier, expect, subjects, &areqs,
                                env->clock == NULL && !env->threaded_host, rep);
            pending = apending[0]; /* cleared once, below */
            memset(&apending[0], 0, sizeof(apending[0]));
            goto out;
        }
        r = wait_for_answer(&c, &pending, deadline, &tokens, env->clock == NULL && !env->threaded_host, rep);
        if (r == RES_PROVIDER_LIMIT)
            tell_limit(ui, pending.limit_wait);
        if (r != RES_OK)
            goto out;
        expect.now = clk->wall(clk->ctx); /* the token is checked against the time it arrived */
        r = idtoken_verify(tokens.id_token, &verifier, &expect, rep->reason, sizeof(rep->reason));
        if (r == RES_OK)
            snprintf(rep->reason, sizeof(rep->reason), "id_token verified");
    }
out:
    explicit_bzero(code, sizeof(code));
    for (size_t i = 0; i < areqs.n; i++)
        ciba_pending_clear(&apending[i + 1]);
    approver_reqs_free(&areqs);
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
