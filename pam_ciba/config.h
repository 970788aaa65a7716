/* The module's configuration: loading a libconfig file safely and validating every key. */
#ifndef PAM_CIBA_CONFIG_H
#define PAM_CIBA_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "binding.h"
#include "command_policy.h"
#include "result.h"

#define CONFIG_DEFAULT_PATH "/etc/security/pam_ciba.conf"
#define CONFIG_MAX_FILE_SIZE (256 * 1024)
#define SECRET_MAX_FILE_SIZE 4096
#define KEY_MAX_FILE_SIZE (64 * 1024)
#define CA_MAX_FILE_SIZE (4 * 1024 * 1024)
#define CACHE_DEFAULT_DIR "/var/cache/pam_ciba"

enum client_auth {
    CLIENT_AUTH_SECRET_POST,
    CLIENT_AUTH_SECRET_BASIC,
    CLIENT_AUTH_PRIVATE_KEY_JWT,
    CLIENT_AUTH_TLS_CLIENT_AUTH
};
enum hint_format { HINT_ISS_SUB, HINT_PLAIN, HINT_EMAIL };
enum prompt_mode { PROMPT_AUTO, PROMPT_ENTER, PROMPT_NONE };
enum unmapped_mode { UNMAPPED_DENY, UNMAPPED_IGNORE };
enum tls_min { TLS_MIN_1_2, TLS_MIN_1_3 };
/* What an unreachable provider means: refuse (secure) or let the rest of the stack decide (safe). */
enum failmode { FAILMODE_SECURE, FAILMODE_SAFE };
/* What one approval covers for reuse: the caller's session, or also the exact command. */
enum reuse_scope { REUSE_SCOPE_SESSION, REUSE_SCOPE_COMMAND };
/* How the user proves they saw this login's request: compare the code by eye, or type it. */
enum confirm_mode { CONFIRM_COMPARE, CONFIRM_TYPE };
/* When a break-glass code is accepted (issue 14 item 1). */
enum breakglass_mode { BREAKGLASS_OFF, BREAKGLASS_UNREACHABLE, BREAKGLASS_ALWAYS };

struct config {
    char *issuer;
    char *bc_endpoint;            /* backchannel_authentication_endpoint */
    char *token_endpoint;
    char *client_id;
    char *client_secret;          /* secret: wiped on free */
    char *client_secret_file;
    int client_auth;              /* enum client_auth */
    char *scope;
    char *audience;
    char *resource;
    char *authorization_details;  /* validated JSON array text */
    int requested_expiry;         /* 0 = not sent */
    int login_hint_format;        /* enum hint_format */
    char *subject;                /* template */
    char *binding_message;        /* template */
    int prompt;                   /* enum prompt_mode */
    char *ca_file;
    char *ca_file_pem;            /* ca_file's bytes, read through safe_file: libcurl never opens it */
    size_t ca_file_len;
    int connect_timeout;          /* seconds, per HTTP request */
    int request_timeout;          /* seconds, per HTTP request */
    int max_wait;                 /* seconds, whole login */
    /* Provider discovery, key material and verification (any CIBA provider). */
    int discovery;                /* bool; -1 until resolved: on unless endpoints are set */
    char *jwks_uri;
    char *cache_dir;
    int cache_ttl;                /* seconds */
    char **id_token_algs;         /* NULL-terminated list of allowed JWS algs */
    char *id_token_signed_response_alg; /* "HS256" allows HMAC ID tokens keyed by client_secret */
    int clock_skew;               /* seconds */
    char *private_key_file;       /* private_key_jwt */
    char *key_id;
    char *private_key_pem;        /* loaded from private_key_file; secret: wiped on free */
    char *tls_client_cert;        /* tls_client_auth */
    char *tls_client_cert_pem;    /* its bytes, read through safe_file */
    size_t tls_client_cert_len;
    char *tls_client_key;
    char *tls_client_key_pem;     /* loaded from tls_client_key; secret: wiped on free */
    char *acr_values;
    int user_code;                /* bool: ask the user for a user_code */
    /* Policy, identity mapping, reuse, terminal text, network (issue 8). */
    char *subject_map_file;       /* "unixuser subject" lines; NULL = use subject */
    int unmapped;                 /* enum unmapped_mode */
    char **groups;                /* NULL-terminated; "name" or "!name" */
    char **exempt_users;
    char **exempt_rhosts;         /* CIDRs, validated at load */
    char **services;
    int require_tty;              /* bool */
    int reuse_window;             /* seconds, 0 = off */
    char *reuse_dir;              /* NULL = REUSE_DEFAULT_DIR */
    int reuse_scope;              /* enum reuse_scope */
    char *message;                /* terminal text template (message.h) */
    char *http_proxy;
    char *https_proxy;
    char *no_proxy;
    int proxy_from_env;           /* bool: let libcurl read *_proxy from the environment */
    char *ca_path;
    int tls_min_version;          /* enum tls_min */
    char *pinned_public_key;      /* CURLOPT_PINNEDPUBLICKEY syntax */
    char *pin_hashes;             /* what libcurl gets: pinned_public_key's hashes, or the key file's hash */
    int failmode;                 /* enum failmode */
    /* The provider's binding_message limits (issue 13 item 5). */
    int binding_message_profile;  /* enum binding_preset */
    int binding_message_max;      /* characters; 0 = the profile's */
    char *binding_message_charset; /* NULL = the profile's */
    struct binding_profile binding_limits; /* resolved from the three at load */
    /* Typed code (issue 12, item 1). */
    int confirm;                  /* enum confirm_mode */
    /* Break-glass codes (issue 14 item 1). */
    int breakglass;               /* enum breakglass_mode */
    char *breakglass_dir;         /* NULL = BREAKGLASS_DEFAULT_DIR */
    /* Operations (issue 14 item 3). */
    char *metrics_file;           /* Prometheus textfile; NULL = off */
    /* Authentication strength the ID token must show (issue 14 item 4). */
    char **require_acr;           /* NULL-terminated; the token's acr must be one of them */
    char **require_amr;           /* NULL-terminated; the token's amr must hold at least one */
    /* sudo command policy and two-person approval (issue 13, items 3 and 4). */
    struct command_rule *command_rules; /* command_rules, in file order */
    size_t n_command_rules;
    char **two_person_groups;     /* a member needs two-person approval for every login */
    char **two_person_services;   /* PAM services that always need two-person approval */
    char **approvers;             /* "unixuser" (mapped like a user) or "sub:SUBJECT" */
    char *approver_binding_message; /* template of the approvers' binding message */
    /* Request limits and lockout (issue 12 item 2), shared by every process on the host. */
    int max_requests;             /* unapproved requests per user and per source per window; 0 = off */
    int request_window;           /* seconds */
    int max_denials;              /* denials in a row before a lockout; 0 = off */
    int lockout_time;             /* seconds */
};

#define APPROVER_BINDING_MESSAGE_DEFAULT "%u on %h: %C #%c"
#define APPROVER_SUBJECT_PREFIX "sub:"

/* Load and validate path. Every file it names (and path itself) is opened through
 * safe_file.h: regular, owned by trusted_uid (root for the module), not writable by
 * group/others, in directories only root or trusted_uid can change; a file holding a
 * secret must also not be readable by group/others. On failure returns RES_CONFIG with "file:line: key: why"
 * in err. cfg is always safe to pass to config_free afterwards. */
result config_load(const char *path, uid_t trusted_uid, struct config *cfg, char *err, size_t errlen);

/* Called with each configuration error, "file:line: key: why", in the order found. */
typedef void (*config_error_fn)(void *ctx, const char *msg);

/* config_load that goes on past the first error and reports every one it can find
 * (a key at most once) through each; err gets the first. For pam_ciba-check. */
result config_load_all(const char *path, uid_t trusted_uid, struct config *cfg, config_error_fn each, void *ctx,
                       char *err, size_t errlen);

/* Fill cfg with defaults only (no required keys): for tests and tools. */
void config_defaults(struct config *cfg);

void config_free(struct config *cfg);

#endif
