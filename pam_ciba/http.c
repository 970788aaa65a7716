/* libcurl-backed HTTPS: TLS always verified, no redirects, no compression, capped bodies. */
#include "http.h"
#include "wipe.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_client {
    CURL *curl;
    struct http_options opts;
};

struct sink {
    struct http_response *resp;
    size_t cap, max;
    int too_large;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* Global init once per process and never cleaned up: the host may use libcurl too. */
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
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
    if (r->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *nb;
        while (r->len + n + 1 > cap)
            cap *= 2;
        if (cap > s->max + 1)
            cap = s->max + 1;
        nb = malloc(cap);
        if (!nb)
            return 0;
        if (r->body)
            memcpy(nb, r->body, r->len);
        wipe_free(r->body, s->cap);
        r->body = nb;
        s->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userp)
{
    struct http_response *r = ((struct sink *)userp)->resp;
    size_t n = size * nitems;

    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char buf[32] = {0};
        size_t l = n - 12 < sizeof(buf) - 1 ? n - 12 : sizeof(buf) - 1;
        char *end;
        long v;
        memcpy(buf, data + 12, l);
        v = strtol(buf, &end, 10);
        if (end != buf && v >= 0)
            r->retry_after = v;
    }
    return n;
}

struct http_client *http_client_new(const struct http_options *opts)
{
    struct http_client *c;
    CURL *h;

    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
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
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->opts.connect_timeout);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->opts.request_timeout);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->opts.max_body);
    /* The environment of a PAM application is not the admin's: ignore *_proxy there. */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pam_ciba/" PACKAGE_VERSION);
    if (c->opts.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.ca_file);
    return c;
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
}

static result http_post(void *ctx, const char *url, const char *body, const char *authorization,
                        struct http_response *resp, char *err, size_t errlen)
{
    struct http_client *c = ctx;
    struct curl_slist *hdrs = NULL, *tmp;
    struct sink sink = {resp, 0, c->opts.max_body, 0};
    char *auth_hdr = NULL;
    char *ctype = NULL;
    CURLcode rc;
    result r = RES_OK;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    tmp = hdrs ? curl_slist_append(hdrs, "Accept: application/json") : NULL;
    if (tmp)
        hdrs = tmp;
    /* An empty Expect: stops curl from waiting for "100 Continue" on larger bodies. */
    tmp = tmp ? curl_slist_append(hdrs, "Expect:") : NULL;
    if (tmp)
        hdrs = tmp;
    if (tmp && authorization) {
        size_t n = strlen("Authorization: ") + strlen(authorization) + 1;
        auth_hdr = malloc(n);
        if (auth_hdr) {
            snprintf(auth_hdr, n, "Authorization: %s", authorization);
            tmp = curl_slist_append(hdrs, auth_hdr);
            if (tmp)
                hdrs = tmp;
        } else {
            tmp = NULL;
        }
    }
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        r = RES_INTERNAL;
        goto out;
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &sink);

    rc = curl_easy_perform(c->curl);
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errlen, "response body larger than %zu bytes", c->opts.max_body);
        r = RES_PROTOCOL;
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        r = RES_UNAVAILABLE;
    } else {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
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

struct transport http_client_transport(struct http_client *c)
{
    struct transport t = {http_post, c};
    return t;
}
