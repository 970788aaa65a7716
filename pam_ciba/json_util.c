/* One place for "parse this whole buffer as JSON" and typed member access. */
#include "json_util.h"
#include <json-c/printbuf.h>
#include <string.h>

/* The tokener assembles every string value in its print buffer; provider responses carry
 * tokens, so the buffer is sized once for the whole input (growing it would free old
 * copies unwiped) and wiped before it is freed. */
static void tokener_presize(struct json_tokener *tok, size_t len)
{
    if (tok->pb && printbuf_memset(tok->pb, 0, 0, (int)len + 1) >= 0)
        printbuf_reset(tok->pb);
}

static void tokener_free_wiped(struct json_tokener *tok)
{
    if (tok->pb && tok->pb->buf)
        explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
    json_tokener_free(tok);
}

json_object *json_parse_exact(const char *buf, size_t len)
{
    struct json_tokener *tok;
    json_object *o;
    size_t end;

    if (!buf || len == 0 || len > 0x7fffffff || memchr(buf, '\0', len))
        return NULL;
    if (!(tok = json_tokener_new()))
        return NULL;
    tokener_presize(tok, len);
    o = json_tokener_parse_ex(tok, buf, (int)len);
    end = (size_t)tok->char_offset;
    if (o && json_tokener_get_error(tok) == json_tokener_success) {
        while (end < len && strchr(" \t\r\n", buf[end]))
            end++;
    }
    if (o && (json_tokener_get_error(tok) != json_tokener_success || end != len)) {
        json_object_put(o);
        o = NULL;
    }
    tokener_free_wiped(tok);
    return o;
}

json_object *json_parse_object(const char *buf, size_t len)
{
    json_object *o = json_parse_exact(buf, len);
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

const char *json_str(json_object *v)
{
    const char *s;
    if (!v || !json_object_is_type(v, json_type_string) || !(s = json_object_get_string(v)))
        return NULL;
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

const char *json_get_str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return json_str(v);
}

void json_wipe_member(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}
