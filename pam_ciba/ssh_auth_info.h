/* What OpenSSH's sshd tells PAM: that the login is sshd's, and which key SSH_AUTH_INFO_0 names. */
#ifndef PAM_CIBA_SSH_AUTH_INFO_H
#define PAM_CIBA_SSH_AUTH_INFO_H
#include <stdbool.h>
#include <stddef.h>

/* The longest SSH_AUTH_INFO_0 read: a few methods, each with a key or certificate of at
 * most SSH_KEY_BLOB_MAX bytes (OpenSSH's own limit, SSH_MAX_PUBKEY_BYTES) in base64.
 * Anything longer is not understood. */
#define SSH_AUTH_INFO_MAX 65536
#define SSH_KEY_BLOB_MAX 16384
/* "SHA256:" and the 43 characters of unpadded base64, as ssh-keygen -l prints it. */
#define SSH_FP_PREFIX "SHA256:"
#define SSH_FP_LEN (sizeof(SSH_FP_PREFIX) - 1 + 43)
/* The short form keeps this many base64 characters: 48 bits, enough to tell keys apart by
 * eye, short enough for a 64-character binding message. */
#define SSH_FP_SHORT_CHARS 8
#define SSH_FP_SHORT_LEN (sizeof(SSH_FP_PREFIX) - 1 + SSH_FP_SHORT_CHARS)

/* The key sshd accepted first, as ssh-keygen -l and sshd's log name it. All "" when none. */
struct ssh_key_info {
    char fingerprint[SSH_FP_LEN + 1];             /* "SHA256:" + 43 characters */
    char fingerprint_short[SSH_FP_SHORT_LEN + 1]; /* "SHA256:" + 8 characters */
    char type[24];                                /* "ED25519", "RSA", "ECDSA-SK", "ED25519-CERT"... */
    unsigned keys;                                /* publickey lines in the text */
    /* Where the shown key came from, for tests and the fuzzer's oracle: its line (from 0)
     * and whether it is a certificate, whose fingerprint is that of the certified key:
     * the SSH string of plain_type followed by plain_len bytes of the decoded blob from
     * plain_off (the key's own fields). */
    size_t line;
    bool cert;
    const char *plain_type;
    size_t plain_off, plain_len;
};

enum ssh_auth_info_status {
    SSH_AUTH_INFO_NO_KEY,    /* empty, or no publickey method: nothing to show */
    SSH_AUTH_INFO_KEY,       /* *out describes the first publickey line's key */
    SSH_AUTH_INFO_MALFORMED, /* not what sshd writes: nothing is shown rather than a guess */
};

/* Read SSH_AUTH_INFO_0 (NUL-terminated): one "method[/submethod][ keytype base64][ info]"
 * line per method that succeeded, each ending in a newline. Only publickey lines count
 * (hostbased names the client host's key, not the user's). Every publickey line must be a
 * known key type whose base64 blob decodes exactly and whose first field repeats the
 * type; any doubt about any of them makes the whole text SSH_AUTH_INFO_MALFORMED. */
enum ssh_auth_info_status ssh_auth_info_parse(const char *text, struct ssh_key_info *out);

/* Whether the login is OpenSSH's sshd, by what the host says rather than by the PAM
 * service name alone: on Linux sshd sets PAM_TTY to "ssh" during authentication whatever
 * name it runs under (another PAM service); the service name "sshd" also counts. */
bool ssh_login_is_sshd(const char *service, const char *tty);

#endif
