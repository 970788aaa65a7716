/* One out-of-band approval, start to verdict, without PAM: shared by the module and tools. */
#ifndef PAM_CIBA_APPROVAL_H
#define PAM_CIBA_APPROVAL_H
#include <stdbool.h>
#include "clock.h"
#include "config.h"
#include "http.h"
#include "logger.h"
#include "result.h"
#include "template.h"
#include <sys/types.h>

#include <stdbool.h>

/* Who is logging in, and where from. Strings may be NULL. */
struct approval_user {
    const char *user;
    const char *service;
    const char *rhost;
    const char *tty;
    const char *subject; /* subject template from subject_map_file, or NULL: cfg->subject */
    const char *command; /* %C: what is being authorised (command.h), or NULL */
    const char *target;  /* %U: whom sudo runs it as, or NULL */
    const char *command_full; /* %F: the whole command, or NULL */
    /* Two-person approval (issue 13): n_approvers > 0 also needs one of these to approve. */
    const struct approver *approvers;
    size_t n_approvers;
    /* The SSH key sshd accepted first (issue 13, item 1), or NULL: %k, %K, %T. */
    const char *key_short;
    const char *key_full;
    const char *key_type;
};

/* One approver for two-person approval. */
struct approver {
    const char *name;    /* for the log: the user name, or "sub:SUBJECT" as configured */
    const char *user;    /* the approver's user name (%u in subject), or NULL for a literal subject */
    const char *subject; /* a subject template expanded with %u = user, or the literal subject */
};

/* At most this many approvers' requests per login. */
#define APPROVERS_MAX 16

enum ui_status { UI_OK = 0, UI_NONE = 1, UI_FAILED = -1 };

/* How the user is told. Both return an enum ui_status; UI_NONE means "there is no
 * one to show it to" (a non-interactive caller), which is not an error. */
struct approval_ui {
    int (*info)(void *ctx, const char *msg);
    /* Show msg, wait for Enter. Used for prompt = "enter", and for "auto" under sshd
     * (ssh_login_is_sshd): OpenSSH holds info messages back until the next prompt. */
    int (*prompt_enter)(void *ctx, const char *msg);
    /* Ask for a hidden answer (the user_code); *answer is malloc'd, wipe it. */
    int (*prompt_secret)(void *ctx, const char *msg, char **answer);
    void *ctx;
    /* confirm = "type": show msg and read a visible answer (the code the phone shows);
     * *answer is malloc'd, wipe it. NULL when there is no conversation: then a login that
     * needs the code fails before any request is sent. */
    int (*prompt_answer)(void *ctx, const char *msg, char **answer);
};

struct approval_env {
    const struct transport *transport; /* NULL: real HTTPS from the config */
    const struct clock *clock;         /* NULL: clock_real, and Ctrl-C ends the wait */
    const struct logger *log;          /* may be NULL */
    uid_t cache_owner;                 /* owner of cache_dir and its files: root (0) in the module */
    /* Other threads share the process (decided once per login, host_env.h): then no
     * process-wide state changes, so no SIGINT handler and Ctrl-C does not end the wait. */
    bool threaded_host;
};

/* auth_req_id is a bearer value at the token endpoint until it expires: logs get a short
 * hash of it (enough to find the request in the provider's logs), never the id itself. */
#define APPROVAL_REQUEST_HASH_LEN 16

/* What happened, for the decision log line. */
struct approval_report {
    char reason[320];
    char binding_message[BINDING_MESSAGE_MAX + 1];
    /* The provider (discovery, JWKS or bc-authorize) could not be reached, or answered
     * 5xx, before it accepted any request: the only failure failmode = "safe" may soften. */
    bool unreachable;
    /* For the structured decision log (issue 14 item 2). */
    char subject[256];      /* the subject the provider was asked about, or "" */
    char request[APPROVAL_REQUEST_HASH_LEN + 1]; /* hex of SHA-256(auth_req_id), cut; "" before one */
    char approver[256];     /* who approved when not the user (two-person approval), or "" */
    /* Two-person approval: how many bc-authorize requests were sent. */
    int requests_sent;
    /* A bc-authorize request was sent (issue 12: only sent requests count against the limits). */
    bool request_sent;
};

/* Whether the binding message goes into a prompt (true) or an info message (false):
 * "auto" prompts under every sshd, whatever its PAM service name (ssh_auth_info.h). */
bool approval_uses_prompt(int prompt_mode, const char *service, const char *tty);

/* The first APPROVAL_REQUEST_HASH_LEN hex digits of SHA-256(auth_req_id) into out; "" on failure. */
void approval_request_hash(const char *auth_req_id, char out[APPROVAL_REQUEST_HASH_LEN + 1]);

result approval_run(const struct config *cfg, const struct approval_user *u,
                    const struct approval_ui *ui, const struct approval_env *env,
                    struct approval_report *rep);

#endif
