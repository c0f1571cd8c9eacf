#include "vec.h"

#include <string.h>

#include "xalloc.h"

void *vec_reserve(void *items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return items;
    size_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    if (elem && c > (size_t)-1 / elem)
        c = need;
    items = xrealloc(items, c * elem);
    *cap = c;
    return items;
}

void *vec_grow_zeroed(void *items, size_t *cap, size_t n, size_t elem)
{
    items = vec_reserve(items, cap, n + 1, elem);
    memset((char *)items + n * elem, 0, elem);
    return items;
}
