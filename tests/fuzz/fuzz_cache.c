/* libFuzzer target: cache_get on hostile cache entry files, and cache_put/cache_get round
 * trips of hostile documents. Input: a flags byte (bit 0: kind "jwks" instead of
 * "discovery"; bit 1: allow_expired; bit 2: the rest is a document to store instead of an
 * entry file), then the rest. Oracles: an entry that loads holds exactly what an independent
 * json-c reading of the file says, for our URL, fetched no later than now + 60 and not
 * expired; what loads, stored again, loads back byte for byte; any stored document loads
 * back byte for byte. */
#include "cache.h"
#include "fuzz_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1800000000)
static const char URL[] = "https://t.example/.well-known/openid-configuration";
static char dir[256];

static void cleanup(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* A private directory on tmpfs when there is one: cache_put fsyncs every entry. */
static void setup(void)
{
    if (dir[0])
        return;
    snprintf(dir, sizeof(dir), "%s/pam_ciba-fuzz-cache-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    FUZZ_ASSERT(mkdtemp(dir) != NULL);
    atexit(cleanup);
}

/* The entry's file name, computed here rather than taken from cache.c. */
static void entry_path(const char *kind, char *out, size_t outlen)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];

    FUZZ_ASSERT(EVP_Digest(URL, strlen(URL), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(out, outlen, "%s/%s-%s.json", dir, kind, hex);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FUZZ_ASSERT(fd >= 0);
    FUZZ_ASSERT(write(fd, buf, len) == (ssize_t)len);
    FUZZ_ASSERT(close(fd) == 0);
}

/* Store body and load it back: the same bytes, fetched now. Only a body whose escaped
 * form might not fit CACHE_MAX_FILE may be left unstored (then nothing loads). */
static void round_trip(const char *kind, const char *body, long ttl)
{
    char *back = NULL;
    time_t fetched = 0;
    int must_fit = 6 * (strlen(body) + strlen(URL)) + 128 <= CACHE_MAX_FILE;
    char path[512];
    result r;

    entry_path(kind, path, sizeof(path));
    unlink(path); /* what loads below must be what was just stored */
    FUZZ_ASSERT(cache_put(&(struct cache){dir, geteuid()}, kind, URL, body, NOW, ttl) == RES_OK);
    r = cache_get(&(struct cache){dir, geteuid()}, kind, URL, NOW, 0, &back, &fetched);
    FUZZ_ASSERT(r == RES_OK || (r == RES_PROTOCOL && !must_fit && back == NULL));
    if (r == RES_OK)
        FUZZ_ASSERT(strcmp(back, body) == 0 && fetched == NOW);
    free(back);
}

static int64_t int_member(json_object *o, const char *key)
{
    json_object *v;
    FUZZ_ASSERT(json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int));
    return json_object_get_int64(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cache c = {dir, geteuid()};
    const char *kind;
    char path[512], *body = NULL;
    time_t fetched = 0;
    int allow_expired;

    if (size < 1)
        return 0;
    setup();
    kind = data[0] & 1 ? "jwks" : "discovery";
    allow_expired = (data[0] & 2) != 0;
    entry_path(kind, path, sizeof(path));
    if (data[0] & 4) {
        char *doc = strndup((const char *)data + 1, size - 1);
        FUZZ_ASSERT(doc);
        if (strlen(doc) <= CACHE_MAX_DOC)
            round_trip(kind, doc, 1 + data[0] / 8);
        free(doc);
        return 0;
    }
    write_file(path, data + 1, size - 1);
    if (cache_get(&c, kind, URL, NOW, allow_expired, &body, &fetched) == RES_OK) {
        char *text = strndup((const char *)data + 1, size - 1);
        json_object *o = text ? json_tokener_parse(text) : NULL, *v;
        int64_t f, e;

        FUZZ_ASSERT(o && json_object_is_type(o, json_type_object));
        FUZZ_ASSERT(json_object_object_get_ex(o, "url", &v) && strcmp(json_object_get_string(v), URL) == 0);
        FUZZ_ASSERT(json_object_object_get_ex(o, "body", &v) && json_object_is_type(v, json_type_string));
        FUZZ_ASSERT((size_t)json_object_get_string_len(v) == strlen(body));
        FUZZ_ASSERT(memcmp(json_object_get_string(v), body, strlen(body)) == 0);
        FUZZ_ASSERT(strlen(body) <= CACHE_MAX_DOC);
        f = int_member(o, "fetched");
        e = int_member(o, "expires");
        FUZZ_ASSERT(f == (int64_t)fetched && f <= (int64_t)NOW + 60 && e >= f);
        FUZZ_ASSERT(allow_expired || e > (int64_t)NOW);
        json_object_put(o);
        free(text);
        round_trip(kind, body, 60);
    } else {
        FUZZ_ASSERT(body == NULL);
    }
    free(body);
    return 0;
}
