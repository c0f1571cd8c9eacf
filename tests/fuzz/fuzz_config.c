/* libFuzzer target for the cluster file (master --config): parsing any
 * bytes never crashes, and the position finder behind its messages walks
 * any text, JSON or not, without reading past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/jsonpos.h"
#include "../../master/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dkv_err err;
    config *c = config_parse("fuzz.json", (const char *)data, size, "/d", &err);
    if (c) {
        size_t m;
        for (uint64_t id = 0; id < 8; id++)
            config_place(c, id, id & 1, 0, &m, &err);
        config_free(c);
    }
    /* The first bytes pick a path; the rest is the text. */
    if (size >= 3) {
        jsonpos_step path[3] = {{"machines", 0}, {NULL, data[0] % 4}, {"watchdog", 0}};
        int line, col;
        jsonpos_find((const char *)data + 2, size - 2, path, data[1] % 4, &line, &col);
    }
    return 0;
}
