/* storetest: helpers of the store and storage interface tests. */
#include "storetest.h"

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vclock.h"

dkv_update storetest_upd(uint64_t origin, uint64_t seq, uint64_t lamport, const char *key,
                         const char *value)
{
    return (dkv_update){origin, seq, lamport, (const uint8_t *)key, strlen(key),
                        (const uint8_t *)value, strlen(value)};
}

int storetest_apply(store *s, const dkv_update *u, size_t n, dkv_err *err)
{
    vclock *vc = vclock_new();
    uint64_t lamport = 0;
    for (size_t i = 0; i < n; i++) {
        if (u[i].lamport > lamport)
            lamport = u[i].lamport;
        vclock_set(vc, u[i].origin, u[i].seq);
    }
    record_meta m = {lamport, 1, vc};
    dkv_err own;
    int rc = store_apply(s, u, n, &m, err ? err : &own);
    if (rc < 0 && !err)
        fprintf(stderr, "\n  store_apply: %s\n", own.msg);
    vclock_free(vc);
    return rc;
}

void storetest_assert_value(store *s, const char *key, uint64_t lamport, uint64_t origin,
                            const char *value)
{
    bool found = false;
    dkv_version v = {0, 0};
    uint8_t *val = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(
        store_get(s, (const uint8_t *)key, strlen(key), &found, &v, &val, &n, NULL), 0);
    CU_ASSERT_FATAL(found);
    CU_ASSERT_EQUAL(v.lamport, lamport);
    CU_ASSERT_EQUAL(v.origin, origin);
    CU_ASSERT(n == strlen(value) && memcmp(val, value, n) == 0);
    if (v.lamport != lamport || v.origin != origin)
        fprintf(stderr, "\n  %s: version (%llu,%llu), want (%llu,%llu), value '%.*s'\n", key,
                (unsigned long long)v.lamport, (unsigned long long)v.origin,
                (unsigned long long)lamport, (unsigned long long)origin, (int)n, (char *)val);
    free(val);
}
