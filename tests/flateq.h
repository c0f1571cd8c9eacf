/* flateq: comparisons of rpcflat values with each other and with what
 * xmlrpc-c decoded, shared by the rpcflat unit tests and its fuzz target
 * (test code: no dependency on the product's own conversions in rpc.c). */
#ifndef DKV_TESTS_FLATEQ_H
#define DKV_TESTS_FLATEQ_H

#include <stdbool.h>
#include <xmlrpc-c/base.h>

#include "../common/rpcflat.h"

/* Same type and the same integer, boolean or bytes. */
bool flateq_val(const rpcflat_val *a, const rpcflat_val *b);
/* Whether xmlrpc-c's scalar x is want (i8 or int for integers). */
bool flateq_xmlrpc(xmlrpc_value *x, const rpcflat_val *want);

#endif
