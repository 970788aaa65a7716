/* CIBA poll mode (OpenID Connect CIBA Core 1.0): request, answers, and the poll loop. */
#include "ciba.h"
#include "form.h"
#include "json_util.h"
#include "wipe.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#define GRANT_TYPE_CIBA "urn:openid:params:grant-type:ciba"

static result add_client_auth(const struct ciba_client *c, struct form *f, char **authorization)
{
    return client_auth_apply(c->creds, c->clock->wall(c->clock->ctx), f, authorization);
}

static bool is_json(const struct http_response *r)
{
    size_t n = strlen("application/json");
    return strncasecmp(r->content_type, "application/json", n) == 0 &&
           (r->content_type[n] == '\0' || r->content_type[n] == ';' || r->content_type[n] == ' ');
}

/* The body as one JSON object; NULL for anything else. */
static json_object *parse_object(const struct http_response *r)
{
    return r->body ? json_parse_object(r->body, r->len) : NULL;
}

/* Copy a provider-chosen word into reason, escaping anything unprintable. */
static void reason_with(char *reason, size_t len, const char *prefix, const char *word)
{
    char safe[96];
    log_escape(word ? word : "(none)", safe, sizeof(safe));
    snprintf(reason, len, "%s%s", prefix, safe);
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* Error codes providers use for "too many requests" (Auth0's Authentication API answers
 * too_many_requests with HTTP 429; too_many_attempts is its blocked-user code). */
static bool limit_error(const char *err)
{
    return err && (strcmp(err, "too_many_requests") == 0 || strcmp(err, "too_many_attempts") == 0);
}

void ciba_limit_message(long wait, char *out, size_t len)
{
    if (wait >= 0)
        snprintf(out, len, "the provider limits requests for this user: try again in %ld s", wait < 1 ? 1 : wait);
    else
        snprintf(out, len, "the provider limits requests for this user: try again later");
}

/* reason = the user's message, then what the provider answered, for the log. */
static void limit_reason(char *reason, size_t len, long wait, const char *where, long status, const char *err)
{
    char msg[128], safe[64];
    ciba_limit_message(wait, msg, sizeof(msg));
    log_escape(err ? err : "", safe, sizeof(safe));
    snprintf(reason, len, "%s (%s: HTTP %ld%s%s)", msg, where, status, *safe ? " " : "", safe);
}

long ciba_parse_slow_down_interval(const struct http_response *resp)
{
    json_object *o = is_json(resp) ? parse_object(resp) : NULL, *v;
    long r = -1;

    if (o && json_object_object_get_ex(o, "interval", &v) && json_object_is_type(v, json_type_int) &&
        json_object_get_int64(v) >= 1)
        r = json_object_get_int64(v) > CIBA_MAX_INTERVAL ? CIBA_MAX_INTERVAL : (long)json_object_get_int64(v);
    json_object_put(o);
    return r;
}

result ciba_parse_auth_response(const struct http_response *resp, struct ciba_pending *out,
                                char *reason, size_t reasonlen)
{
    json_object *o, *v;
    const char *id;
    result r = RES_PROTOCOL;

    memset(out, 0, sizeof(*out));
    out->limit_wait = -1;
    if (resp->status >= 500) {
        snprintf(reason, reasonlen, "bc-authorize: provider answered HTTP %ld", resp->status);
        return RES_UNAVAILABLE;
    }
    o = is_json(resp) ? parse_object(resp) : NULL;
    if (resp->status != 200) {
        const char *err = o ? json_get_str(o, "error") : NULL;
        /* A limit on requests for this user (Auth0: 5 a minute): retrying would only
         * push the limit further out, and every retry that gets through is one more
         * push on the phone. End here and tell the user how long to wait. */
        if (resp->status == 429 ||
            (resp->status >= 400 && resp->status < 500 && (limit_error(err) || (err && strcmp(err, "slow_down") == 0)))) {
            out->limit_wait = resp->retry_after;
            limit_reason(reason, reasonlen, out->limit_wait, "bc-authorize", resp->status, err);
            r = RES_PROVIDER_LIMIT;
        } else if (resp->status >= 400 && resp->status < 500 && err) {
            reason_with(reason, reasonlen, "bc-authorize refused: ", err);
            r = RES_REJECTED;
        } else {
            snprintf(reason, reasonlen, "bc-authorize: unexpected HTTP %ld", resp->status);
            r = resp->status >= 400 && resp->status < 500 ? RES_REJECTED : RES_PROTOCOL;
        }
        goto out;
    }
    if (!o) {
        snprintf(reason, reasonlen, "bc-authorize: answer is not a JSON object");
        goto out;
    }
    if (json_object_object_get_ex(o, "error", NULL)) {
        reason_with(reason, reasonlen, "bc-authorize: HTTP 200 carrying error ", json_get_str(o, "error"));
        goto out;
    }
    id = json_get_str(o, "auth_req_id");
    if (!id || !*id || strlen(id) > CIBA_MAX_AUTH_REQ_ID || !printable_ascii(id)) {
        snprintf(reason, reasonlen, "bc-authorize: missing or invalid auth_req_id");
        goto out;
    }
    if (!json_object_object_get_ex(o, "expires_in", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 1) {
        snprintf(reason, reasonlen, "bc-authorize: missing or invalid expires_in");
        goto out;
    }
    /* Cap absurd values; max_wait bounds the login anyway. */
    out->expires_in = json_object_get_int64(v) > 86400 ? 86400 : (long)json_object_get_int64(v);
    out->interval = CIBA_DEFAULT_INTERVAL;
    if (json_object_object_get_ex(o, "interval", &v)) {
        if (!json_object_is_type(v, json_type_int)) {
            snprintf(reason, reasonlen, "bc-authorize: interval is not an integer");
            goto out;
        }
        /* Zero or negative cannot mean "poll flat out": keep the default. */
        if (json_object_get_int64(v) >= 1)
            out->interval = json_object_get_int64(v) > CIBA_MAX_INTERVAL ? CIBA_MAX_INTERVAL
                                                                          : (long)json_object_get_int64(v);
    }
    out->auth_req_id = strdup(id);
    r = out->auth_req_id ? RES_OK : RES_INTERNAL;
out:
    /* The parsed copy of auth_req_id must not linger either. */
    json_wipe_member(o, "auth_req_id");
    json_object_put(o);
    return r;
}

static char *take_token(json_object *o, const char *key)
{
    const char *v = json_get_str(o, key);
    char *copy;
    if (!v || !*v || strlen(v) > CIBA_MAX_TOKEN)
        return NULL;
    copy = strdup(v);
    json_wipe_member(o, key);
    return copy;
}

enum poll_answer ciba_parse_token_response(const struct http_response *resp,
                                           struct ciba_tokens *tokens, result *fail,
                                           char *reason, size_t reasonlen)
{
    json_object *o;
    const char *err;
    enum poll_answer a = POLL_FINAL;

    memset(tokens, 0, sizeof(*tokens));
    *fail = RES_PROTOCOL;
    if (resp->status >= 500) {
        snprintf(reason, reasonlen, "token endpoint answered HTTP %ld", resp->status);
        return POLL_RETRY;
    }
    o = is_json(resp) ? parse_object(resp) : NULL;
    err = o ? json_get_str(o, "error") : NULL;
    /* A per-user limit code ends the attempt; any other 429 means "poll slower". */
    if (resp->status >= 400 && resp->status < 500 && limit_error(err)) {
        *fail = RES_PROVIDER_LIMIT;
        limit_reason(reason, reasonlen, resp->retry_after, "token endpoint", resp->status, err);
        json_object_put(o);
        return POLL_FINAL;
    }
    if (resp->status == 429) {
        snprintf(reason, reasonlen, "token endpoint answered HTTP 429");
        json_object_put(o);
        return POLL_SLOW_DOWN;
    }
    if (!o) {
        snprintf(reason, reasonlen, "token endpoint: HTTP %ld with no JSON object", resp->status);
        return POLL_FINAL;
    }
    if (resp->status == 200) {
        if (json_object_object_get_ex(o, "error", NULL)) {
            reason_with(reason, reasonlen, "token endpoint: HTTP 200 carrying error ", err);
        } else {
            tokens->access_token = take_token(o, "access_token");
            tokens->id_token = take_token(o, "id_token");
            if (!tokens->id_token) {
                snprintf(reason, reasonlen, "token response without a usable id_token");
                *fail = RES_INVALID_TOKEN;
                ciba_tokens_clear(tokens);
            } else {
                a = POLL_TOKENS;
            }
        }
    } else if (resp->status >= 400 && resp->status < 500 && err) {
        if (strcmp(err, "authorization_pending") == 0) {
            a = POLL_PENDING;
        } else if (strcmp(err, "slow_down") == 0) {
            a = POLL_SLOW_DOWN;
        } else if (strcmp(err, "access_denied") == 0) {
            *fail = RES_DENIED;
            snprintf(reason, reasonlen, "access_denied");
        } else if (strcmp(err, "expired_token") == 0) {
            *fail = RES_EXPIRED;
            snprintf(reason, reasonlen, "expired_token");
        } else {
            *fail = RES_REJECTED;
            reason_with(reason, reasonlen, "token endpoint refused: ", err);
        }
    } else {
        snprintf(reason, reasonlen, "token endpoint: unexpected HTTP %ld", resp->status);
    }
    /* Wipe json-c's copies of the tokens before freeing. */
    json_wipe_member(o, "access_token");
    json_wipe_member(o, "id_token");
    json_wipe_member(o, "refresh_token");
    json_object_put(o);
    return a;
}

result ciba_start(const struct ciba_client *c, const struct ciba_request *req,
                  struct ciba_pending *out, char *reason, size_t reasonlen)
{
    struct form f;
    struct http_response resp = {0};
    char *authorization = NULL;
    char expiry[16];
    result r;

    memset(out, 0, sizeof(*out));
    out->limit_wait = -1;
    form_init(&f);
    r = add_client_auth(c, &f, &authorization);
    if (r != RES_OK) {
        snprintf(reason, reasonlen, "cannot build client authentication");
        goto out;
    }
    form_add(&f, "scope", req->scope);
    form_add(&f, "login_hint", req->login_hint);
    form_add(&f, "binding_message", req->binding_message);
    form_add(&f, "audience", req->audience);
    form_add(&f, "resource", req->resource);
    if (req->requested_expiry > 0) {
        snprintf(expiry, sizeof(expiry), "%d", req->requested_expiry);
        form_add(&f, "requested_expiry", expiry);
    }
    form_add(&f, "authorization_details", req->authorization_details);
    form_add(&f, "acr_values", req->acr_values);
    form_add(&f, "user_code", req->user_code);
    if (!form_body(&f)) {
        r = RES_INTERNAL;
        snprintf(reason, reasonlen, "out of memory");
        goto out;
    }
    log_msg(c->log, LOG_DEBUG, "bc-authorize: POST %s", c->bc_endpoint);
    r = c->transport->post(c->transport->ctx, c->bc_endpoint, form_body(&f), authorization, &resp,
                           reason, reasonlen);
    if (r != RES_OK) {
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%s", reason);
        snprintf(reason, reasonlen, "bc-authorize: %s", tmp);
        goto out;
    }
    r = ciba_parse_auth_response(&resp, out, reason, reasonlen);
    out->bc_status = resp.status;
    if (r == RES_OK) {
        out->accepted_at = out->last_poll = c->clock->now(c->clock->ctx);
        log_msg(c->log, LOG_DEBUG, "bc-authorize: accepted, expires_in=%ld interval=%ld",
                out->expires_in, out->interval);
    }
out:
    http_response_clear(&resp);
    form_free(&f);
    wipe_free_str(authorization);
    return r;
}

/* One token request. */
static enum poll_answer poll_once(const struct ciba_client *c, const struct ciba_pending *p,
                                  struct ciba_tokens *tokens, long *retry_after, long *asked_interval,
                                  result *fail, char *reason, size_t reasonlen)
{
    struct form f;
    struct http_response resp = {0};
    char *authorization = NULL;
    enum poll_answer a = POLL_FINAL;
    result r;

    *fail = RES_INTERNAL;
    *retry_after = -1;
    *asked_interval = -1;
    form_init(&f);
    if (add_client_auth(c, &f, &authorization) != RES_OK)
        goto out;
    form_add(&f, "grant_type", GRANT_TYPE_CIBA);
    form_add(&f, "auth_req_id", p->auth_req_id);
    if (!form_body(&f))
        goto out;
    r = c->transport->post(c->transport->ctx, c->token_endpoint, form_body(&f), authorization,
                           &resp, reason, reasonlen);
    if (r == RES_UNAVAILABLE) {
        a = POLL_RETRY; /* a network blip while polling must not end the login */
    } else if (r != RES_OK) {
        *fail = r;
    } else {
        a = ciba_parse_token_response(&resp, tokens, fail, reason, reasonlen);
        *retry_after = resp.retry_after;
        if (a == POLL_SLOW_DOWN)
            *asked_interval = ciba_parse_slow_down_interval(&resp);
    }
out:
    http_response_clear(&resp);
    form_free(&f);
    wipe_free_str(authorization);
    return a;
}

result ciba_poll_any(const struct ciba_client *c, struct ciba_pending *p, const bool *active, size_t n,
                     double deadline, int *which, struct ciba_tokens *tokens, char *reason, size_t reasonlen)
{
    const struct clock *clk = c->clock;

    memset(tokens, 0, sizeof(*tokens));
    *which = -1;
    for (;;) {
        double now = clk->now(clk->ctx), at = 0, end = 0, expiry = 0;
        bool poll = false;
        int i = -1;
        enum poll_answer a;
        long retry_after, asked_interval;
        result fail;

        /* The earliest event: a request's next poll, or its end when no poll fits before it. */
        for (size_t k = 0; k < n; k++) {
            double ex = p[k].accepted_at + (double)p[k].expires_in;
            double en = deadline < ex ? deadline : ex;
            double next = p[k].last_poll + (double)p[k].interval + p[k].wait_extra;
            double t = next > en ? en : next;
            if (!active[k] || (i >= 0 && t >= at))
                continue;
            i = (int)k;
            at = t;
            end = en;
            expiry = ex;
            poll = next <= en;
        }
        if (i < 0) {
            snprintf(reason, reasonlen, "no pending request to poll");
            return RES_INTERNAL;
        }
        if (at > now && clk->sleep(clk->ctx, at - now) != 0) {
            snprintf(reason, reasonlen, "wait interrupted");
            return RES_INTERRUPTED;
        }
        *which = i;
        if (!poll) {
            const char *le = p[i].last_error;
            if (end >= expiry) {
                snprintf(reason, reasonlen, "request expired (expires_in=%lds)%s%s", p[i].expires_in,
                         *le ? "; last error: " : "", le);
                return RES_EXPIRED;
            }
            snprintf(reason, reasonlen, "no approval within max_wait%s%s", *le ? "; last error: " : "", le);
            return RES_TIMEOUT;
        }
        p[i].wait_extra = 0;
        a = poll_once(c, &p[i], tokens, &retry_after, &asked_interval, &fail, reason, reasonlen);
        p[i].last_poll = clk->now(clk->ctx);
        switch (a) {
        case POLL_TOKENS:
            return RES_OK;
        case POLL_PENDING:
            log_msg(c->log, LOG_DEBUG, "token: authorization_pending");
            break;
        case POLL_SLOW_DOWN: {
            /* CIBA 7.3 / RFC 8628 3.5: at least 5 s more, for this and every later poll;
             * a new interval the provider sends (Auth0 does) wins when it is longer. */
            long asked;
            p[i].interval = p[i].interval + CIBA_SLOW_DOWN_STEP > CIBA_MAX_INTERVAL ? CIBA_MAX_INTERVAL
                                                                                 : p[i].interval + CIBA_SLOW_DOWN_STEP;
            if (asked_interval > p[i].interval)
                p[i].interval = asked_interval;
            /* Retry-After holds off the next poll only. */
            if (retry_after > p[i].interval)
                p[i].wait_extra = (double)retry_after - (double)p[i].interval;
            asked = retry_after > asked_interval ? retry_after : asked_interval;
            log_msg(c->log, LOG_DEBUG, "token: slow down, interval now %lds%s", p[i].interval,
                    retry_after >= 0 ? " (Retry-After)" : "");
            /* The provider itself asked for a wait that ends after this login or this
             * request: no poll can come in time, so end now and say how long to wait.
             * (When only our own 5 s step overshoots, the wait runs out as usual.) */
            if (asked >= 0 && p[i].last_poll + (double)asked > end) {
                char msg[128];
                p[i].limit_wait = asked;
                ciba_limit_message(asked, msg, sizeof(msg));
                snprintf(reason, reasonlen, "%s (token endpoint asked for a %ld s wait; %.0f s left)", msg, asked,
                         end > p[i].last_poll ? end - p[i].last_poll : 0.0);
                return RES_PROVIDER_LIMIT;
            }
            break;
        }
        case POLL_RETRY:
            snprintf(p[i].last_error, sizeof(p[i].last_error), "%s", reason);
            log_msg(c->log, LOG_INFO, "token: transient error, will retry: %s", reason);
            break;
        case POLL_FINAL:
            if (fail == RES_PROVIDER_LIMIT)
                p[i].limit_wait = retry_after;
            return fail;
        }
    }
}

result ciba_poll(const struct ciba_client *c, struct ciba_pending *p, double deadline,
                 struct ciba_tokens *tokens, char *reason, size_t reasonlen)
{
    const bool active = true;
    int which;

    return ciba_poll_any(c, p, &active, 1, deadline, &which, tokens, reason, reasonlen);
}

void ciba_pending_clear(struct ciba_pending *p)
{
    wipe_free_str(p->auth_req_id);
    memset(p, 0, sizeof(*p));
}

void ciba_tokens_clear(struct ciba_tokens *t)
{
    wipe_free_str(t->id_token);
    wipe_free_str(t->access_token);
    memset(t, 0, sizeof(*t));
}
