/* procs: the watchdog's cap on processes running at once, and the pid
 * records (common/pidfile) it leaves for scripts/cleanup. The children are
 * stand-ins: shell scripts named server and client in a scratch bin
 * directory that report a port on fd 3, as the real daemons do, and then
 * idle until procs kills them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "../common/pidfile.h"
#include "../watchdog/procs.h"
#include "tests.h"

static void write_stand_in(const char *dir, const char *name)
{
    const char *path = tests_path(dir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("#!/bin/sh\necho 4242 >&3\nexec 3>&-\nexec tail -f /dev/null\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(chmod(path, 0700), 0);
}

static bool pid_recorded(const char *run, const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "pids/%s.pid", name);
    return access(tests_path(run, rel), F_OK) == 0;
}

static void test_cap(void)
{
    char *bin = tests_mkdtemp(), *run = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    write_stand_in(bin, "server");
    write_stand_in(bin, "client");
    procs *p = procs_new(bin, run, "127.0.0.1");
    CU_ASSERT_EQUAL(procs_count(p), 0);
    procs_set_max(p, 2);
    uint16_t port = 0;
    pid_t pid = 0;
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL(procs_start(p, PROCS_CLIENT, 11, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), 0);
    CU_ASSERT_EQUAL(port, 4242);
    CU_ASSERT_EQUAL(procs_start(p, PROCS_SERVER, 12, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), 0);
    CU_ASSERT_EQUAL(procs_count(p), 2);

    /* The third is refused, says why, and changes nothing. */
    CU_ASSERT_EQUAL(procs_start(p, PROCS_CLIENT, 13, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg,
                           "watchdog: at most 2 processes at a time (--max-procs); client 13 refused");
    CU_ASSERT_EQUAL(procs_start(p, PROCS_SERVER, 14, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "server 14 refused"));
    CU_ASSERT_EQUAL(procs_count(p), 2);
    CU_ASSERT(!pid_recorded(run, "client-13"));
    CU_ASSERT(!pid_recorded(run, "server-14"));
    CU_ASSERT(pid_recorded(run, "client-11"));
    CU_ASSERT_EQUAL(procs_kill(p, 13, &err), -1); /* never started */

    /* A running id is still told apart from a full table. */
    CU_ASSERT_EQUAL(procs_start(p, PROCS_CLIENT, 11, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "already running"));

    /* The cap counts processes at once: a kill frees a place. */
    CU_ASSERT_EQUAL(procs_kill(p, 11, &err), 0);
    CU_ASSERT_EQUAL(procs_start(p, PROCS_CLIENT, 13, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), 0);
    CU_ASSERT(pid_recorded(run, "client-13"));
    CU_ASSERT_EQUAL(procs_count(p), 2);
    procs_free(p); /* kills and reaps every stand-in */
    tests_rmtree(bin);
    tests_rmtree(run);
}

/* A record holds "PID STARTTIME" of the child; removing it twice is fine;
 * a record that cannot be written is reported. */
static void test_pid_records(void)
{
    char *bin = tests_mkdtemp(), *run = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(run);
    write_stand_in(bin, "client");
    procs *p = procs_new(bin, run, "127.0.0.1");
    uint16_t port = 0;
    pid_t pid = 0;
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(procs_start(p, PROCS_CLIENT, 7, &(procs_start_opts){.timeout_ms = 10000},
                                      &port, &pid, &err), 0);
    pidfile_stat st;
    CU_ASSERT_EQUAL_FATAL(pidfile_read_stat(pid, &st, &err), 0);
    CU_ASSERT(st.started > 0);
    FILE *f = fopen(tests_path(run, "pids/client-7.pid"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int rec_pid = 0;
    unsigned long long rec_started = 0;
    CU_ASSERT_EQUAL(fscanf(f, "%d %llu", &rec_pid, &rec_started), 2);
    fclose(f);
    CU_ASSERT_EQUAL(rec_pid, (int)pid);
    CU_ASSERT_EQUAL(rec_started, st.started);
    CU_ASSERT_EQUAL(procs_kill(p, 7, &err), 0);
    CU_ASSERT(!pid_recorded(run, "client-7"));
    CU_ASSERT_EQUAL(pidfile_remove(run, "client-7", &err), 0);

    /* This process: running, and a record under a file is refused. */
    CU_ASSERT_EQUAL(pidfile_read_stat(getpid(), &st, &err), 0);
    CU_ASSERT_EQUAL(st.state, 'R');
    const char *file = tests_path(run, "not-a-dir");
    f = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_EQUAL(pidfile_record(file, "x", getpid(), &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not-a-dir/pids"));
    procs_free(p);
    tests_rmtree(bin);
    tests_rmtree(run);
}

void add_procs_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"at most max processes at once", test_cap},
        {"pid records: pid and start time", test_pid_records},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("procs", NULL, NULL, tests);
}
