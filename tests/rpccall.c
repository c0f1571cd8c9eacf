/* rpccall: one XML-RPC call to a daemon, for tests. Our XML-RPC travels in
 * wire frames (common/wire.h), not HTTP, so stock XML-RPC tools cannot
 * talk to the daemons; this one uses the project's own client.
 *
 *   rpccall [--timeout MS] [--secret-file FILE] HOST:PORT METHOD [ARG...]
 *
 * The daemons serve only callers that prove they know the cluster secret:
 * the secret file is --secret-file, else $DAADKVS_SECRET_FILE; with
 * neither the call goes unauthenticated (and a daemon refuses it).
 *
 * Each ARG is TYPE:TEXT: i:N (int), I:N (i8), t:0|1 (boolean), s:TEXT
 * (string), b:TEXT (base64 of TEXT's bytes), x:HEX (base64 of the bytes HEX
 * spells). The result is printed on stdout as one line of JSON (keys
 * sorted; bytes that are not UTF-8, and base64 values, as {"hex": "..."}).
 * Exit status: 0 a result, 1 a fault or a failed call (the message on
 * stderr), 2 a usage error. */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/hex.h"
#include "../common/rpc.h"
#include "../common/xalloc.h"

static void usage(void)
{
    fprintf(stderr, "usage: rpccall [--timeout MS] [--secret-file FILE] HOST:PORT METHOD\n"
                    "               [i:N|I:N|t:0|1|s:TEXT|b:TEXT|x:HEX]...\n");
}

static json_t *bytes_json(const unsigned char *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n); /* NULL unless valid UTF-8 */
    if (s)
        return s;
    char *h = hex_encode(p, n);
    json_t *o = json_pack("{s:s}", "hex", h);
    free(h);
    return o;
}

/* The result as JSON; NULL for a type it does not render. */
static json_t *to_json(xmlrpc_env *env, xmlrpc_value *v)
{
    switch (xmlrpc_value_type(v)) {
    case XMLRPC_TYPE_INT: {
        int x;
        xmlrpc_read_int(env, v, &x);
        return json_integer(x);
    }
    case XMLRPC_TYPE_I8: {
        xmlrpc_int64 x;
        xmlrpc_read_i8(env, v, &x);
        return json_integer((json_int_t)x);
    }
    case XMLRPC_TYPE_BOOL: {
        xmlrpc_bool b;
        xmlrpc_read_bool(env, v, &b);
        return json_boolean(b);
    }
    case XMLRPC_TYPE_DOUBLE: {
        double d;
        xmlrpc_read_double(env, v, &d);
        return json_real(d);
    }
    case XMLRPC_TYPE_STRING: {
        const char *s;
        size_t n;
        xmlrpc_read_string_lp(env, v, &n, &s);
        if (env->fault_occurred)
            return NULL;
        json_t *j = bytes_json((const unsigned char *)s, n);
        free((char *)s);
        return j;
    }
    case XMLRPC_TYPE_BASE64: {
        const unsigned char *p;
        size_t n;
        xmlrpc_read_base64(env, v, &n, &p);
        if (env->fault_occurred)
            return NULL;
        json_t *j = bytes_json(p, n);
        free((void *)p);
        return j;
    }
    case XMLRPC_TYPE_NIL: return json_null();
    case XMLRPC_TYPE_ARRAY: {
        json_t *a = json_array();
        int n = xmlrpc_array_size(env, v);
        for (int i = 0; i < n && !env->fault_occurred; i++) {
            xmlrpc_value *item;
            xmlrpc_array_read_item(env, v, i, &item);
            if (env->fault_occurred)
                break;
            json_t *j = to_json(env, item);
            xmlrpc_DECREF(item);
            if (!j)
                break;
            json_array_append_new(a, j);
        }
        return env->fault_occurred ? (json_decref(a), NULL) : a;
    }
    case XMLRPC_TYPE_STRUCT: {
        json_t *o = json_object();
        int n = xmlrpc_struct_size(env, v);
        for (int i = 0; i < n && !env->fault_occurred; i++) {
            xmlrpc_value *key, *val;
            xmlrpc_struct_read_member(env, v, (unsigned)i, &key, &val);
            if (env->fault_occurred)
                break;
            const char *k;
            xmlrpc_read_string(env, key, &k);
            json_t *j = env->fault_occurred ? NULL : to_json(env, val);
            if (j)
                json_object_set_new(o, k, j);
            if (!env->fault_occurred)
                free((char *)k);
            xmlrpc_DECREF(key);
            xmlrpc_DECREF(val);
            if (!j)
                break;
        }
        return env->fault_occurred ? (json_decref(o), NULL) : o;
    }
    default: return NULL;
    }
}

/* One argument from TYPE:TEXT, or NULL with err. */
static xmlrpc_value *parse_arg(xmlrpc_env *env, const char *arg, dkv_err *err)
{
    if (strlen(arg) < 2 || arg[1] != ':') {
        dkv_err_set(err, "argument '%.40s' is not TYPE:TEXT", arg);
        return NULL;
    }
    const char *text = arg + 2;
    bool neg = text[0] == '-';
    uint64_t u;
    switch (arg[0]) {
    case 'i':
    case 'I':
        if (ids_parse_u64(text + neg, arg[0] == 'i' ? 2147483648u : INT64_MAX, &u, err) < 0)
            return NULL;
        if (arg[0] == 'i') {
            if (!neg && u > 2147483647u) {
                dkv_err_set(err, "'%s' does not fit an int", text);
                return NULL;
            }
            return xmlrpc_int_new(env, neg ? (int)-(int64_t)u : (int)u);
        }
        return xmlrpc_i8_new(env, neg ? -(xmlrpc_int64)u : (xmlrpc_int64)u);
    case 't':
        if (strcmp(text, "0") != 0 && strcmp(text, "1") != 0) {
            dkv_err_set(err, "a boolean is t:0 or t:1");
            return NULL;
        }
        return xmlrpc_bool_new(env, text[0] == '1');
    case 's': return xmlrpc_string_new(env, text);
    case 'b': return xmlrpc_base64_new(env, strlen(text), (const unsigned char *)text);
    case 'x': {
        size_t n = strlen(text);
        unsigned char *p = xmalloc(n / 2 + 1);
        if (hex_decode(text, n, p, err) < 0) {
            free(p);
            dkv_err_wrap(err, "x:%.40s", text);
            return NULL;
        }
        xmlrpc_value *v = xmlrpc_base64_new(env, n / 2, p);
        free(p);
        return v;
    }
    default: dkv_err_set(err, "unknown argument type '%c'", arg[0]); return NULL;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, 0, 't'},
                                         {"secret-file", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int timeout_ms = 10000;
    const char *secret_file = getenv("DAADKVS_SECRET_FILE");
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "+", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 't':
            if (ids_parse_u64(optarg, 3600 * 1000, &v, &err) < 0 || v == 0) {
                fprintf(stderr, "rpccall: --timeout: expected milliseconds from 1 to 3600000\n");
                return 2;
            }
            timeout_ms = (int)v;
            break;
        case 'k': secret_file = optarg; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (argc - optind < 2) {
        usage();
        return 2;
    }
    char host[256];
    const char *target = argv[optind], *colon = strrchr(target, ':');
    uint64_t port;
    if (!colon || colon == target || (size_t)(colon - target) >= sizeof host ||
        ids_parse_u64(colon + 1, 65535, &port, &err) < 0 || port == 0) {
        fprintf(stderr, "rpccall: '%s' is not HOST:PORT\n", target);
        return 2;
    }
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    const char *method = argv[optind + 1];

    auth_key *key = NULL;
    if (secret_file && *secret_file && !(key = auth_key_load(secret_file, &err))) {
        fprintf(stderr, "rpccall: %s\n", err.msg);
        return 2;
    }
    rpc_global_init();
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *params = xmlrpc_array_new(&env);
    int status = 0;
    for (int i = optind + 2; i < argc && status == 0; i++) {
        xmlrpc_value *v = parse_arg(&env, argv[i], &err);
        if (!v || env.fault_occurred) {
            fprintf(stderr, "rpccall: %s\n", v ? env.fault_string : err.msg);
            status = 2;
        } else {
            xmlrpc_array_append_item(&env, params, v);
            xmlrpc_DECREF(v);
        }
    }
    if (status == 0) {
        rpc_client *c = rpc_client_new(host, (uint16_t)port, timeout_ms, key);
        xmlrpc_value *result = NULL;
        if (rpc_call(c, method, params, &result, &err) < 0) {
            fprintf(stderr, "rpccall: %s\n", err.msg);
            status = 1;
        } else {
            json_t *j = to_json(&env, result);
            if (!j) {
                fprintf(stderr, "rpccall: cannot render the result%s%s\n",
                        env.fault_occurred ? ": " : "", env.fault_occurred ? env.fault_string : "");
                status = 1;
            } else {
                char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
                printf("%s\n", text ? text : "");
                free(text);
                json_decref(j);
            }
            xmlrpc_DECREF(result);
        }
        rpc_client_free(c);
    }
    xmlrpc_DECREF(params);
    xmlrpc_env_clean(&env);
    auth_key_free(key);
    return status;
}
