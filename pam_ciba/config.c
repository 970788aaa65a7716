/* Loads /etc/security/pam_ciba.conf: safe open, size cap, strict keys, validation. */
#include "config.h"
#include "authz_details.h"
#include "confirm.h"
#include "json_util.h"
#include "message.h"
#include "policy.h"
#include "config_secret.h"
#include "safe_file.h"
#include "template.h"
#include "text.h"
#include "wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libconfig.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type { KEY_STRING, KEY_INT, KEY_ENUM, KEY_BOOL, KEY_LIST, KEY_RULES };

struct key_spec {
    const char *name;
    enum key_type type;
    size_t offset;              /* into struct config */
    long min, max;              /* KEY_INT range */
    const char *const *choices; /* KEY_ENUM names, index = value */
};

static const char *const client_auth_names[] = {"client_secret_post", "client_secret_basic",
                                                "private_key_jwt", "tls_client_auth", NULL};
static const char *const hint_format_names[] = {"iss_sub", "plain", "email", NULL};
static const char *const prompt_names[] = {"auto", "enter", "none", NULL};
static const char *const unmapped_names[] = {"deny", "ignore", NULL};
static const char *const tls_min_names[] = {"1.2", "1.3", NULL};
static const char *const failmode_names[] = {"secure", "safe", NULL};
static const char *const reuse_scope_names[] = {"session", "command", NULL};
static const char *const confirm_names[] = {"compare", "type", NULL};
static const char *const breakglass_names[] = {"off", "unreachable", "always", NULL};

#define STR(k, f) {k, KEY_STRING, offsetof(struct config, f), 0, 0, NULL}
#define INT(k, f, lo, hi) {k, KEY_INT, offsetof(struct config, f), lo, hi, NULL}
#define ENUM(k, f, names) {k, KEY_ENUM, offsetof(struct config, f), 0, 0, names}
#define BOOL(k, f) {k, KEY_BOOL, offsetof(struct config, f), 0, 1, NULL}
#define LIST(k, f) {k, KEY_LIST, offsetof(struct config, f), 0, 0, NULL}
#define RULES(k, f) {k, KEY_RULES, offsetof(struct config, f), 0, 0, NULL}

/* The config contract: every accepted key. Anything else is an error. */
static const struct key_spec keys[] = {
    STR("issuer", issuer),
    STR("backchannel_authentication_endpoint", bc_endpoint),
    STR("token_endpoint", token_endpoint),
    STR("client_id", client_id),
    STR("client_secret", client_secret),
    STR("client_secret_file", client_secret_file),
    ENUM("client_auth", client_auth, client_auth_names),
    STR("scope", scope),
    STR("audience", audience),
    STR("resource", resource),
    INT("requested_expiry", requested_expiry, 1, 300),
    STR("authorization_details", authorization_details),
    ENUM("login_hint_format", login_hint_format, hint_format_names),
    STR("subject", subject),
    STR("binding_message", binding_message),
    ENUM("prompt", prompt, prompt_names),
    STR("ca_file", ca_file),
    INT("connect_timeout", connect_timeout, 1, 60),
    INT("request_timeout", request_timeout, 1, 120),
    INT("max_wait", max_wait, 5, 3600),
    BOOL("discovery", discovery),
    STR("jwks_uri", jwks_uri),
    STR("cache_dir", cache_dir),
    INT("cache_ttl", cache_ttl, 0, 604800),
    LIST("id_token_algs", id_token_algs),
    STR("id_token_signed_response_alg", id_token_signed_response_alg),
    INT("clock_skew", clock_skew, 0, 600),
    STR("private_key_file", private_key_file),
    STR("key_id", key_id),
    STR("tls_client_cert", tls_client_cert),
    STR("tls_client_key", tls_client_key),
    STR("acr_values", acr_values),
    BOOL("user_code", user_code),
    /* Policy, identity mapping, reuse, terminal text, network (issue 8). */
    STR("subject_map_file", subject_map_file),
    ENUM("unmapped", unmapped, unmapped_names),
    LIST("groups", groups),
    LIST("exempt_users", exempt_users),
    LIST("exempt_rhosts", exempt_rhosts),
    LIST("services", services),
    BOOL("require_tty", require_tty),
    INT("reuse_window", reuse_window, 0, 3600),
    STR("reuse_dir", reuse_dir),
    ENUM("reuse_scope", reuse_scope, reuse_scope_names),
    STR("message", message),
    STR("http_proxy", http_proxy),
    STR("https_proxy", https_proxy),
    STR("no_proxy", no_proxy),
    BOOL("proxy_from_env", proxy_from_env),
    STR("ca_path", ca_path),
    ENUM("tls_min_version", tls_min_version, tls_min_names),
    STR("pinned_public_key", pinned_public_key),
    ENUM("failmode", failmode, failmode_names),
    /* The provider's binding_message limits (issue 13 item 5). */
    ENUM("binding_message_profile", binding_message_profile, binding_preset_names),
    INT("binding_message_max", binding_message_max, 1, BINDING_MESSAGE_MAX),
    STR("binding_message_charset", binding_message_charset),
    /* Typed code (issue 12, item 1). */
    ENUM("confirm", confirm, confirm_names),
    /* Break-glass codes (issue 14 item 1). */
    ENUM("breakglass", breakglass, breakglass_names),
    STR("breakglass_dir", breakglass_dir),
    /* Operations (issue 14 item 3). */
    STR("metrics_file", metrics_file),
    /* Authentication strength (issue 14 item 4). */
    LIST("require_acr", require_acr),
    LIST("require_amr", require_amr),
    /* sudo command policy and two-person approval (issue 13). */
    RULES("command_rules", command_rules),
    LIST("two_person_groups", two_person_groups),
    LIST("two_person_services", two_person_services),
    LIST("approvers", approvers),
    STR("approver_binding_message", approver_binding_message),
    /* Request limits and lockout (issue 12 item 2). */
    INT("max_requests", max_requests, 0, 100),
    INT("request_window", request_window, 1, 86400),
    INT("max_denials", max_denials, 0, 100),
    INT("lockout_time", lockout_time, 1, 86400),
};

/* JWS algorithms the module can verify; "none" and unknown names are refused. */
static const char *const known_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                         "ES256", "ES384", "EdDSA", "Ed25519", "HS256", NULL};
static const char *const default_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                           "ES256", "ES384", "EdDSA", "Ed25519", NULL};

static const struct key_spec *find_key(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->client_auth = CLIENT_AUTH_SECRET_POST;
    cfg->login_hint_format = HINT_ISS_SUB;
    cfg->prompt = PROMPT_AUTO;
    cfg->connect_timeout = 5;
    cfg->request_timeout = 10;
    cfg->max_wait = 110;
    cfg->failmode = FAILMODE_SECURE;
    cfg->reuse_scope = REUSE_SCOPE_SESSION;
    cfg->discovery = -1;
    cfg->cache_ttl = 3600;
    cfg->clock_skew = 60;
    cfg->binding_message_profile = BINDING_PRESET_AUTH0;
    binding_profile_preset(BINDING_PRESET_AUTH0, &cfg->binding_limits);
    cfg->max_requests = 5;
    cfg->request_window = 600;
    cfg->max_denials = 3;
    cfg->lockout_time = 900;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

static char **copy_list(const char *const *src)
{
    size_t n = 0;
    char **out;
    while (src[n])
        n++;
    out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out && i < n; i++) {
        if (!(out[i] = strdup(src[i]))) {
            free_list(out);
            return NULL;
        }
    }
    return out;
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    wipe_free_str(cfg->client_secret);
    wipe_free_str(cfg->private_key_pem);
    wipe_free_str(cfg->tls_client_key_pem);
    free(cfg->ca_file_pem);
    free(cfg->tls_client_cert_pem);
    free(cfg->pin_hashes);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].type == KEY_STRING) {
            char **p = (char **)((char *)cfg + keys[i].offset);
            if (*p != cfg->client_secret)
                free(*p);
        } else if (keys[i].type == KEY_LIST) {
            free_list(*(char ***)((char *)cfg + keys[i].offset));
        }
    }
    command_rules_free(cfg->command_rules, cfg->n_command_rules);
    config_defaults(cfg);
}

/* libconfig 1.5 cannot disable @include; an include would bypass our permission checks. */
static bool has_include_directive(const char *text, int *line)
{
    int ln = 1;
    for (const char *p = text; *p; ln++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "@include", 8) == 0) {
            *line = ln;
            return true;
        }
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    return false;
}

/* Every error of one load: the first also goes to the caller's err buffer, each to the
 * optional callback. A key is reported once, so follow-on checks of a bad key stay quiet. */
struct errs {
    const char *path;
    config_t *lc;
    config_error_fn each;
    void *ctx;
    char *first;
    size_t firstlen;
    int count;
    const char *keys[64]; /* static key names already reported */
    int nkeys;
};

static void report(struct errs *e, const char *msg)
{
    if (e->count++ == 0)
        snprintf(e->first, e->firstlen, "%s", msg);
    if (e->each)
        e->each(e->ctx, msg);
}

static int line_of(const struct errs *e, const char *key)
{
    config_setting_t *s = e->lc ? config_lookup(e->lc, key) : NULL;
    return s ? (int)config_setting_source_line(s) : 0;
}

/* "path:line: key: why" ("path: key: why" for a missing key); key must be a static string (it is remembered). */
static void note(struct errs *e, const char *key, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(struct errs *e, const char *key, int line, const char *fmt, ...)
{
    char why[768], msg[1280];
    va_list ap;

    for (int i = 0; i < e->nkeys; i++)
        if (strcmp(e->keys[i], key) == 0)
            return;
    if (e->nkeys < (int)(sizeof(e->keys) / sizeof(e->keys[0])))
        e->keys[e->nkeys++] = key;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(msg, sizeof(msg), "%s:%d: %s: %s", e->path, line, key, why);
    else /* a missing key has no line */
        snprintf(msg, sizeof(msg), "%s: %s: %s", e->path, key, why);
    report(e, msg);
}

/* A list element compared exactly (a name, an acr value): 1..256 bytes, no blank or
 * control character, since one would be a typo that never matches. */
static bool list_word_ok(const char *v)
{
    bool ok = *v && strlen(v) <= 256;
    for (const char *q = v; ok && *q; q++)
        ok = (unsigned char)*q > 0x20 && *q != 0x7f;
    return ok;
}

/* A check on a key after every key was read: the line is where the key is, or 0. */
#define FAIL(key, ...) note(e, key, line_of(e, key), __VA_ARGS__)

/* A string or a list of strings in a rule, each a valid pattern; NULL-terminated copy. */
static result rule_patterns(config_setting_t *s, const char *field, bool is_command, char ***out, struct errs *e)
{
    int type = config_setting_type(s), n = type == CONFIG_TYPE_STRING ? 1 : config_setting_length(s);
    int line = (int)config_setting_source_line(s);
    char why[160];

    if ((type != CONFIG_TYPE_STRING && type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) || n < 1 || n > 64) {
        note(e, "command_rules", line, "%s must be a string or a non-empty list of strings", field);
        return RES_CONFIG;
    }
    if (!(*out = calloc((size_t)n + 1, sizeof(char *))))
        return RES_INTERNAL;
    for (int i = 0; i < n; i++) {
        const char *v = type == CONFIG_TYPE_STRING ? config_setting_get_string(s) : config_setting_get_string_elem(s, i);
        if (!v || !command_pattern_valid(v, is_command, why, sizeof(why))) {
            note(e, "command_rules", line, "%s: %s", field, v ? why : "must be a string");
            return RES_CONFIG;
        }
        if (!((*out)[i] = strdup(v)))
            return RES_INTERNAL;
    }
    return RES_OK;
}

/* command_rules = ( { command = "apt*"; args = "..."; target = "root"; action = "never_reuse"; }, ... ) */
static result set_command_rules(struct config *cfg, config_setting_t *s, struct errs *e)
{
    int n = config_setting_length(s), line = (int)config_setting_source_line(s);
    result r = RES_OK;

    if (config_setting_type(s) != CONFIG_TYPE_LIST || n < 1 || n > COMMAND_RULES_MAX) {
        note(e, "command_rules", line, "must be a list of 1 to %d groups: ( { command = \"...\"; action = \"...\"; } )",
             COMMAND_RULES_MAX);
        return RES_CONFIG;
    }
    command_rules_free(cfg->command_rules, cfg->n_command_rules);
    cfg->n_command_rules = 0;
    if (!(cfg->command_rules = calloc((size_t)n, sizeof(struct command_rule))))
        return RES_INTERNAL;
    cfg->n_command_rules = (size_t)n;
    for (int i = 0; i < n && r != RES_INTERNAL; i++) {
        config_setting_t *g = config_setting_get_elem(s, (unsigned)i), *f;
        struct command_rule *rule = &cfg->command_rules[i];
        const char *action = NULL;
        result fr;

        line = (int)config_setting_source_line(g);
        rule->line = line;
        rule->action = -1;
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            note(e, "command_rules", line, "rule %d must be a group { ... }", i + 1);
            r = RES_CONFIG;
            continue;
        }
        for (int k = 0; k < config_setting_length(g); k++) {
            const char *name = config_setting_name(config_setting_get_elem(g, (unsigned)k));
            if (!name || (strcmp(name, "command") && strcmp(name, "args") && strcmp(name, "target") &&
                          strcmp(name, "action"))) {
                note(e, "command_rules", line, "rule %d: unknown field \"%.64s\" (command, args, target, action)", i + 1,
                     name ? name : "?");
                r = RES_CONFIG;
            }
        }
        if (!(f = config_setting_get_member(g, "command"))) {
            note(e, "command_rules", line, "rule %d: command is required (\"*\" matches every command)", i + 1);
            r = RES_CONFIG;
        } else if ((fr = rule_patterns(f, "command", true, &rule->commands, e)) != RES_OK) {
            r = fr;
        }
        if ((f = config_setting_get_member(g, "target")) && (fr = rule_patterns(f, "target", false, &rule->targets, e)) != RES_OK)
            r = fr;
        if ((f = config_setting_get_member(g, "args"))) {
            const char *v = config_setting_get_string(f);
            char why[160];
            if (!v || !command_pattern_valid(v, false, why, sizeof(why))) {
                note(e, "command_rules", line, "rule %d: args: %s", i + 1, v ? why : "must be a string");
                r = RES_CONFIG;
            } else if (!(rule->args = strdup(v))) {
                r = RES_INTERNAL;
            }
        }
        if ((f = config_setting_get_member(g, "action")))
            action = config_setting_get_string(f);
        if ((rule->action = command_action_parse(action)) < 0) {
            note(e, "command_rules", line, "rule %d: action must be \"approve\", \"never_reuse\" or \"two_person\"", i + 1);
            r = RES_CONFIG;
        }
    }
    return r;
}

static result set_key(struct config *cfg, const struct key_spec *k, config_setting_t *s, struct errs *e)
{
    int line = (int)config_setting_source_line(s);
    int type = config_setting_type(s);

    switch (k->type) {
    case KEY_STRING: {
        const char *v = config_setting_get_string(s);
        char **dst = (char **)((char *)cfg + k->offset);
        if (type != CONFIG_TYPE_STRING || !v) {
            note(e, k->name, line, "must be a string");
            return RES_CONFIG;
        }
        free(*dst);
        *dst = strdup(v);
        return *dst ? RES_OK : RES_INTERNAL;
    }
    case KEY_INT: {
        long long v;
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
            note(e, k->name, line, "must be an integer");
            return RES_CONFIG;
        }
        v = config_setting_get_int64(s);
        if (v < k->min || v > k->max) {
            note(e, k->name, line, "%lld is out of range %ld..%ld", v, k->min, k->max);
            return RES_CONFIG;
        }
        *(int *)((char *)cfg + k->offset) = (int)v;
        return RES_OK;
    }
    case KEY_ENUM: {
        const char *v = config_setting_get_string(s);
        if (type != CONFIG_TYPE_STRING || !v) {
            note(e, k->name, line, "must be a string");
            return RES_CONFIG;
        }
        for (int i = 0; k->choices[i]; i++) {
            if (strcmp(v, k->choices[i]) == 0) {
                *(int *)((char *)cfg + k->offset) = i;
                return RES_OK;
            }
        }
        note(e, k->name, line, "unknown value \"%.64s\"", v);
        return RES_CONFIG;
    }
    case KEY_BOOL:
        if (type != CONFIG_TYPE_BOOL) {
            note(e, k->name, line, "must be true or false");
            return RES_CONFIG;
        }
        *(int *)((char *)cfg + k->offset) = config_setting_get_bool(s) ? 1 : 0;
        return RES_OK;
    case KEY_LIST: {
        char ***dst = (char ***)((char *)cfg + k->offset);
        int n = config_setting_length(s);
        if ((type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) || n < 1 || n > 64) {
            note(e, k->name, line, "must be a non-empty list of strings, e.g. [\"a\", \"b\"]");
            return RES_CONFIG;
        }
        free_list(*dst);
        *dst = calloc((size_t)n + 1, sizeof(char *));
        if (!*dst)
            return RES_INTERNAL;
        for (int i = 0; i < n; i++) {
            const char *v = config_setting_get_string_elem(s, i);
            if (!v) {
                note(e, k->name, line, "element %d is not a string", i);
                free_list(*dst);
                *dst = NULL;
                return RES_CONFIG;
            }
            if (!((*dst)[i] = strdup(v)))
                return RES_INTERNAL;
        }
        return RES_OK;
    }
    case KEY_RULES:
        return set_command_rules(cfg, s, e);
    }
    return RES_INTERNAL;
}

static bool is_https_url(const char *u)
{
    return u && strncmp(u, "https://", 8) == 0 && u[8] != '\0' && !strpbrk(u, " \t\r\n");
}

static bool scope_has_openid(const char *scope)
{
    const char *p = scope;
    while (p && *p) {
        size_t n = strcspn(p, " ");
        if (n == 6 && strncmp(p, "openid", 6) == 0)
            return true;
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

static char *join_url(const char *base, const char *suffix)
{
    size_t bl = strlen(base);
    bool slash = bl > 0 && base[bl - 1] == '/';
    char *out = malloc(bl + strlen(suffix) + 2);
    if (out)
        sprintf(out, "%s%s%s", base, slash ? "" : "/", suffix);
    return out;
}

/* The key parses and is of a type client_assert.c can sign with. */
static bool private_key_usable(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    bool ok = false;

    if (pk) {
        int id = EVP_PKEY_get_base_id(pk);
        char group[64] = "";
        size_t glen = 0;
        if (id == EVP_PKEY_RSA)
            ok = EVP_PKEY_get_bits(pk) >= 2048;
        else if (id == EVP_PKEY_ED25519)
            ok = true;
        else if (id == EVP_PKEY_EC &&
                 EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
            ok = strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0;
    }
    EVP_PKEY_free(pk);
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

static result validate_authorization_details(const char *text, char *why, size_t whylen)
{
    json_object *arr = json_parse_exact(text, strlen(text));
    result r = RES_CONFIG;

    if (!arr) {
        snprintf(why, whylen, "not valid JSON");
        goto out;
    }
    if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) {
        snprintf(why, whylen, "must be a non-empty JSON array of objects");
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i), *type;
        if (!json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, "type", &type) || !json_object_is_type(type, json_type_string)) {
            snprintf(why, whylen, "element %zu must be an object with a string \"type\"", i);
            goto out;
        }
    }
    r = RES_OK;
out:
    json_object_put(arr);
    return r;
}

/* Cross-key checks and defaults after every key was read. Only RES_INTERNAL stops early:
 * every other problem is noted and the checks go on, guarded where one depends on another. */
static result finish(struct config *cfg, struct errs *e, uid_t trusted_uid, mode_t file_mode)
{
    char detail[256];

    if (!cfg->issuer || !*cfg->issuer)
        FAIL("issuer", "required key is missing");
    else if (!is_https_url(cfg->issuer))
        FAIL("issuer", "must be an https:// URL");
    /* Discovery is on unless the admin named the endpoints; explicit keys always win. */
    if (cfg->discovery < 0)
        cfg->discovery = !(cfg->bc_endpoint || cfg->token_endpoint);
    if (!cfg->discovery && cfg->issuer) {
        if (!cfg->bc_endpoint && !(cfg->bc_endpoint = join_url(cfg->issuer, "bc-authorize")))
            return RES_INTERNAL;
        if (!cfg->token_endpoint && !(cfg->token_endpoint = join_url(cfg->issuer, "oauth/token")))
            return RES_INTERNAL;
        if (!cfg->jwks_uri && !(cfg->jwks_uri = join_url(cfg->issuer, ".well-known/jwks.json")))
            return RES_INTERNAL;
    }
    if (cfg->bc_endpoint && !is_https_url(cfg->bc_endpoint))
        FAIL("backchannel_authentication_endpoint", "must be an https:// URL");
    if (cfg->token_endpoint && !is_https_url(cfg->token_endpoint))
        FAIL("token_endpoint", "must be an https:// URL");
    if (!cfg->client_id || !*cfg->client_id)
        FAIL("client_id", "required key is missing");
    if (cfg->client_secret && cfg->client_secret_file)
        FAIL("client_secret_file", "set either client_secret or client_secret_file, not both");
    if (cfg->client_secret) {
        if (!*cfg->client_secret)
            FAIL("client_secret", "is empty");
        else if (file_mode & (S_IRGRP | S_IROTH))
            FAIL("client_secret", "the file holds a secret but is readable by group or others (fix: chmod 600 %s)",
                 e->path);
    } else if (cfg->client_secret_file) {
        char *buf = NULL;
        size_t len = 0;
        char ferr[512];
        if (safe_file_read(cfg->client_secret_file, trusted_uid, SAFE_SECRET, SECRET_MAX_FILE_SIZE, &buf, &len,
                           NULL, ferr, sizeof(ferr)) != RES_OK) {
            FAIL("client_secret_file", "%s", ferr);
        } else {
            while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
                buf[--len] = '\0';
            if (len == 0 || strpbrk(buf, "\r\n")) {
                wipe_free_str(buf);
                FAIL("client_secret_file", "%s must hold the secret on a single line", cfg->client_secret_file);
            } else {
                cfg->client_secret = buf;
            }
        }
    }
    switch (cfg->client_auth) {
    case CLIENT_AUTH_SECRET_POST:
    case CLIENT_AUTH_SECRET_BASIC:
        if (!cfg->client_secret && !cfg->client_secret_file)
            FAIL("client_secret", "required: set client_secret or client_secret_file");
        break;
    case CLIENT_AUTH_PRIVATE_KEY_JWT: {
        char ferr[512];
        if (!cfg->private_key_file)
            FAIL("private_key_file", "required for client_auth = \"private_key_jwt\"");
        else if (safe_file_read(cfg->private_key_file, trusted_uid, SAFE_SECRET, KEY_MAX_FILE_SIZE,
                                &cfg->private_key_pem, NULL, NULL, ferr, sizeof(ferr)) != RES_OK)
            FAIL("private_key_file", "%s", ferr);
        else if (!private_key_usable(cfg->private_key_pem))
            FAIL("private_key_file", "%s is not a PEM RSA (>= 2048 bits), EC P-256/P-384 or Ed25519 private key",
                 cfg->private_key_file);
        break;
    }
    case CLIENT_AUTH_TLS_CLIENT_AUTH: {
        char ferr[512];
        if (!cfg->tls_client_cert)
            FAIL("tls_client_cert", "required for client_auth = \"tls_client_auth\"");
        else if (safe_file_read(cfg->tls_client_cert, trusted_uid, 0, KEY_MAX_FILE_SIZE, &cfg->tls_client_cert_pem,
                                &cfg->tls_client_cert_len, NULL, ferr, sizeof(ferr)) != RES_OK)
            FAIL("tls_client_cert", "%s", ferr);
        if (!cfg->tls_client_key)
            FAIL("tls_client_key", "required for client_auth = \"tls_client_auth\"");
        else if (safe_file_read(cfg->tls_client_key, trusted_uid, SAFE_SECRET, KEY_MAX_FILE_SIZE,
                                &cfg->tls_client_key_pem, NULL, NULL, ferr, sizeof(ferr)) != RES_OK)
            FAIL("tls_client_key", "%s", ferr);
        break;
    }
    }
    if (cfg->id_token_signed_response_alg) {
        if (!in_list(known_algs, cfg->id_token_signed_response_alg))
            FAIL("id_token_signed_response_alg", "unsupported algorithm \"%.32s\"", cfg->id_token_signed_response_alg);
        else if (strcmp(cfg->id_token_signed_response_alg, "HS256") == 0 && !cfg->client_secret)
            FAIL("id_token_signed_response_alg", "HS256 needs client_secret as its key");
    }
    if (!cfg->id_token_algs) {
        /* A registered id_token_signed_response_alg is the only one to accept. */
        const char *const one[] = {cfg->id_token_signed_response_alg, NULL};
        cfg->id_token_algs = copy_list(cfg->id_token_signed_response_alg ? one : default_algs);
        if (!cfg->id_token_algs)
            return RES_INTERNAL;
    }
    for (size_t i = 0; cfg->id_token_algs[i]; i++) {
        const char *a = cfg->id_token_algs[i];
        if (!in_list(known_algs, a))
            FAIL("id_token_algs", "unsupported algorithm \"%.32s\" (none is never accepted)", a);
        else if (strcmp(a, "HS256") == 0 &&
                 !(cfg->id_token_signed_response_alg && strcmp(cfg->id_token_signed_response_alg, "HS256") == 0))
            FAIL("id_token_algs", "HS256 is accepted only with id_token_signed_response_alg = \"HS256\"");
    }
    if (cfg->jwks_uri && !is_https_url(cfg->jwks_uri))
        FAIL("jwks_uri", "must be an https:// URL");
    if (!cfg->cache_dir && !(cfg->cache_dir = strdup(CACHE_DEFAULT_DIR)))
        return RES_INTERNAL;
    if (cfg->cache_dir[0] != '/')
        FAIL("cache_dir", "must be an absolute path");
    if (!cfg->scope && !(cfg->scope = strdup("openid")))
        return RES_INTERNAL;
    if (!scope_has_openid(cfg->scope))
        FAIL("scope", "must contain openid");
    if (cfg->authorization_details &&
        validate_authorization_details(cfg->authorization_details, detail, sizeof(detail)) != RES_OK)
        FAIL("authorization_details", "%s", detail);
    if (!cfg->subject && !(cfg->subject = strdup("%u")))
        return RES_INTERNAL;
    if (!cfg->binding_message && !(cfg->binding_message = strdup(BINDING_MESSAGE_DEFAULT)))
        return RES_INTERNAL;
    if (template_check(cfg->subject, detail, sizeof(detail)) != RES_OK)
        FAIL("subject", "%s", detail);
    if (template_check(cfg->binding_message, detail, sizeof(detail)) != RES_OK)
        FAIL("binding_message", "%s", detail);
    if (cfg->ca_file) {
        /* Read here, from the checked descriptor: libcurl gets the bytes, never the path. */
        char ferr[512];
        if (safe_file_read(cfg->ca_file, trusted_uid, 0, CA_MAX_FILE_SIZE, &cfg->ca_file_pem, &cfg->ca_file_len, NULL,
                           ferr, sizeof(ferr)) != RES_OK)
            FAIL("ca_file", "%s", ferr);
    }
    return RES_OK;
}

static bool is_proxy_url(const char *u)
{
    return (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 ||
            strncmp(u, "socks5h://", 10) == 0) && !strpbrk(u, " \t\r\n");
}

/* "sha256//BASE64" hashes joined by ';', each a base64 SHA-256 (44 characters). */
static bool is_pin_hashes(const char *p)
{
    while (*p) {
        size_t n = strcspn(p, ";");
        if (n != 8 + 44 || strncmp(p, "sha256//", 8) != 0)
            return false;
        for (size_t i = 8; i < n; i++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", p[i]))
                return false;
        p += n;
        if (*p == ';')
            p++;
    }
    return true;
}

/* "sha256//BASE64" of the SubjectPublicKeyInfo in a PEM or DER public key file: what
 * libcurl would compute from the file, computed from bytes we read safely. */
static char *pin_of_key(const char *data, size_t len)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    const unsigned char *p = (const unsigned char *)data;
    unsigned char *der = NULL, md[32];
    unsigned char b64[45];
    char *out = NULL;
    int derlen;

    if (!pk && (pk = d2i_PUBKEY(NULL, &p, (long)len)) && p != (const unsigned char *)data + len) {
        EVP_PKEY_free(pk); /* DER followed by other bytes: not one key */
        pk = NULL;
    }
    derlen = pk ? i2d_PUBKEY(pk, &der) : -1;
    if (derlen > 0 && EVP_Digest(der, (size_t)derlen, md, NULL, EVP_sha256(), NULL) == 1 &&
        EVP_EncodeBlock(b64, md, sizeof(md)) == 44 && (out = malloc(8 + 44 + 1)))
        snprintf(out, 8 + 44 + 1, "sha256//%s", (const char *)b64);
    OPENSSL_free(der);
    EVP_PKEY_free(pk);
    BIO_free(bio);
    ERR_clear_error();
    return out;
}

/* Checks for two-person approval (issue 13): who approves, and what needs it. */
static result finish_two_person(struct config *cfg, struct errs *e)
{
    bool needed = cfg->two_person_groups || cfg->two_person_services;
    char detail[256];

    for (size_t i = 0; i < cfg->n_command_rules; i++)
        needed = needed || cfg->command_rules[i].action == CMD_TWO_PERSON;
    for (size_t i = 0; cfg->approvers && cfg->approvers[i]; i++) {
        const char *a = cfg->approvers[i];
        bool is_sub = strncmp(a, APPROVER_SUBJECT_PREFIX, strlen(APPROVER_SUBJECT_PREFIX)) == 0;
        const char *v = is_sub ? a + strlen(APPROVER_SUBJECT_PREFIX) : a;
        bool ok = *v && strlen(v) <= 256 && text_is_clean(v);
        for (const char *q = v; ok && !is_sub && *q; q++)
            ok = (unsigned char)*q > 0x20 && *q != ':';
        if (!ok)
            FAIL("approvers", "element %zu must be a user name, or \"sub:\" and a subject, without control characters",
                 i + 1);
    }
    for (size_t l = 0; l < 2; l++) {
        char **list = l ? cfg->two_person_services : cfg->two_person_groups;
        for (size_t i = 0; list && list[i]; i++)
            if (!*list[i] || strpbrk(list[i], " \t:,") || !text_is_clean(list[i]))
                FAIL(l ? "two_person_services" : "two_person_groups", "element %zu is not a name", i + 1);
    }
    if (needed && !cfg->approvers)
        FAIL("approvers", "two-person approval is configured (two_person_groups, two_person_services or a "
             "two_person command rule) but no approvers are");
    if (!cfg->approver_binding_message &&
        !(cfg->approver_binding_message = strdup(APPROVER_BINDING_MESSAGE_DEFAULT)))
        return RES_INTERNAL;
    if (template_check(cfg->approver_binding_message, detail, sizeof(detail)) != RES_OK)
        FAIL("approver_binding_message", "%s", detail);
    return RES_OK;
}

/* Checks for the policy, mapping, reuse, message and network keys. */
static result finish_policy(struct config *cfg, struct errs *e, uid_t trusted_uid)
{
    char detail[256], ferr[512];

    if (cfg->subject_map_file) {
        if (cfg->subject_map_file[0] != '/')
            FAIL("subject_map_file", "must be an absolute path");
        /* Two sources for one answer would be ambiguous: the map's "*" line is the default. */
        else if (config_lookup(e->lc, "subject"))
            FAIL("subject_map_file", "set either subject or subject_map_file (use a \"*\" line in the map "
                 "for a default), not both");
    }
    if (config_lookup(e->lc, "unmapped") && !cfg->subject_map_file)
        FAIL("unmapped", "only meaningful with subject_map_file");
    {
        static const char *const names[] = {"groups", "exempt_users", "exempt_rhosts", "services"};
        char **lists[] = {cfg->groups, cfg->exempt_users, cfg->exempt_rhosts, cfg->services};
        for (size_t l = 0; l < 4; l++) {
            for (size_t i = 0; lists[l] && lists[l][i]; i++) {
                if (!list_word_ok(lists[l][i]))
                    FAIL(names[l], "element %zu must be a non-empty name without blanks or control characters", i + 1);
            }
        }
    }
    for (size_t i = 0; cfg->groups && cfg->groups[i]; i++) {
        const char *g = cfg->groups[i] + (cfg->groups[i][0] == '!');
        if (!*g || strpbrk(g, ":,"))
            FAIL("groups", "\"%s\" is not a group name (\"name\" or \"!name\")", cfg->groups[i]);
    }
    for (size_t i = 0; cfg->exempt_rhosts && cfg->exempt_rhosts[i]; i++) {
        struct cidr c;
        if (!cidr_parse(cfg->exempt_rhosts[i], &c, detail, sizeof(detail)))
            FAIL("exempt_rhosts", "%s", detail);
    }
    if (cfg->reuse_dir && cfg->reuse_dir[0] != '/')
        FAIL("reuse_dir", "must be an absolute path");
    if (!cfg->message && !(cfg->message = strdup(MESSAGE_DEFAULT)))
        return RES_INTERNAL;
    if (message_check(cfg->message, detail, sizeof(detail)) != RES_OK)
        FAIL("message", "%s", detail);
    if (cfg->authorization_details &&
        authz_details_check(cfg->authorization_details, detail, sizeof(detail)) != RES_OK)
        FAIL("authorization_details", "%s", detail);
    if (cfg->http_proxy && !is_proxy_url(cfg->http_proxy))
        FAIL("http_proxy", "must be an http://, https:// or socks5h:// URL");
    if (cfg->https_proxy && !is_proxy_url(cfg->https_proxy))
        FAIL("https_proxy", "must be an http://, https:// or socks5h:// URL");
    if (cfg->no_proxy && (!*cfg->no_proxy || strpbrk(cfg->no_proxy, " \t\r\n")))
        FAIL("no_proxy", "must be a comma-separated list of host names or addresses, without spaces");
    /* libcurl keeps ca_path as a path (OpenSSL loads hashed names lazily): check the
     * directory and everything in it now. */
    if (cfg->ca_path && safe_ca_dir_check(cfg->ca_path, trusted_uid, ferr, sizeof(ferr)) != RES_OK)
        FAIL("ca_path", "%s", ferr);
    if (cfg->pinned_public_key) {
        const char *p = cfg->pinned_public_key;
        if (strncmp(p, "sha256//", 8) == 0) {
            if (!is_pin_hashes(p))
                FAIL("pinned_public_key", "must be \"sha256//BASE64\" hashes separated by ';', or a key file path");
            else if (!(cfg->pin_hashes = strdup(p)))
                return RES_INTERNAL;
        } else {
            /* A key file becomes its hash here, so libcurl never opens it by name. */
            char *key = NULL;
            size_t len = 0;
            if (safe_file_read(p, trusted_uid, SAFE_BINARY, KEY_MAX_FILE_SIZE, &key, &len, NULL, ferr,
                               sizeof(ferr)) != RES_OK)
                FAIL("pinned_public_key", "%s (or use sha256//BASE64)", ferr);
            else if (!(cfg->pin_hashes = pin_of_key(key, len)))
                FAIL("pinned_public_key", "%s is not a PEM or DER public key", p);
            free(key);
        }
    }
    return finish_two_person(cfg, e);
}

/* The binding message limits: a preset, refined by explicit keys; the template must fit. */
static void finish_binding(struct config *cfg, struct errs *e)
{
    struct binding_profile *p = &cfg->binding_limits;
    char why[256];

    if (cfg->binding_message_profile == BINDING_PRESET_CUSTOM &&
        (!cfg->binding_message_max || !cfg->binding_message_charset)) {
        FAIL("binding_message_profile", "\"custom\" needs binding_message_max and binding_message_charset");
        return;
    }
    binding_profile_preset((enum binding_preset)cfg->binding_message_profile, p);
    if (cfg->binding_message_max)
        p->max = (size_t)cfg->binding_message_max;
    if (cfg->binding_message_charset &&
        binding_profile_set_charset(p, cfg->binding_message_charset, why, sizeof(why)) != RES_OK) {
        FAIL("binding_message_charset", "%s", why);
        return;
    }
    /* The code must reach the phone whole: a template or set that cannot carry it is refused now. */
    if (binding_profile_check(p, cfg->binding_message, why, sizeof(why)) != RES_OK)
        FAIL(cfg->binding_message_charset && strstr(why, "character set") ? "binding_message_charset"
                                                                           : "binding_message",
             "%s", why);
}

/* confirm = "type": the code must reach the phone and must not reach the terminal. */
static result finish_confirm(struct config *cfg, struct errs *e)
{
    char detail[256];
    const char *key = NULL;

    if (cfg->confirm == CONFIRM_TYPE &&
        confirm_check_config(cfg->binding_message, cfg->message, &key, detail, sizeof(detail)) != RES_OK)
        FAIL(key, "%s", detail);
    return RES_OK;
}

/* Checks for the break-glass keys (issue 14 item 1). */
static result finish_breakglass(struct config *cfg, struct errs *e)
{
    if (cfg->breakglass_dir && cfg->breakglass_dir[0] != '/')
        FAIL("breakglass_dir", "must be an absolute path");
    return RES_OK;
}

/* Checks for the operations keys (issue 14). */
static result finish_ops(struct config *cfg, struct errs *e)
{
    if (cfg->metrics_file) {
        const char *m = cfg->metrics_file, *base = strrchr(m, '/');
        size_t n = strlen(m);
        if (m[0] != '/' || !base || !base[1] || base[1] == '.')
            FAIL("metrics_file", "must be an absolute path to a file");
        else if (n < 6 || strcmp(m + n - 5, ".prom") != 0)
            FAIL("metrics_file", "must end in \".prom\" (the textfile collector reads only those)");
        else if (strlen(base + 1) > 200 || n > 1024)
            FAIL("metrics_file", "path too long");
    }
    return RES_OK;
}

/* require_acr / require_amr (issue 14 item 4): values are compared exactly with the ID
 * token's, so one with blanks or control characters is a typo that would never match. */
static result finish_auth_strength(struct config *cfg, struct errs *e)
{
    static const char *const names[] = {"require_acr", "require_amr"};
    char **lists[] = {cfg->require_acr, cfg->require_amr};

    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && lists[l][i]; i++) {
            if (!list_word_ok(lists[l][i]))
                FAIL(names[l], "element %zu must be a non-empty value without blanks or control characters", i + 1);
        }
    }
    return RES_OK;
}

#undef FAIL

/* libconfig's scanner copies the whole text (client_secret included) into a buffer of
 * len + 2 bytes and frees it unwiped. The allocator hands the chunk just freed to the
 * next request of that size: take it back at once and wipe it. Best effort, but it
 * keeps the file's bytes out of freed heap where the allocator behaves as glibc's does. */
static void scrub_scanner_copy(size_t len)
{
    char *p = malloc(len + 2);
    if (p) {
        explicit_bzero(p, len + 2);
        free(p);
    }
}

/* libconfig keeps its own copy of every string: zero the secret before it frees it. */
static void wipe_setting(config_t *lc, const char *key)
{
    config_setting_t *s = config_lookup(lc, key);
    const char *v = s ? config_setting_get_string(s) : NULL;
    if (v)
        explicit_bzero((char *)v, strlen(v));
}

result config_load_all(const char *path, uid_t trusted_uid, struct config *cfg, config_error_fn each, void *ctx,
                       char *err, size_t errlen)
{
    char *text = NULL, *inline_secret = NULL, msg[1280];
    struct stat st;
    config_t lc;
    config_setting_t *root;
    int inc_line = 0;
    bool read_ok;
    struct errs e = {.path = path, .each = each, .ctx = ctx, .first = err, .firstlen = errlen};
    result r;

    config_defaults(cfg);
    r = safe_file_read(path, trusted_uid, 0, CONFIG_MAX_FILE_SIZE, &text, NULL, &st, msg, sizeof(msg));
    if (r != RES_OK) {
        report(&e, msg);
        return r;
    }
    if (has_include_directive(text, &inc_line)) {
        snprintf(msg, sizeof(msg), "%s:%d: @include is not allowed", path, inc_line);
        report(&e, msg);
        wipe_free_str(text);
        return RES_CONFIG;
    }
    /* libconfig would leave copies of an inline secret in freed memory: it sees 'x's. */
    if (config_take_secret(text, "client_secret", &inline_secret) != RES_OK) {
        snprintf(err, errlen, "%s: out of memory", path);
        wipe_free_str(text);
        return RES_INTERNAL;
    }
    config_init(&lc);
    read_ok = config_read_string(&lc, text) == CONFIG_TRUE;
    scrub_scanner_copy(strlen(text));
    if (!read_ok) {
        snprintf(msg, sizeof(msg), "%s:%d: syntax error: %s", path, config_error_line(&lc),
                 config_error_text(&lc) ? config_error_text(&lc) : "unknown");
        report(&e, msg);
        r = RES_CONFIG;
        goto out;
    }
    e.lc = &lc;
    root = config_root_setting(&lc);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct key_spec *k = name ? find_key(name) : NULL;
        if (!k) {
            snprintf(msg, sizeof(msg), "%s:%d: %.128s: unknown key", path, (int)config_setting_source_line(s),
                     name ? name : "?");
            report(&e, msg);
            continue;
        }
        if (set_key(cfg, k, s, &e) == RES_INTERNAL) {
            r = RES_INTERNAL;
            goto out;
        }
    }
    if (cfg->client_secret && inline_secret) {
        wipe_free_str(cfg->client_secret);
        cfg->client_secret = inline_secret;
        inline_secret = NULL;
    }
    r = finish(cfg, &e, trusted_uid, st.st_mode);
    if (r == RES_OK)
        r = finish_policy(cfg, &e, trusted_uid);
    if (r == RES_OK)
        finish_binding(cfg, &e);
    if (r == RES_OK)
        r = finish_confirm(cfg, &e);
    if (r == RES_OK)
        r = finish_breakglass(cfg, &e);
    if (r == RES_OK)
        r = finish_ops(cfg, &e);
    if (r == RES_OK)
        r = finish_auth_strength(cfg, &e);
    if (r == RES_OK && e.count > 0)
        r = RES_CONFIG;
out:
    if (r == RES_INTERNAL)
        snprintf(err, errlen, "%s: out of memory", path);
    wipe_setting(&lc, "client_secret");
    config_destroy(&lc);
    wipe_free_str(text);
    wipe_free_str(inline_secret);
    if (r != RES_OK)
        config_free(cfg);
    return r;
}

result config_load(const char *path, uid_t trusted_uid, struct config *cfg, char *err, size_t errlen)
{
    return config_load_all(path, trusted_uid, cfg, NULL, NULL, err, errlen);
}
