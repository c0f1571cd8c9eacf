#include "flateq.h"

#include <stdlib.h>
#include <string.h>

bool flateq_val(const rpcflat_val *a, const rpcflat_val *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == RPCFLAT_INT || a->type == RPCFLAT_BOOL)
        return a->i == b->i;
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* Whether want is a value of that type holding the n bytes at p. */
static bool holds(const rpcflat_val *want, rpcflat_type type, const void *p, size_t n)
{
    return want->type == type && want->n == n && (n == 0 || memcmp(p, want->p, n) == 0);
}

bool flateq_xmlrpc(xmlrpc_value *x, const rpcflat_val *want)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    bool ok = false;
    switch (xmlrpc_value_type(x)) {
    case XMLRPC_TYPE_I8: {
        xmlrpc_int64 i = 0;
        xmlrpc_read_i8(&env, x, &i);
        ok = want->type == RPCFLAT_INT && want->i == i;
        break;
    }
    case XMLRPC_TYPE_INT: {
        int i = 0;
        xmlrpc_read_int(&env, x, &i);
        ok = want->type == RPCFLAT_INT && want->i == i;
        break;
    }
    case XMLRPC_TYPE_BOOL: {
        xmlrpc_bool b = 0;
        xmlrpc_read_bool(&env, x, &b);
        ok = want->type == RPCFLAT_BOOL && want->i == (b ? 1 : 0);
        break;
    }
    case XMLRPC_TYPE_BASE64: {
        const unsigned char *p = NULL;
        size_t n = 0;
        xmlrpc_read_base64(&env, x, &n, &p);
        ok = !env.fault_occurred && holds(want, RPCFLAT_BYTES, p, n);
        free((void *)p);
        break;
    }
    case XMLRPC_TYPE_STRING: {
        const char *p = NULL;
        size_t n = 0;
        xmlrpc_read_string_lp(&env, x, &n, &p);
        ok = !env.fault_occurred && holds(want, RPCFLAT_STRING, p, n);
        free((void *)p);
        break;
    }
    default: break;
    }
    ok = ok && !env.fault_occurred;
    xmlrpc_env_clean(&env);
    return ok;
}
