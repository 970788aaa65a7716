/* libcurl-backed HTTPS: TLS always verified, no redirects, no compression, capped bodies. */
#include "http.h"
#include "curl_mem.h"
#include "host_env.h"
#include "wipe.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct http_client {
    CURL *curl;
    struct http_options opts;
    int socket_errno; /* errno of a socket() that failed in this request, or 0 */
    struct host_fds fds_before; /* sole_thread: descriptors open before libcurl's */
};

struct sink {
    struct http_response *resp;
    size_t cap, max;
    int too_large;
    /* Retry-After and Date of the final answer; they may arrive in any order, so the
     * wait is worked out once the transfer is over. */
    char retry_after[64];
    time_t date;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static char global_error[160];

static void init_curl(void *arg)
{
    (void)arg;
    global_rc = curl_mem_global_init(CURL_GLOBAL_DEFAULT);
}

/* Global init once per process and never cleaned up: the host may use libcurl too.
 * libcurl and OpenSSL read the environment while initialising, and in su or sudo that
 * environment is the caller's: SSLKEYLOGFILE alone makes libcurl create a file as root
 * and write the session keys to it. So they initialise with an empty environment; the
 * host's array is put back as it was. Swapping environ is only safe with no other thread
 * to read it: a multi-threaded host that sets one of the risky variables gets a refusal. */
static void global_init(void)
{
    const char *risky;

    if (host_sole_thread()) {
        host_with_empty_env(init_curl, NULL);
    } else if ((risky = host_risky_env()) != NULL) {
        snprintf(global_error, sizeof(global_error),
                 "%s is set in a multi-threaded host: libcurl or OpenSSL would act on it", risky);
        global_rc = CURLE_FAILED_INIT;
    } else {
        init_curl(NULL);
    }
    if (global_rc != CURLE_OK && !global_error[0])
        snprintf(global_error, sizeof(global_error), "%s", curl_easy_strerror(global_rc));
}

bool http_global_init(void)
{
    pthread_once(&global_once, global_init);
    return global_rc == CURLE_OK;
}

const char *http_global_error(void)
{
    return global_rc == CURLE_OK ? NULL : global_error;
}

/* TLS records are decrypted in place in OpenSSL's buffers: have them cleansed once read,
 * so tokens do not stay in freed memory. */
static CURLcode tune_ssl_ctx(CURL *h, void *ssl_ctx, void *arg)
{
    (void)h;
    (void)arg;
    SSL_CTX_set_options((SSL_CTX *)ssl_ctx, SSL_OP_CLEANSE_PLAINTEXT);
    return CURLE_OK;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct sink *s = userp;
    size_t n = size * nmemb;
    struct http_response *r = s->resp;

    if (r->len + n > s->max) {
        s->too_large = 1;
        return 0; /* makes curl abort the transfer */
    }
    if (wipe_grow(&r->body, &s->cap, r->len, r->len + n + 1, 4096, s->max + 1) != 0)
        return 0;
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* A header's value without leading and trailing white space (and CRLF), cut to fit. */
static void header_value(const char *data, size_t n, size_t skip, char *out, size_t outlen)
{
    const char *v = data + skip, *end = data + n;
    size_t l;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    l = (size_t)(end - v) < outlen - 1 ? (size_t)(end - v) : outlen - 1;
    memcpy(out, v, l);
    out[l] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
    struct sink *sink = userp;
    struct http_response *r = sink->resp;
    size_t n = size * nitems;

    /* A new status line (after "100 Continue" or a proxy's CONNECT answer): only the
     * final answer's headers count. */
    if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
        sink->retry_after[0] = '\0';
        sink->date = 0;
        r->max_age = -1;
    }

    if (n > 14 && strncasecmp(data, "Cache-Control:", 14) == 0) {
        char buf[256] = {0};
        char *p;
        memcpy(buf, data + 14, n - 14 < sizeof(buf) - 1 ? n - 14 : sizeof(buf) - 1);
        for (p = buf; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (strstr(buf, "no-store") || strstr(buf, "no-cache")) {
            r->max_age = 0;
        } else if ((p = strstr(buf, "max-age=")) != NULL) {
            char *end;
            long v = strtol(p + 8, &end, 10);
            if (end != p + 8 && v >= 0)
                r->max_age = v;
        }
    }
    /* The first Retry-After counts. A longer value than fits is cut: a date then fails to
     * parse, a number stays a number far above HTTP_RETRY_AFTER_MAX. */
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0 && !sink->retry_after[0])
        header_value(data, n, 12, sink->retry_after, sizeof(sink->retry_after));
    if (n > 5 && strncasecmp(data, "Date:", 5) == 0) {
        char buf[64];
        header_value(data, n, 5, buf, sizeof(buf));
        if (!http_parse_date(buf, &sink->date))
            sink->date = 0;
    }
    return n;
}

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Fixed English names, never the locale's (strptime's %b would follow LC_TIME). */
static int month_of(const char *m)
{
    for (int i = 0; i < 12; i++)
        if (strcmp(m, month_names[i]) == 0)
            return i;
    return -1;
}

static bool all_alpha(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
            return false;
    return true;
}

/* Exactly width digits (or 1..width when width_min is 1) at *p, moving past them. */
static bool take_digits(const char **p, int width_min, int width, int *out)
{
    int v = 0, i = 0;
    while (i < width && (*p)[i] >= '0' && (*p)[i] <= '9') {
        v = v * 10 + ((*p)[i] - '0');
        i++;
    }
    if (i < width_min)
        return false;
    *p += i;
    *out = v;
    return true;
}

static bool take(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool take_word(const char **p, char *out, size_t outlen)
{
    size_t i = 0;
    while (((**p >= 'A' && **p <= 'Z') || (**p >= 'a' && **p <= 'z')) && i < outlen - 1)
        out[i++] = *(*p)++;
    out[i] = '\0';
    return i > 0;
}

static bool take_time(const char **p, struct tm *tm)
{
    return take_digits(p, 2, 2, &tm->tm_hour) && take(p, ":") && take_digits(p, 2, 2, &tm->tm_min) &&
           take(p, ":") && take_digits(p, 2, 2, &tm->tm_sec);
}

bool http_parse_date(const char *s, time_t *out)
{
    struct tm tm = {0}, want, back;
    char wday[16], mon[8];
    const char *p = s;
    int year = 0;
    bool ok;
    time_t t;

    if (!take_word(&p, wday, sizeof(wday)) || !all_alpha(wday, 3, 9))
        return false;
    if (take(&p, ", ")) {
        int day;
        if (strlen(wday) == 3) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            ok = take_digits(&p, 2, 2, &day) && take(&p, " ") && take_word(&p, mon, sizeof(mon)) &&
                 take(&p, " ") && take_digits(&p, 4, 4, &year) && take(&p, " ") && take_time(&p, &tm) &&
                 take(&p, " GMT") && !*p;
        } else { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            ok = take_digits(&p, 2, 2, &day) && take(&p, "-") && take_word(&p, mon, sizeof(mon)) &&
                 take(&p, "-") && take_digits(&p, 2, 2, &year) && take(&p, " ") && take_time(&p, &tm) &&
                 take(&p, " GMT") && !*p;
            year += year < 70 ? 2000 : 1900;
        }
        tm.tm_mday = day;
    } else { /* asctime: Sun Nov  6 08:49:37 1994 */
        ok = strlen(wday) == 3 && take(&p, " ") && take_word(&p, mon, sizeof(mon)) && take(&p, " ");
        if (ok && *p == ' ')
            p++;
        ok = ok && take_digits(&p, 1, 2, &tm.tm_mday) && take(&p, " ") && take_time(&p, &tm) &&
             take(&p, " ") && take_digits(&p, 4, 4, &year) && !*p;
    }
    if (!ok || (tm.tm_mon = month_of(mon)) < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || year < 1970)
        return false;
    tm.tm_year = year - 1900;
    want = tm;
    t = timegm(&tm);
    /* timegm rolls 31 Feb over into March (and normalises tm): a date that is not on the
     * calendar is refused. */
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != want.tm_mday || back.tm_mon != want.tm_mon ||
        back.tm_year != want.tm_year)
        return false;
    *out = t;
    return true;
}

long http_parse_retry_after(const char *value, time_t now)
{
    const char *p = value;
    time_t when;
    long v = 0;

    if (!value || !*value)
        return -1;
    if (*p >= '0' && *p <= '9') {
        /* delay-seconds: digits only; any size is read without overflow and capped. */
        for (; *p >= '0' && *p <= '9'; p++)
            v = v >= HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : v * 10 + (*p - '0');
        if (*p)
            return -1;
        return v > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : v;
    }
    if (!http_parse_date(value, &when))
        return -1;
    if (when <= now)
        return 0;
    return when - now > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : (long)(when - now);
}

/* System trust: libcurl's default bundle file is parsed whole on every connection (about
 * 55 ms of CPU per login with OpenSSL 3 and Debian's ~140 roots). When libcurl also has a
 * built-in hashed CA directory (Debian: /etc/ssl/certs, kept in step with the bundle by
 * update-ca-certificates), use it alone: OpenSSL then reads only the root it needs. */
static void prefer_ca_directory(CURL *h)
{
#if LIBCURL_VERSION_NUM >= 0x075400 /* CURLINFO_CAPATH: 7.84.0 */
    char *capath = NULL;
    struct stat st;

    if (curl_easy_getinfo(h, CURLINFO_CAPATH, &capath) == CURLE_OK && capath &&
        stat(capath, &st) == 0 && S_ISDIR(st.st_mode))
        curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
#else
    (void)h;
#endif
}

struct http_client *http_client_new(const struct http_options *opts)
{
    struct http_client *c;
    CURL *h;

    if (!http_global_init())
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->opts = *opts;
    if (!c->opts.max_body)
        c->opts.max_body = HTTP_MAX_BODY;
    h = c->curl = curl_easy_init();
    if (!h) {
        free(c);
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, tune_ssl_ctx);
    if (c->opts.sole_thread)
        host_fds_snapshot(&c->fds_before);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)(c->opts.tls_min_version == TLS_MIN_1_3
                                                       ? CURL_SSLVERSION_TLSv1_3 : CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->opts.connect_timeout);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->opts.request_timeout);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->opts.max_body);
    /* The environment of a PAM application is not the admin's: ignore *_proxy there
     * unless proxy_from_env says otherwise. The proxy itself is chosen per request. */
    if (!c->opts.proxy_from_env)
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    /* libcurl reads no_proxy from the environment even for an explicit proxy unless
     * CURLOPT_NOPROXY is set; "" means "no exceptions". */
    if (c->opts.no_proxy || !c->opts.proxy_from_env)
        curl_easy_setopt(h, CURLOPT_NOPROXY, c->opts.no_proxy ? c->opts.no_proxy : "");
    if (c->opts.ca_path) {
        curl_easy_setopt(h, CURLOPT_CAPATH, c->opts.ca_path);
        curl_easy_setopt(h, CURLOPT_PROXY_CAPATH, c->opts.ca_path);
    }
    if (c->opts.pinned_public_key)
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->opts.pinned_public_key);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pam_ciba/" PACKAGE_VERSION);
    if (c->opts.ca_pem) {
        /* Copied by libcurl (COPY): public bytes, and the config may be freed first. */
        struct curl_blob ca = {(void *)c->opts.ca_pem, c->opts.ca_pem_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
        curl_easy_setopt(h, CURLOPT_PROXY_CAINFO_BLOB, &ca);
    } else if (!c->opts.ca_path) {
        /* ca_path replaces libcurl's built-in directory: then the bundle must stay. */
        prefer_ca_directory(h);
    }
    if (c->opts.client_cert_pem && c->opts.client_key_pem) {
        /* The key stays in our (wiped) memory: NOCOPY keeps curl from holding a copy. */
        struct curl_blob key = {(void *)c->opts.client_key_pem, strlen(c->opts.client_key_pem),
                                CURL_BLOB_NOCOPY};
        struct curl_blob cert = {(void *)c->opts.client_cert_pem, c->opts.client_cert_pem_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return c;
}

void http_options_from_config(const struct config *cfg, struct http_options *o)
{
    memset(o, 0, sizeof(*o));
    o->ca_pem = cfg->ca_file_pem;
    o->ca_pem_len = cfg->ca_file_len;
    o->connect_timeout = cfg->connect_timeout;
    o->request_timeout = cfg->request_timeout;
    o->http_proxy = cfg->http_proxy;
    o->https_proxy = cfg->https_proxy;
    o->no_proxy = cfg->no_proxy;
    o->proxy_from_env = cfg->proxy_from_env;
    o->ca_path = cfg->ca_path;
    o->tls_min_version = cfg->tls_min_version;
    o->pinned_public_key = cfg->pin_hashes;
    if (cfg->client_auth == CLIENT_AUTH_TLS_CLIENT_AUTH) {
        o->client_cert_pem = cfg->tls_client_cert_pem;
        o->client_cert_pem_len = cfg->tls_client_cert_len;
        o->client_key_pem = cfg->tls_client_key_pem;
    }
}

/* The configured proxy for url's scheme; NULL leaves curl's current setting. */
static const char *proxy_for(const struct http_client *c, const char *url)
{
    if (strncmp(url, "https://", 8) == 0)
        return c->opts.https_proxy;
    if (strncmp(url, "http://", 7) == 0)
        return c->opts.http_proxy;
    return NULL;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void http_response_clear(struct http_response *r)
{
    if (!r)
        return;
    wipe_free(r->body, r->len);
    memset(r, 0, sizeof(*r));
    r->retry_after = -1;
    r->max_age = -1;
}

/* curl_slist_append that frees the whole list when it fails. */
static struct curl_slist *append_header(struct curl_slist *list, const char *h)
{
    struct curl_slist *n = curl_slist_append(list, h);
    if (!n)
        curl_slist_free_all(list);
    return n;
}

/* errno values that say the failure is in this process or this machine, whatever curl
 * code they come with: running out of descriptors or memory, or a local policy refusing. */
static bool local_errno(long e)
{
    switch (e) {
    case EMFILE: case ENFILE: case ENOMEM: case ENOBUFS: case EACCES: case EPERM:
    case EAFNOSUPPORT: case EPROTONOSUPPORT: case EADDRNOTAVAIL: case EADDRINUSE:
    case EINVAL: case EBADF: case ENOTSOCK: case EFAULT: case ENOSPC: case EROFS:
        return true;
    default:
        return false;
    }
}

/* errno values of a connect() that reached the network and found nobody there. */
static bool network_errno(long e)
{
    switch (e) {
    case ECONNREFUSED: case ETIMEDOUT: case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN:
    case EHOSTDOWN: case ECONNRESET: case ECONNABORTED: case EPIPE:
        return true;
    default:
        return false;
    }
}

enum http_failure http_classify_failure(int curl_code, long os_errno)
{
    if (local_errno(os_errno))
        return HTTP_FAIL_LOCAL;
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_CONNECT:
        /* socket() failing (EMFILE) is reported as "couldn't connect" too: only a
         * connect() that got an answer from the network (or none in time) is an outage. */
        return network_errno(os_errno) ? HTTP_FAIL_NETWORK : HTTP_FAIL_LOCAL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR: /* a reachable server whose TLS handshake failed */
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return HTTP_FAIL_NETWORK;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return HTTP_FAIL_TRUST;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL: /* a redirect or proxy answer we do not follow */
        return HTTP_FAIL_PEER;
    default:
        /* Out of memory, unreadable CA or key files, bad options, and every code we
         * have not looked at: local, so failmode = "safe" never softens it. */
        return HTTP_FAIL_LOCAL;
    }
}

/* Our own socket(): libcurl reports a socket() that failed (EMFILE) as "couldn't
 * connect", with CURLINFO_OS_ERRNO unset or left over from an earlier request, so
 * the errno is kept here. Close-on-exec, so no socket leaks into a program the host
 * starts. */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct http_client *c = ctx;
    int fd;

    (void)purpose;
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0) {
        c->socket_errno = errno ? errno : EMFILE;
        return CURL_SOCKET_BAD;
    }
    return fd;
}

bool http_descriptors_spare(int n)
{
    int fds[32], got = 0;

    if (n > (int)(sizeof(fds) / sizeof(fds[0])))
        n = (int)(sizeof(fds) / sizeof(fds[0]));
    /* Take them all, then give them back: open fails with EMFILE past RLIMIT_NOFILE. */
    if ((fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        for (got = 1; got < n; got++)
            if ((fds[got] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0)) < 0)
                break;
    for (int i = 0; i < got; i++)
        close(fds[i]);
    return got == n;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Per-request timeouts in ms: the configured ones, cut to what is left of the login's
 * hard end. false: the login's deadline for starting requests has passed. */
static bool request_timeouts(const struct http_client *c, long *connect_ms, long *total_ms)
{
    double now = mono_now();
    long left;

    *connect_ms = c->opts.connect_timeout * 1000;
    *total_ms = c->opts.request_timeout * 1000;
    if (c->opts.start_by > 0 && now >= c->opts.start_by)
        return false;
    if (c->opts.end_by > 0) {
        left = (long)((c->opts.end_by - now) * 1000.0);
        if (left < 1)
            return false;
        /* 0 means "no limit" (connect: 300 s) to libcurl, so a limit is never 0. */
        if (*connect_ms <= 0 || *connect_ms > left)
            *connect_ms = left;
        if (*total_ms <= 0 || *total_ms > left)
            *total_ms = left;
    }
    return true;
}

/* One request on the login's handle: POST when body is set, GET otherwise. */
static result perform(void *ctx, const char *url, const char *body, const char *authorization,
                      struct http_response *resp, char *err, size_t errlen)
{
    struct http_client *c = ctx;
    struct curl_slist *hdrs = NULL, *tmp;
    struct sink sink = {resp, 0, c->opts.max_body, 0, "", 0};
    char *auth_hdr = NULL;
    char *ctype = NULL;
    CURLcode rc;
    long connect_ms, total_ms, os_errno = 0;
    result r = RES_OK;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    resp->max_age = -1;
    if (!request_timeouts(c, &connect_ms, &total_ms)) {
        snprintf(err, errlen, "max_wait passed: no new request");
        return RES_TIMEOUT;
    }
    if (!(hdrs = curl_slist_append(NULL, "Accept: application/json")))
        goto oom;
    if (body && !(hdrs = append_header(hdrs, "Content-Type: application/x-www-form-urlencoded")))
        goto oom;
    /* An empty Expect: stops curl from waiting for "100 Continue" on larger bodies. */
    if (body && !(hdrs = append_header(hdrs, "Expect:")))
        goto oom;
    if (authorization) {
        size_t n = strlen("Authorization: ") + strlen(authorization) + 1;
        if (!(auth_hdr = malloc(n)))
            goto oom;
        snprintf(auth_hdr, n, "Authorization: %s", authorization);
        if (!(hdrs = append_header(hdrs, auth_hdr)))
            goto oom;
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(c->curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c->curl, CURLOPT_OPENSOCKETDATA, c);
    c->socket_errno = 0;
    if (proxy_for(c, url))
        curl_easy_setopt(c->curl, CURLOPT_PROXY, proxy_for(c, url));
    else /* NULL: libcurl's default, which reads the environment */
        curl_easy_setopt(c->curl, CURLOPT_PROXY, c->opts.proxy_from_env ? NULL : "");
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &sink);

    rc = curl_easy_perform(c->curl);
    /* libcurl's own socket pairs (resolver, wakeup) are made without close-on-exec. */
    if (c->opts.sole_thread)
        host_fds_cloexec_since(&c->fds_before);
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errlen, "response body larger than %zu bytes", c->opts.max_body);
        r = RES_PROTOCOL;
    } else if (rc != CURLE_OK) {
        /* Only a provider we could not reach is an outage (failmode = "safe"); the rest
         * fails closed, and says which it was. */
        enum http_failure why;
        if (c->socket_errno)
            os_errno = c->socket_errno;
        else if (rc == CURLE_COULDNT_CONNECT)
            curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        why = http_classify_failure(rc, os_errno);
        /* A failed name lookup or connection while this process cannot get descriptors
         * (the resolver's own socket hit the limit) is the limit, not the network. */
        if (why == HTTP_FAIL_NETWORK && !http_descriptors_spare(4)) {
            why = HTTP_FAIL_LOCAL;
            os_errno = EMFILE;
        }
        switch (why) {
        case HTTP_FAIL_NETWORK:
            snprintf(err, errlen, "%s", curl_easy_strerror(rc));
            r = RES_UNAVAILABLE;
            break;
        case HTTP_FAIL_TRUST:
            snprintf(err, errlen, "TLS trust failure: %s", curl_easy_strerror(rc));
            r = RES_PROTOCOL;
            break;
        case HTTP_FAIL_PEER:
            snprintf(err, errlen, "unusable answer: %s", curl_easy_strerror(rc));
            r = RES_PROTOCOL;
            break;
        case HTTP_FAIL_LOCAL:
            if (os_errno)
                snprintf(err, errlen, "local failure: %s (%s)", curl_easy_strerror(rc), strerror((int)os_errno));
            else
                snprintf(err, errlen, "local failure: %s", curl_easy_strerror(rc));
            r = RES_INTERNAL;
            break;
        }
    } else {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        /* An HTTP-date is counted from the provider's own Date when it sent one, so a
         * skewed host clock does not stretch or shrink the wait. */
        resp->retry_after = http_parse_retry_after(sink.retry_after, sink.date ? sink.date : time(NULL));
        if (curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
            snprintf(resp->content_type, sizeof(resp->content_type), "%s", ctype);
        if (!resp->body) {
            resp->body = calloc(1, 1);
            sink.cap = 1;
            if (!resp->body) {
                snprintf(err, errlen, "out of memory");
                r = RES_INTERNAL;
            }
        }
    }
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    r = RES_INTERNAL;
out:
    /* curl keeps pointers to these until the next request: clear them before freeing. */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
    for (tmp = hdrs; tmp; tmp = tmp->next)
        explicit_bzero(tmp->data, strlen(tmp->data));
    curl_slist_free_all(hdrs);
    wipe_free_str(auth_hdr);
    if (r != RES_OK)
        http_response_clear(resp);
    return r;
}

static result http_post(void *ctx, const char *url, const char *body, const char *authorization,
                        struct http_response *resp, char *err, size_t errlen)
{
    return perform(ctx, url, body ? body : "", authorization, resp, err, errlen);
}

static result http_get(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen)
{
    return perform(ctx, url, NULL, NULL, resp, err, errlen);
}

struct transport http_client_transport(struct http_client *c)
{
    struct transport t = {http_post, http_get, c};
    return t;
}
