/* Helpers shared by the unit tests. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "../common/net.h"
#include "../common/xalloc.h"

void tests_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                     const CU_TestInfo *tests)
{
    CU_pSuite s = CU_add_suite(name, init, cleanup);
    if (!s) {
        fprintf(stderr, "cannot add suite %s: %s\n", name, CU_get_error_msg());
        exit(2);
    }
    for (const CU_TestInfo *t = tests; t->pName; t++)
        if (!CU_add_test(s, t->pName, t->pTestFunc)) {
            fprintf(stderr, "cannot add test %s: %s\n", t->pName, CU_get_error_msg());
            exit(2);
        }
}

char *tests_mkdtemp(void)
{
    char tmpl[] = "/tmp/dkv-unit-XXXXXX";
    if (!mkdtemp(tmpl))
        return NULL;
    return xstrdup(tmpl);
}

/* Depth-first removal; LevelDB directories are shallow, so recursion is
 * bounded. Symbolic links are unlinked, never followed. */
static void rmtree_rec(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                size_t n = strlen(path) + strlen(e->d_name) + 2;
                char *child = xmalloc(n);
                snprintf(child, n, "%s/%s", path, e->d_name);
                rmtree_rec(child);
                free(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void tests_rmtree(char *path)
{
    /* Only ever remove what tests_mkdtemp made. */
    if (path && strncmp(path, "/tmp/dkv-unit-", 14) == 0)
        rmtree_rec(path);
    free(path);
}

const char *tests_path(const char *dir, const char *name)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static char *scratch_dir;
static unsigned scratch_count;

int tests_scratch_init(void)
{
    scratch_dir = tests_mkdtemp();
    scratch_count = 0;
    return scratch_dir ? 0 : -1;
}

int tests_scratch_cleanup(void)
{
    tests_rmtree(scratch_dir);
    scratch_dir = NULL;
    return 0;
}

const char *tests_scratch_path(const char *name) { return tests_path(scratch_dir, name); }

const char *tests_scratch_fresh(const char *prefix)
{
    char name[64];
    snprintf(name, sizeof name, "%s%u", prefix, scratch_count++);
    return tests_scratch_path(name);
}

int tests_listen(uint16_t *port)
{
    dkv_err err;
    int fd = net_listen("127.0.0.1", 0, port, &err);
    if (fd < 0)
        fprintf(stderr, "\n  net_listen: %s\n", err.msg);
    CU_ASSERT_FATAL(fd >= 0);
    return fd;
}

pid_t tests_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    return pid;
}

vclock *tests_vc(const char *text)
{
    vclock *vc = vclock_new();
    dkv_err err;
    if (vclock_parse(text, vc, &err) < 0) {
        fprintf(stderr, "test bug: bad clock '%s': %s\n", text, err.msg);
        abort();
    }
    return vc;
}
