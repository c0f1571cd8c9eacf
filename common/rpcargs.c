#include "rpcargs.h"

#include <stdlib.h>
#include <string.h>

#include "ids.h"

int rpcargs_count(xmlrpc_env *env, xmlrpc_value *params, int n)
{
    if (xmlrpc_value_type(params) != XMLRPC_TYPE_ARRAY ||
        xmlrpc_array_size(env, params) != n) {
        if (!env->fault_occurred)
            xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST, "expected %d arguments", n);
        return -1;
    }
    return 0;
}

static xmlrpc_value *item(xmlrpc_env *env, xmlrpc_value *params, int i)
{
    xmlrpc_value *v = NULL;
    xmlrpc_array_read_item(env, params, (unsigned)i, &v);
    return env->fault_occurred ? NULL : v;
}

int rpcargs_int(xmlrpc_env *env, xmlrpc_value *params, int i, int64_t min, int64_t max,
                int64_t *out)
{
    xmlrpc_value *v = item(env, params, i);
    if (!v)
        return -1;
    int64_t x = 0;
    if (xmlrpc_value_type(v) == XMLRPC_TYPE_I8) {
        xmlrpc_int64 t;
        xmlrpc_read_i8(env, v, &t);
        x = t;
    } else if (xmlrpc_value_type(v) == XMLRPC_TYPE_INT) {
        int t;
        xmlrpc_read_int(env, v, &t);
        x = t;
    } else {
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST, "argument %d is not an integer",
                                       i + 1);
    }
    xmlrpc_DECREF(v);
    if (env->fault_occurred)
        return -1;
    if (x < min || x > max) {
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST, "argument %d is out of range",
                                       i + 1);
        return -1;
    }
    *out = x;
    return 0;
}

int rpcargs_id(xmlrpc_env *env, xmlrpc_value *params, int i, uint64_t *out)
{
    int64_t x;
    if (rpcargs_int(env, params, i, 0, (int64_t)DKV_ID_MAX, &x) < 0)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

int rpcargs_bytes(xmlrpc_env *env, xmlrpc_value *params, int i, size_t max_len,
                  unsigned char **out, size_t *len)
{
    xmlrpc_value *v = item(env, params, i);
    if (!v)
        return -1;
    if (xmlrpc_value_type(v) != XMLRPC_TYPE_BASE64) {
        xmlrpc_DECREF(v);
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST, "argument %d is not base64",
                                       i + 1);
        return -1;
    }
    const unsigned char *p = NULL;
    xmlrpc_read_base64(env, v, len, &p);
    xmlrpc_DECREF(v);
    if (env->fault_occurred)
        return -1;
    if (*len > max_len) {
        free((void *)p);
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST,
                                       "argument %d is longer than %zu bytes", i + 1, max_len);
        return -1;
    }
    *out = (unsigned char *)p;
    return 0;
}

int rpcargs_string(xmlrpc_env *env, xmlrpc_value *params, int i, size_t max_len, char **out)
{
    xmlrpc_value *v = item(env, params, i);
    if (!v)
        return -1;
    const char *s = NULL;
    if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING)
        xmlrpc_read_string(env, v, &s);
    else
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST, "argument %d is not a string",
                                       i + 1);
    xmlrpc_DECREF(v);
    if (env->fault_occurred)
        return -1;
    size_t n = strlen(s);
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)s[k] < 0x20) {
            free((void *)s);
            xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST,
                                           "argument %d has control characters", i + 1);
            return -1;
        }
    if (n > max_len) {
        free((void *)s);
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST, "argument %d is too long", i + 1);
        return -1;
    }
    *out = (char *)s;
    return 0;
}

int rpcargs_struct_int(xmlrpc_env *env, xmlrpc_value *s, const char *name, int64_t *out)
{
    if (xmlrpc_value_type(s) != XMLRPC_TYPE_STRUCT)
        return -1;
    xmlrpc_value *v = NULL;
    xmlrpc_struct_find_value(env, s, name, &v);
    if (env->fault_occurred || !v)
        return -1;
    int rc = 0;
    if (xmlrpc_value_type(v) == XMLRPC_TYPE_I8) {
        xmlrpc_int64 t;
        xmlrpc_read_i8(env, v, &t);
        *out = t;
    } else if (xmlrpc_value_type(v) == XMLRPC_TYPE_INT) {
        int t;
        xmlrpc_read_int(env, v, &t);
        *out = t;
    } else {
        rc = -1;
    }
    xmlrpc_DECREF(v);
    return env->fault_occurred ? -1 : rc;
}
