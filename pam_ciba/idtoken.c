/* Parses a compact JWS ID token and checks its header and claims; signatures via a verifier. */
#include "idtoken.h"
#include "base64url.h"
#include "json_util.h"
#include "logger.h"
#include "wipe.h"

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *decode_object(const char *part, size_t len)
{
    size_t n = 0;
    unsigned char *raw = base64url_decode(part, len, &n);
    json_object *o = raw ? json_parse_object((const char *)raw, n) : NULL;

    wipe_free(raw, n);
    return o;
}

/* NumericDate: an integer or a finite number of seconds. */
static bool time_claim(json_object *o, const char *key, double *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return false;
    if (json_object_is_type(v, json_type_int))
        *out = (double)json_object_get_int64(v);
    else if (json_object_is_type(v, json_type_double))
        *out = json_object_get_double(v);
    else
        return false;
    return isfinite(*out);
}

static result check_audience(json_object *payload, const char *client_id, char *reason, size_t len)
{
    json_object *aud;
    const char *azp = json_get_str(payload, "azp");
    bool found = false;
    size_t count = 0;

    if (!json_object_object_get_ex(payload, "aud", &aud)) {
        snprintf(reason, len, "id_token: no aud");
        return RES_INVALID_TOKEN;
    }
    if (json_object_is_type(aud, json_type_string)) {
        found = json_str(aud) && strcmp(json_str(aud), client_id) == 0;
        count = 1;
    } else if (json_object_is_type(aud, json_type_array)) {
        count = json_object_array_length(aud);
        for (size_t i = 0; i < count; i++) {
            const char *a = json_str(json_object_array_get_idx(aud, i));
            if (!a) {
                snprintf(reason, len, "id_token: aud holds a non-string");
                return RES_INVALID_TOKEN;
            }
            if (strcmp(a, client_id) == 0)
                found = true;
        }
    }
    if (!found) {
        snprintf(reason, len, "id_token: aud does not contain our client_id");
        return RES_INVALID_TOKEN;
    }
    /* A present azp must be a clean string equal to our client_id. */
    if ((count > 1 && !azp) || (azp && strcmp(azp, client_id) != 0) ||
        (!azp && json_object_object_get_ex(payload, "azp", NULL))) {
        snprintf(reason, len, "id_token: azp missing or not our client_id");
        return RES_INVALID_TOKEN;
    }
    return RES_OK;
}

static result check_header(json_object *h, const struct jws_verifier *verifier, const char **alg,
                           const char **kid, char *reason, size_t len)
{
    *alg = json_get_str(h, "alg");
    *kid = json_get_str(h, "kid");
    if (!*alg || !**alg || strcmp(*alg, "none") == 0) {
        snprintf(reason, len, "id_token: unsigned or missing alg");
        return RES_INVALID_TOKEN;
    }
    if (json_object_object_get_ex(h, "crit", NULL)) {
        snprintf(reason, len, "id_token: critical header extensions are not supported");
        return RES_INVALID_TOKEN;
    }
    (void)verifier;
    return RES_OK;
}

static bool verified_email_matches(json_object *p, const char *want)
{
    const char *email = json_get_str(p, "email");
    json_object *v;
    return want && email && strcmp(email, want) == 0 && json_object_object_get_ex(p, "email_verified", &v) &&
           json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static result check_claims(json_object *p, const struct idtoken_expect *e, char *reason, size_t len)
{
    const char *iss = json_get_str(p, "iss"), *sub = json_get_str(p, "sub");
    double exp, iat;
    char safe[96];
    result r;

    if (!iss || strcmp(iss, e->issuer) != 0) {
        log_escape(iss ? iss : "(none)", safe, sizeof(safe));
        snprintf(reason, len, "id_token: iss \"%s\" is not the configured issuer", safe);
        return RES_INVALID_TOKEN;
    }
    r = check_audience(p, e->client_id, reason, len);
    if (r != RES_OK)
        return r;
    if (!time_claim(p, "exp", &exp) || exp <= (double)e->now - (double)e->leeway) {
        snprintf(reason, len, "id_token: expired or no exp");
        return RES_INVALID_TOKEN;
    }
    if (!time_claim(p, "iat", &iat) || iat > (double)e->now + (double)e->leeway) {
        snprintf(reason, len, "id_token: iat missing or in the future");
        return RES_INVALID_TOKEN;
    }
    if (e->not_before && iat < (double)e->not_before - (double)e->leeway) {
        snprintf(reason, len, "id_token: iat %.0f is before the request was sent (%lld, clock_skew %ld s)", iat,
                 (long long)e->not_before, e->leeway);
        return RES_INVALID_TOKEN;
    }
    if ((!sub || strcmp(sub, e->subject) != 0) && !verified_email_matches(p, e->email)) {
        log_escape(sub ? sub : "(none)", safe, sizeof(safe));
        snprintf(reason, len, "id_token: sub \"%s\" is not the expected subject", safe);
        return RES_INVALID_TOKEN;
    }
    return RES_OK;
}

static bool listed(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* The names a list holds, "a", "b", for a reason line (cut to fit). */
static void list_text(const char *const *list, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; list[i] && used < len; i++) {
        char safe[96];
        int n;
        log_escape(list[i], safe, sizeof(safe));
        n = snprintf(out + used, len - used, "%s\"%s\"", i ? ", " : "", safe);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* require_acr / require_amr, after every other check passed: only a token that really
 * came from the provider for this login can fail here, so its outcome says "the provider
 * did not do the authentication we asked for", not "a bad token". Values are compared
 * exactly (they are URIs or RFC 8176 names); a JSON string with a NUL in it never
 * matches, because json_get_str refuses it. */
static result check_strength(json_object *p, const struct idtoken_expect *e, char *reason, size_t len)
{
    char want[200], safe[96];

    if (e->require_acr && e->require_acr[0]) {
        const char *acr = json_get_str(p, "acr");
        if (!acr || !listed(e->require_acr, acr)) {
            list_text(e->require_acr, want, sizeof(want));
            if (acr)
                log_escape(acr, safe, sizeof(safe));
            snprintf(reason, len, "id_token: acr %s%s%s is not one of require_acr (%s)", acr ? "\"" : "",
                     acr ? safe : "missing (or not a plain string)", acr ? "\"" : "", want);
            return RES_AUTH_STRENGTH;
        }
    }
    if (e->require_amr && e->require_amr[0]) {
        json_object *amr;
        size_t n;
        bool found = false;
        list_text(e->require_amr, want, sizeof(want));
        if (!json_object_object_get_ex(p, "amr", &amr)) {
            snprintf(reason, len, "id_token: amr missing; require_amr asks for one of %s", want);
            return RES_AUTH_STRENGTH;
        }
        if (!json_object_is_type(amr, json_type_array)) {
            snprintf(reason, len, "id_token: amr is not an array of strings; require_amr asks for one of %s", want);
            return RES_AUTH_STRENGTH;
        }
        n = json_object_array_length(amr);
        for (size_t i = 0; i < n; i++) {
            const char *m = json_str(json_object_array_get_idx(amr, i));
            if (!m) {
                snprintf(reason, len, "id_token: amr holds a non-string; require_amr asks for one of %s", want);
                return RES_AUTH_STRENGTH;
            }
            if (listed(e->require_amr, m))
                found = true;
        }
        if (!found) {
            snprintf(reason, len, "id_token: amr has none of require_amr (%s)", want);
            return RES_AUTH_STRENGTH;
        }
    }
    return RES_OK;
}

result idtoken_verify(const char *jwt, const struct jws_verifier *verifier,
                      const struct idtoken_expect *expect, char *reason, size_t reasonlen)
{
    const char *dot1, *dot2, *alg, *kid;
    json_object *header = NULL, *payload = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0, jlen;
    result r = RES_INVALID_TOKEN;

    if (!jwt || (jlen = strlen(jwt)) == 0 || jlen > IDTOKEN_MAX_LEN) {
        snprintf(reason, reasonlen, "id_token: missing or too long");
        return RES_INVALID_TOKEN;
    }
    dot1 = strchr(jwt, '.');
    dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) {
        snprintf(reason, reasonlen, "id_token: not a compact JWS");
        return RES_INVALID_TOKEN;
    }
    header = decode_object(jwt, (size_t)(dot1 - jwt));
    payload = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    sig = base64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    if (!header || !payload || !sig || siglen == 0) {
        snprintf(reason, reasonlen, "id_token: malformed header, payload or signature");
        goto out;
    }
    r = check_header(header, verifier, &alg, &kid, reason, reasonlen);
    if (r != RES_OK)
        goto out;
    if (verifier) {
        r = verifier->verify(verifier->ctx, alg, kid, (const unsigned char *)jwt, (size_t)(dot2 - jwt),
                             sig, siglen, reason, reasonlen);
        if (r != RES_OK) {
            r = RES_INVALID_TOKEN;
            goto out;
        }
    }
    r = check_claims(payload, expect, reason, reasonlen);
    if (r == RES_OK)
        r = check_strength(payload, expect, reason, reasonlen);
out:
    json_object_put(header);
    json_object_put(payload);
    free(sig);
    return r;
}
