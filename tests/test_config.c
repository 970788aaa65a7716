/* Unit tests for pam_ciba/config.c: good files, every kind of bad file, permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char dir[] = "/tmp/pam_ciba_test_config.XXXXXX";
static char path[256];

#define BASE "issuer = \"https://tenant.example/\";\nclient_id = \"cid\";\nclient_secret = \"s3cret\";\n"

static void write_file(const char *p, const char *text, mode_t mode)
{
    int fd;
    unlink(p);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static result load(const char *text, mode_t mode, struct config *cfg, char *err, size_t errlen)
{
    write_file(path, text, mode);
    return config_load(path, geteuid(), cfg, err, errlen);
}

static void expect_error(const char *text, const char *needle)
{
    struct config cfg;
    char err[512] = "";
    result r = load(text, 0600, &cfg, err, sizeof(err));
    if (r != RES_CONFIG || !strstr(err, needle))
        fail_msg("expected config error containing \"%s\", got %d \"%s\"", needle, r, err);
    config_free(&cfg);
}

static void test_minimal_defaults(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    /* No endpoint keys: discovery decides them at login time. */
    assert_int_equal(cfg.discovery, 1);
    assert_null(cfg.bc_endpoint);
    assert_null(cfg.token_endpoint);
    assert_null(cfg.jwks_uri);
    assert_string_equal(cfg.cache_dir, "/var/cache/pam_ciba");
    assert_int_equal(cfg.cache_ttl, 3600);
    assert_int_equal(cfg.clock_skew, 60);
    assert_string_equal(cfg.id_token_algs[0], "RS256");
    assert_int_equal(cfg.user_code, 0);
    assert_string_equal(cfg.scope, "openid");
    assert_string_equal(cfg.subject, "%u");
    assert_string_equal(cfg.binding_message, "%h login %u %k #%c");
    assert_int_equal(cfg.client_auth, CLIENT_AUTH_SECRET_POST);
    assert_int_equal(cfg.login_hint_format, HINT_ISS_SUB);
    assert_int_equal(cfg.prompt, PROMPT_AUTO);
    assert_int_equal(cfg.connect_timeout, 5);
    assert_int_equal(cfg.request_timeout, 10);
    assert_int_equal(cfg.max_wait, 110);
    assert_int_equal(cfg.requested_expiry, 0);
    config_free(&cfg);
}

static void test_full_file(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE "backchannel_authentication_endpoint = \"https://x/bc\";\n"
                               "token_endpoint = \"https://x/tok\";\nclient_auth = \"client_secret_basic\";\n"
                               "scope = \"openid profile\";\naudience = \"urn:api\";\nresource = \"https://api/\";\n"
                               "requested_expiry = 120;\nauthorization_details = \"[{\\\"type\\\":\\\"login\\\"}]\";\n"
                               "login_hint_format = \"plain\";\nsubject = \"auth0|%u\";\nbinding_message = \"%s on %H\";\n"
                               "prompt = \"enter\";\nconnect_timeout = 3;\nrequest_timeout = 7;\nmax_wait = 60;\n",
                          0600, &cfg, err, sizeof(err)),
                     RES_OK);
    assert_string_equal(cfg.bc_endpoint, "https://x/bc");
    assert_string_equal(cfg.token_endpoint, "https://x/tok");
    assert_int_equal(cfg.discovery, 0); /* explicit endpoints turn it off by default */
    assert_int_equal(cfg.client_auth, CLIENT_AUTH_SECRET_BASIC);
    assert_int_equal(cfg.login_hint_format, HINT_PLAIN);
    assert_int_equal(cfg.prompt, PROMPT_ENTER);
    assert_int_equal(cfg.requested_expiry, 120);
    assert_int_equal(cfg.max_wait, 60);
    assert_string_equal(cfg.audience, "urn:api");
    assert_string_equal(cfg.authorization_details, "[{\"type\":\"login\"}]");
    config_free(&cfg);
}

static void test_issuer_without_slash(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load("issuer = \"https://t.example\";\nclient_id = \"c\";\nclient_secret = \"s\";\n"
                          "discovery = false;\n", 0600, &cfg, err, sizeof(err)),
                     RES_OK);
    /* Discovery off: Auth0's layout under the issuer. */
    assert_string_equal(cfg.bc_endpoint, "https://t.example/bc-authorize");
    assert_string_equal(cfg.token_endpoint, "https://t.example/oauth/token");
    assert_string_equal(cfg.jwks_uri, "https://t.example/.well-known/jwks.json");
    config_free(&cfg);
}

static void test_errors_name_file_line_key(void **state)
{
    (void)state;
    expect_error(BASE "bogus_key = 1;\n", ":4: bogus_key: unknown key");
    expect_error(BASE "max_wait = \"10\";\n", ":4: max_wait: must be an integer");
    expect_error(BASE "requested_expiry = 301;\n", ":4: requested_expiry: 301 is out of range 1..300");
    expect_error(BASE "requested_expiry = 0;\n", "requested_expiry: 0 is out of range");
    expect_error(BASE "client_auth = \"private_key_jwt_typo\";\n", "client_auth: unknown value");
    expect_error(BASE "prompt = 3;\n", "prompt: must be a string");
    expect_error(BASE "scope = \"profile email\";\n", "scope: must contain openid");
    expect_error(BASE "scope = \"openidx\";\n", "scope: must contain openid");
    expect_error(BASE "authorization_details = \"{}\";\n", "authorization_details: must be a non-empty JSON array");
    expect_error(BASE "authorization_details = \"[1]\";\n", "authorization_details: element 0");
    expect_error(BASE "authorization_details = \"[{\\\"type\\\":\";\n", "authorization_details: not valid JSON");
    expect_error(BASE "subject = \"%q\";\n", "subject: unknown escape %q");
    expect_error(BASE "binding_message = \"abc %\";\n", "binding_message: template ends with a lone %");
    expect_error(BASE "token_endpoint = \"http://plain/\";\n", "token_endpoint: must be an https:// URL");
    expect_error("client_id = \"c\";\nclient_secret = \"s\";\n", "issuer: required key is missing");
    expect_error("issuer = \"http://t/\";\nclient_id = \"c\";\nclient_secret = \"s\";\n", "issuer: must be an https:// URL");
    expect_error("issuer = \"https://t/\";\nclient_secret = \"s\";\n", "client_id: required key is missing");
    expect_error("issuer = \"https://t/\";\nclient_id = \"c\";\n", "client_secret: required");
    expect_error(BASE "client_secret_file = \"/x\";\n", "set either client_secret or client_secret_file");
    expect_error(BASE "issuer = \"https://dup/\";\n", "syntax error");
    expect_error("issuer = \"https://t/\"\nclient_id = ;\n", ":2: syntax error");
    expect_error("@include \"/etc/passwd\"\n" BASE, ":1: @include is not allowed");
    expect_error(BASE "ca_file = \"/nonexistent/ca.pem\";\n", "ca_file: /nonexistent/ca.pem: cannot open");
    expect_error(BASE "discovery = 1;\n", "discovery: must be true or false");
    expect_error(BASE "id_token_algs = \"RS256\";\n", "id_token_algs: must be a non-empty list");
    expect_error(BASE "id_token_algs = [];\n", "id_token_algs: must be a non-empty list");
    expect_error(BASE "id_token_algs = [\"none\"];\n", "id_token_algs: unsupported algorithm \"none\"");
    expect_error(BASE "id_token_algs = [\"RS256\", 5];\n", "syntax error"); /* mixed list types */
    expect_error(BASE "id_token_algs = [\"HS256\"];\n", "HS256 is accepted only with id_token_signed_response_alg");
    expect_error(BASE "id_token_signed_response_alg = \"HS512\";\n", "unsupported algorithm");
    expect_error("issuer = \"https://t/\";\nclient_id = \"c\";\nclient_auth = \"private_key_jwt\";\n"
                 "id_token_signed_response_alg = \"HS256\";\nprivate_key_file = \"/nonexistent\";\n",
                 "private_key_file");
    expect_error("issuer = \"https://t/\";\nclient_id = \"c\";\nclient_auth = \"private_key_jwt\";\n",
                 "private_key_file: required");
    expect_error("issuer = \"https://t/\";\nclient_id = \"c\";\nclient_auth = \"tls_client_auth\";\n",
                 "tls_client_cert: required");
    expect_error(BASE "jwks_uri = \"http://t/jwks\";\n", "jwks_uri: must be an https:// URL");
    expect_error(BASE "cache_dir = \"relative\";\n", "cache_dir: must be an absolute path");
    expect_error(BASE "clock_skew = 601;\n", "clock_skew: 601 is out of range");
    expect_error(BASE "login_hint_format = \"phone\";\n", "login_hint_format: unknown value");
}

static void test_permissions(void **state)
{
    struct config cfg;
    char err[512] = "";
    char secret_path[300];
    (void)state;

    /* Inline secret in a group-readable file: refused. */
    assert_int_equal(load(BASE, 0640, &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "readable by group or others"));
    config_free(&cfg);
    /* Group-writable: refused even without a secret. */
    assert_int_equal(load(BASE, 0620, &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "writable by group or others"));
    config_free(&cfg);
    /* Wrong owner. */
    write_file(path, BASE, 0600);
    assert_int_equal(config_load(path, geteuid() + 1, &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "must be owned by uid"));
    config_free(&cfg);
    /* A symlink is not followed. */
    {
        char link[300];
        snprintf(link, sizeof(link), "%s/link.conf", dir);
        unlink(link);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(config_load(link, geteuid(), &cfg, err, sizeof(err)), RES_CONFIG);
        config_free(&cfg);
        unlink(link);
    }
    /* Missing file. */
    assert_int_equal(config_load("/nonexistent/pam_ciba.conf", geteuid(), &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "cannot open"));
    config_free(&cfg);

    /* Secret file: a world-readable config is fine, a readable secret file is not. */
    snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
    write_file(secret_path, "from-file\n", 0600);
    {
        char text[600];
        snprintf(text, sizeof(text),
                 "issuer = \"https://t/\";\nclient_id = \"c\";\nclient_secret_file = \"%s\";\n", secret_path);
        assert_int_equal(load(text, 0644, &cfg, err, sizeof(err)), RES_OK);
        assert_string_equal(cfg.client_secret, "from-file");
        config_free(&cfg);
        chmod(secret_path, 0644);
        assert_int_equal(load(text, 0644, &cfg, err, sizeof(err)), RES_CONFIG);
        assert_non_null(strstr(err, "client_secret_file"));
        assert_non_null(strstr(err, "readable by group or others"));
        config_free(&cfg);
        write_file(secret_path, "\n", 0600);
        assert_int_equal(load(text, 0644, &cfg, err, sizeof(err)), RES_CONFIG);
        assert_non_null(strstr(err, "single line"));
        config_free(&cfg);
    }
    unlink(secret_path);
}

static void test_failmode(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.failmode, FAILMODE_SECURE);
    config_free(&cfg);
    assert_int_equal(load(BASE "failmode = \"safe\";\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.failmode, FAILMODE_SAFE);
    config_free(&cfg);
    assert_int_equal(load(BASE "failmode = \"secure\";\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.failmode, FAILMODE_SECURE);
    config_free(&cfg);
    expect_error(BASE "failmode = \"open\";\n", "failmode: unknown value");
    expect_error(BASE "failmode = 1;\n", "failmode: must be a string");
}

static void write_key(const char *p, const char *kind, mode_t mode)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "openssl genpkey %s -out '%s' 2>/dev/null", kind, p);
    assert_int_equal(system(cmd), 0);
    chmod(p, mode);
}

static void test_private_key_jwt(void **state)
{
    struct config cfg;
    char err[512] = "", key[300], text[800];
    const char *kinds[] = {"-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
                           "-algorithm ED25519"};
    (void)state;
    snprintf(key, sizeof(key), "%s/client.key", dir);
    snprintf(text, sizeof(text), "issuer = \"https://t/\";\nclient_id = \"c\";\nclient_auth = \"private_key_jwt\";\n"
             "private_key_file = \"%s\";\nkey_id = \"k1\";\n", key);
    for (size_t i = 0; i < 3; i++) {
        write_key(key, kinds[i], 0600);
        if (load(text, 0644, &cfg, err, sizeof(err)) != RES_OK)
            fail_msg("key %zu refused: %s", i, err);
        assert_non_null(strstr(cfg.private_key_pem, "PRIVATE KEY"));
        assert_string_equal(cfg.key_id, "k1");
        config_free(&cfg);
    }
    /* A readable key file, a weak RSA key, an unsupported curve: refused. */
    chmod(key, 0640);
    assert_int_equal(load(text, 0644, &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "readable by group or others"));
    config_free(&cfg);
    write_key(key, "-algorithm RSA -pkeyopt rsa_keygen_bits:1024", 0600);
    assert_int_equal(load(text, 0644, &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "is not a PEM RSA"));
    config_free(&cfg);
    write_key(key, "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1", 0600);
    assert_int_equal(load(text, 0644, &cfg, err, sizeof(err)), RES_CONFIG);
    config_free(&cfg);
    unlink(key);
}

static void test_size_cap(void **state)
{
    struct config cfg;
    char err[512] = "";
    size_t n = CONFIG_MAX_FILE_SIZE + 10;
    char *big = malloc(n + 1);
    (void)state;
    memset(big, '#', n);
    big[n] = '\0';
    assert_int_equal(load(big, 0600, &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "larger than"));
    config_free(&cfg);
    free(big);
}

/* Policy, mapping, reuse, message and network keys (issue 8). */
static void test_policy_keys(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE "groups = [\"admins\", \"!contractors\"];\nexempt_users = (\"backup\");\n"
                               "exempt_rhosts = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"];\n"
                               "services = [\"sudo\", \"sshd\"];\nrequire_tty = true;\nreuse_window = 300;\n"
                               "reuse_scope = \"command\";\nreuse_dir = \"/run/x\";\nmessage = \"%b (%e s) on %h\";\n"
                               "https_proxy = \"http://proxy.example:3128\";\nno_proxy = \"localhost,10.0.0.1\";\n"
                               "tls_min_version = \"1.3\";\n"
                               "pinned_public_key = \"sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=;"
                               "sha256//t62CeU2tQiqkexU74Gxa2eg7fRbEgoChTociMee9wno=\";\n",
                          0600, &cfg, err, sizeof(err)), RES_OK);
    assert_string_equal(cfg.groups[0], "admins");
    assert_string_equal(cfg.groups[1], "!contractors");
    assert_null(cfg.groups[2]);
    assert_string_equal(cfg.exempt_users[0], "backup");
    assert_string_equal(cfg.exempt_rhosts[2], "192.0.2.7");
    assert_string_equal(cfg.services[1], "sshd");
    assert_true(cfg.require_tty);
    assert_int_equal(cfg.reuse_window, 300);
    assert_int_equal(cfg.reuse_scope, REUSE_SCOPE_COMMAND);
    assert_int_equal(cfg.tls_min_version, TLS_MIN_1_3);
    assert_false(cfg.proxy_from_env);
    config_free(&cfg);
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_null(cfg.groups);
    assert_int_equal(cfg.reuse_window, 0);
    assert_int_equal(cfg.reuse_scope, REUSE_SCOPE_SESSION);
    assert_int_equal(cfg.unmapped, UNMAPPED_DENY);
    assert_string_equal(cfg.message, "Approve the request \"%b\" on your phone (expires in %e s)");
    assert_int_equal(cfg.tls_min_version, TLS_MIN_1_2);
    config_free(&cfg);
}

static void test_policy_key_errors(void **state)
{
    (void)state;
    expect_error(BASE "groups = [];\n", "groups");
    expect_error(BASE "groups = \"admins\";\n", "groups");
    expect_error(BASE "groups = [\"!\"];\n", "not a group name");
    expect_error(BASE "groups = [\"a b\"];\n", "without blanks");
    expect_error(BASE "exempt_rhosts = [\"10.0.0.1/8\"];\n", ":4: exempt_rhosts: ");
    expect_error(BASE "exempt_rhosts = [\"gateway.example\"];\n", "host names are not allowed");
    expect_error(BASE "require_tty = 1;\n", "true or false");
    expect_error(BASE "reuse_window = 3601;\n", "out of range");
    expect_error(BASE "reuse_window = -1;\n", "out of range");
    expect_error(BASE "reuse_dir = \"run/x\";\n", "absolute");
    expect_error(BASE "reuse_scope = \"user\";\n", "unknown value");
    expect_error(BASE "subject_map_file = \"/etc/map\";\nsubject = \"%u\";\n", "not both");
    expect_error(BASE "subject_map_file = \"map\";\n", "absolute");
    expect_error(BASE "unmapped = \"ignore\";\n", "only meaningful with subject_map_file");
    expect_error(BASE "unmapped = \"allow\";\n", "unknown value");
    expect_error(BASE "message = \"%b %x\";\n", "unknown escape %x");
    expect_error(BASE "authorization_details = \"[{\\\"type\\\":\\\"t\\\",\\\"h\\\":\\\"%Z\\\"}]\";\n", "%Z");
    expect_error(BASE "https_proxy = \"proxy:3128\";\n", "https_proxy");
    expect_error(BASE "http_proxy = \"ftp://proxy\";\n", "http_proxy");
    expect_error(BASE "no_proxy = \"a, b\";\n", "no_proxy");
    expect_error(BASE "ca_path = \"/nonexistent/certs\";\n", "ca_path");
    expect_error(BASE "tls_min_version = \"1.1\";\n", "unknown value");
    expect_error(BASE "pinned_public_key = \"sha256//short\";\n", "pinned_public_key");
    expect_error(BASE "pinned_public_key = \"/nonexistent.pem\";\n", "pinned_public_key");
}

/* confirm (issue 12): "compare" by default; "type" needs %c on the phone, not on the terminal. */
static void test_confirm(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.confirm, CONFIRM_COMPARE);
    config_free(&cfg);
    assert_int_equal(load(BASE "confirm = \"type\";\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.confirm, CONFIRM_TYPE);
    config_free(&cfg);
    assert_int_equal(load(BASE "confirm = \"type\";\nbinding_message = \"%u@%h #%c\";\nmessage = \"Approve %b\";\n", 0600,
                          &cfg, err, sizeof(err)),
                     RES_OK);
    config_free(&cfg);
    assert_int_equal(load(BASE "confirm = \"compare\";\nbinding_message = \"%u@%h\";\n", 0600, &cfg, err, sizeof(err)),
                     RES_OK);
    config_free(&cfg);
    expect_error(BASE "confirm = \"type\";\nbinding_message = \"%h login %u\";\n",
                 ":5: binding_message: confirm = \"type\" needs the code");
    expect_error(BASE "confirm = \"type\";\nmessage = \"Type %c\";\n", ":5: message: with confirm = \"type\"");
    expect_error(BASE "confirm = \"number\";\n", "confirm: unknown value");
    expect_error(BASE "confirm = true;\n", "confirm: must be a string");
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/pam_ciba.conf", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

/* pam_ciba-check's mode: every error, in order, each key once; err holds the first. */
struct seen {
    char lines[16][512];
    int n;
};

static void collect(void *ctx, const char *msg)
{
    struct seen *s = ctx;
    if (s->n < 16)
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s", msg);
    s->n++;
}

static void test_every_error_reported(void **state)
{
    struct config cfg;
    struct seen seen = {.n = 0};
    char err[512] = "", want[300];
    (void)state;
    write_file(path,
               "issuer = \"http://plain.example/\";\n"     /* 1 */
               "client_id = \"cid\";\n"                    /* 2 */
               "client_auth = \"bogus\";\n"                /* 3 */
               "max_wait = 99999;\n"                        /* 4 */
               "frobnicate = 1;\n"                          /* 5 */
               "id_token_algs = [\"none\", \"HS256\"];\n" /* 6: reported once */
               "reuse_dir = \"relative\";\n",               /* 7 */
               0600);
    assert_int_equal(config_load_all(path, geteuid(), &cfg, collect, &seen, err, sizeof(err)), RES_CONFIG);
    assert_int_equal(seen.n, 7);
    snprintf(want, sizeof(want), "%s:3: client_auth: unknown value \"bogus\"", path);
    assert_string_equal(seen.lines[0], want);
    assert_string_equal(err, seen.lines[0]);
    assert_non_null(strstr(seen.lines[1], ":4: max_wait: 99999 is out of range"));
    assert_non_null(strstr(seen.lines[2], ":5: frobnicate: unknown key"));
    assert_non_null(strstr(seen.lines[3], ":1: issuer: must be an https:// URL"));
    /* client_auth fell back to its default, which needs a secret: a key that is missing has no line. */
    snprintf(want, sizeof(want), "%s: client_secret: required", path);
    assert_non_null(strstr(seen.lines[4], want));
    assert_non_null(strstr(seen.lines[5], ":6: id_token_algs: unsupported algorithm \"none\""));
    assert_non_null(strstr(seen.lines[6], ":7: reuse_dir: must be an absolute path"));
    config_free(&cfg);

    /* A fatal error (syntax) is the only one; without a callback the first still reaches err. */
    seen.n = 0;
    write_file(path, BASE "max_wait = ;\n", 0600);
    assert_int_equal(config_load_all(path, geteuid(), &cfg, collect, &seen, err, sizeof(err)), RES_CONFIG);
    assert_int_equal(seen.n, 1);
    assert_non_null(strstr(err, ":4: syntax error"));
    write_file(path, BASE "frobnicate = 1;\nmax_wait = 1;\n", 0600);
    assert_int_equal(config_load(path, geteuid(), &cfg, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, ":4: frobnicate: unknown key"));
    /* An unreadable secret file is one error about that file, not also a missing secret. */
    seen.n = 0;
    write_file(path, "issuer = \"https://t.example/\";\nclient_id = \"c\";\nclient_secret_file = \"/nonexistent\";\n",
               0600);
    assert_int_equal(config_load_all(path, geteuid(), &cfg, collect, &seen, err, sizeof(err)), RES_CONFIG);
    assert_int_equal(seen.n, 1);
    assert_non_null(strstr(seen.lines[0], ":3: client_secret_file: /nonexistent: cannot open"));
}

/* Binding message limits (issue 13 item 5): presets, explicit keys, load-time refusals. */
static void test_binding_limits(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.binding_message_profile, BINDING_PRESET_AUTH0);
    assert_int_equal(cfg.binding_limits.max, 64);
    assert_true(cfg.binding_limits.allowed[' ']);
    config_free(&cfg);
    assert_int_equal(load(BASE "binding_message_profile = \"node-oidc\";\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.binding_limits.max, 20);
    assert_false(cfg.binding_limits.allowed[' ']);
    assert_int_equal(cfg.binding_limits.space, '-');
    config_free(&cfg);
    assert_int_equal(load(BASE "binding_message_profile = \"keycloak\";\nbinding_message_max = 30;\n", 0600, &cfg,
                          err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.binding_limits.max, 30);
    assert_true(cfg.binding_limits.allowed['/']);
    config_free(&cfg);
    assert_int_equal(load(BASE "binding_message_profile = \"custom\";\nbinding_message_max = 32;\n"
                               "binding_message_charset = \"A-Za-z0-9 _#\";\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_int_equal(cfg.binding_limits.max, 32);
    assert_true(cfg.binding_limits.allowed[' '] && !cfg.binding_limits.allowed['-']);
    config_free(&cfg);
    expect_error(BASE "binding_message_profile = \"okta\";\n", ":4: binding_message_profile: unknown value");
    expect_error(BASE "binding_message_profile = \"custom\";\nbinding_message_max = 32;\n",
                 "binding_message_profile: \"custom\" needs binding_message_max and binding_message_charset");
    expect_error(BASE "binding_message_max = 65;\n", "binding_message_max: 65 is out of range 1..64");
    expect_error(BASE "binding_message_max = 0;\n", "binding_message_max: 0 is out of range");
    expect_error(BASE "binding_message_charset = \"z-a\";\n", ":4: binding_message_charset: range z-a is reversed");
    /* the code's characters must all be allowed */
    expect_error(BASE "binding_message_charset = \"a-z0-9 #\";\n",
                 ":4: binding_message_charset: the character set must allow every character of the code");
    /* the template's own text and the code must fit with every variable left out */
    expect_error(BASE "binding_message_profile = \"node-oidc\";\nbinding_message = \"Approve the login of %u #%c\";\n",
                 ":5: binding_message: its own text and the code take 26 characters");
    expect_error(BASE "binding_message_max = 4;\n", "binding_message: its own text and the code take 11 characters");
}

/* RFC 9864: "Ed25519" is accepted beside "EdDSA", by default and by name. */
static void test_ed25519_alg_names(void **state)
{
    struct config cfg;
    char err[512] = "";
    bool eddsa = false, ed25519 = false;
    (void)state;
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    for (size_t i = 0; cfg.id_token_algs[i]; i++) {
        eddsa |= strcmp(cfg.id_token_algs[i], "EdDSA") == 0;
        ed25519 |= strcmp(cfg.id_token_algs[i], "Ed25519") == 0;
    }
    assert_true(eddsa && ed25519);
    config_free(&cfg);
    assert_int_equal(load(BASE "id_token_signed_response_alg = \"Ed25519\";\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_string_equal(cfg.id_token_algs[0], "Ed25519");
    assert_null(cfg.id_token_algs[1]);
    config_free(&cfg);
    assert_int_equal(load(BASE "id_token_algs = [\"Ed25519\", \"EdDSA\"];\n", 0600, &cfg, err, sizeof(err)), RES_OK);
    config_free(&cfg);
    expect_error(BASE "id_token_algs = [\"Ed448\"];\n", "id_token_algs: unsupported algorithm \"Ed448\"");
}

/* metrics_file (issue 14 item 3): off by default; an absolute path to a .prom file. */
static void test_metrics_file_key(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_null(cfg.metrics_file);
    config_free(&cfg);
    assert_int_equal(load(BASE "metrics_file = \"/var/lib/prometheus/node-exporter/pam_ciba.prom\";\n", 0600, &cfg,
                          err, sizeof(err)), RES_OK);
    assert_string_equal(cfg.metrics_file, "/var/lib/prometheus/node-exporter/pam_ciba.prom");
    config_free(&cfg);
    expect_error(BASE "metrics_file = \"pam_ciba.prom\";\n", ":4: metrics_file: must be an absolute path");
    expect_error(BASE "metrics_file = \"/var/lib/x/\";\n", "metrics_file: must be an absolute path to a file");
    expect_error(BASE "metrics_file = \"/var/lib/x/.prom\";\n", "metrics_file: must be an absolute path to a file");
    expect_error(BASE "metrics_file = \"/var/lib/x/pam_ciba.txt\";\n", "metrics_file: must end in \".prom\"");
    expect_error(BASE "metrics_file = 1;\n", "metrics_file: must be a string");
}

/* require_acr / require_amr (issue 14 item 4). */
static void test_auth_strength_keys(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE "acr_values = \"http://schemas.openid.net/pape/policies/2007/06/multi-factor\";\n"
                               "require_acr = [\"http://schemas.openid.net/pape/policies/2007/06/multi-factor\"];\n"
                               "require_amr = [\"mfa\", \"hwk\"];\n",
                          0600, &cfg, err, sizeof(err)), RES_OK);
    assert_string_equal(cfg.require_acr[0], "http://schemas.openid.net/pape/policies/2007/06/multi-factor");
    assert_null(cfg.require_acr[1]);
    assert_string_equal(cfg.require_amr[1], "hwk");
    assert_null(cfg.require_amr[2]);
    config_free(&cfg);
    assert_int_equal(load(BASE, 0600, &cfg, err, sizeof(err)), RES_OK);
    assert_null(cfg.require_acr);
    assert_null(cfg.require_amr);
    config_free(&cfg);
    expect_error(BASE "require_acr = [];\n", "require_acr");
    expect_error(BASE "require_acr = \"mfa\";\n", "require_acr");
    expect_error(BASE "require_acr = [\"a b\"];\n", ":4: require_acr: element 1 must be a non-empty value");
    expect_error(BASE "require_amr = [\"mfa\", \"\"];\n", "require_amr: element 2");
    expect_error(BASE "require_amr = (\"mfa\", 1);\n", "require_amr: element 1 is not a string");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_issuer_without_slash),
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_every_error_reported),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_failmode),
        cmocka_unit_test(test_confirm),
        cmocka_unit_test(test_private_key_jwt),
        cmocka_unit_test(test_policy_keys),
        cmocka_unit_test(test_policy_key_errors),
        cmocka_unit_test(test_binding_limits),
        cmocka_unit_test(test_ed25519_alg_names),
        cmocka_unit_test(test_metrics_file_key),
        cmocka_unit_test(test_auth_strength_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
