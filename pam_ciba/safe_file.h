/* The one place the module opens a file or directory it trusts: owner, mode, ancestors, size. */
#ifndef PAM_CIBA_SAFE_FILE_H
#define PAM_CIBA_SAFE_FILE_H
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "result.h"

/* The policy, for every function below. Paths are absolute. Each directory on the way
 * from "/" is opened by the effective identity and must be owned by root or the owner and
 * not writable by group/others (a root-owned sticky directory such as /tmp is fine);
 * symbolic links on the way are followed by this code, so the directories they lead
 * through are checked too, and a link itself must belong to root or the owner. The
 * named file or directory is never a symbolic link, is of the expected type, is owned by
 * the owner and not writable by group/others. Failures return RES_CONFIG with
 * "<path>: what is wrong (fix: ...)" in err and leave errno ENOENT when the path (or a
 * directory on it) does not exist, so callers can tell "not there yet" from "unsafe". */

/* Flags. */
#define SAFE_SECRET 1u /* holds a secret: a file not readable by group/others, a directory closed to them */
#define SAFE_BINARY 2u /* safe_fd_read: NUL bytes are content, not an error */
#define SAFE_CREATE 4u /* safe_dir_open: make the last component (mode 0700) when it is missing */

/* Open a regular file read-only (O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK: a FIFO cannot stall a
 * login). *fd is the caller's to close; *st (may be NULL) is its fstat. */
result safe_file_open(const char *path, uid_t owner, unsigned flags, int *fd, struct stat *st, char *err,
                      size_t errlen);

/* The same for name (one component, no '/') inside dirfd, a directory that safe_dir_open
 * returned; dirpath is its path, for messages. */
result safe_file_openat(int dirfd, const char *dirpath, const char *name, uid_t owner, unsigned flags, int *fd,
                        struct stat *st, char *err, size_t errlen);

/* Read all of fd (from its current offset) into a NUL-terminated malloc'd buffer, at most
 * max bytes; st is fd's fstat (for the size). With SAFE_SECRET the memory of a failed
 * read is wiped; the caller wipes a secret it got. path is for messages. */
result safe_fd_read(int fd, const struct stat *st, const char *path, size_t max, unsigned flags, char **out,
                    size_t *outlen, char *err, size_t errlen);

/* safe_file_open + safe_fd_read + close. st (may be NULL) gets the file's fstat. */
result safe_file_read(const char *path, uid_t owner, unsigned flags, size_t max, char **out, size_t *outlen,
                      struct stat *st, char *err, size_t errlen);

/* Open a directory (O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) under the same rules; with
 * SAFE_SECRET it must also be closed to group/others (mode 0700). */
result safe_dir_open(const char *path, uid_t owner, unsigned flags, int *fd, char *err, size_t errlen);

/* A hashed CA directory (ca_path) for OpenSSL, which opens its entries by name later:
 * the directory passes safe_dir_open, and every entry, after following its symbolic
 * links under the same rules, is a directory or a regular file owned by root or the
 * owner and not writable by group/others. A link to nothing is skipped: OpenSSL cannot
 * load it either. */
result safe_ca_dir_check(const char *path, uid_t owner, char *err, size_t errlen);

#endif
