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
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "../common/pidfile.h"
#include "../watchdog/procs.h"
#include "../watchdog/runs.h"
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

static bool pid_recorded(const char *rdir, const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "pids/%s.pid", name);
    return access(tests_path(rdir, rel), F_OK) == 0;
}

static void test_cap(void)
{
    char *bin = tests_mkdtemp(), *rdir = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rdir);
    write_stand_in(bin, "server");
    write_stand_in(bin, "client");
    procs *p = procs_new(bin, rdir, "127.0.0.1");
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
    CU_ASSERT(!pid_recorded(rdir, "client-13"));
    CU_ASSERT(!pid_recorded(rdir, "server-14"));
    CU_ASSERT(pid_recorded(rdir, "client-11"));
    CU_ASSERT_EQUAL(procs_kill(p, 13, &err), -1); /* never started */

    /* A running id is still told apart from a full table. */
    CU_ASSERT_EQUAL(procs_start(p, PROCS_CLIENT, 11, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "already running"));

    /* The cap counts processes at once: a kill frees a place. */
    CU_ASSERT_EQUAL(procs_kill(p, 11, &err), 0);
    CU_ASSERT_EQUAL(procs_start(p, PROCS_CLIENT, 13, &(procs_start_opts){.timeout_ms = 10000}, &port, &pid, &err), 0);
    CU_ASSERT(pid_recorded(rdir, "client-13"));
    CU_ASSERT_EQUAL(procs_count(p), 2);
    procs_free(p); /* kills and reaps every stand-in */
    tests_rmtree(bin);
    tests_rmtree(rdir);
}

/* A record holds "PID STARTTIME" of the child; removing it twice is fine;
 * a record that cannot be written is reported. */
static void test_pid_records(void)
{
    char *bin = tests_mkdtemp(), *rdir = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rdir);
    write_stand_in(bin, "client");
    procs *p = procs_new(bin, rdir, "127.0.0.1");
    uint16_t port = 0;
    pid_t pid = 0;
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(procs_start(p, PROCS_CLIENT, 7, &(procs_start_opts){.timeout_ms = 10000},
                                      &port, &pid, &err), 0);
    pidfile_stat st;
    CU_ASSERT_EQUAL_FATAL(pidfile_read_stat(pid, &st, &err), 0);
    CU_ASSERT(st.started > 0);
    FILE *f = fopen(tests_path(rdir, "pids/client-7.pid"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int rec_pid = 0;
    unsigned long long rec_started = 0;
    CU_ASSERT_EQUAL(fscanf(f, "%d %llu", &rec_pid, &rec_started), 2);
    fclose(f);
    CU_ASSERT_EQUAL(rec_pid, (int)pid);
    CU_ASSERT_EQUAL(rec_started, st.started);
    CU_ASSERT_EQUAL(procs_kill(p, 7, &err), 0);
    CU_ASSERT(!pid_recorded(rdir, "client-7"));
    CU_ASSERT_EQUAL(pidfile_remove(rdir, "client-7", &err), 0);

    /* This process: running, and a record under a file is refused. */
    CU_ASSERT_EQUAL(pidfile_read_stat(getpid(), &st, &err), 0);
    CU_ASSERT_EQUAL(st.state, 'R');
    const char *file = tests_path(rdir, "not-a-dir");
    f = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    CU_ASSERT_EQUAL(pidfile_record(file, "x", getpid(), &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not-a-dir/pids"));
    procs_free(p);
    tests_rmtree(bin);
    tests_rmtree(rdir);
}

static bool exists(const char *dir, const char *name)
{
    return access(tests_path(dir, name), F_OK) == 0;
}

/* Runs of a standing watchdog: each in its own directory, the cap counted
 * over all, deaths found by pid, directories removed at the end unless
 * kept, and a crashed watchdog's run waiting for its master. */
static void test_runs(void)
{
    char *bin = tests_mkdtemp(), *data = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(bin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    write_stand_in(bin, "server");
    write_stand_in(bin, "client");
    /* Left by a watchdog that was killed: one to resume, one to expire. */
    CU_ASSERT_EQUAL(mkdir(tests_path(data, "run-cd"), 0700), 0);
    CU_ASSERT_EQUAL(mkdir(tests_path(data, "run-ef"), 0700), 0);
    runs_config cfg = {.bin_dir = bin, .data_dir = data, .child_host = "127.0.0.1",
                       .max_procs = 2, .start_timeout_ms = 10000,
                       .orphan_grace_us = 1000000};
    dkv_err err = {{0}};
    runs *rs = runs_new(&cfg, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_PTR_NULL(runs_local(rs));
    bool resumed = true;
    run *a = runs_begin(rs, "ab", &(runs_opts){0}, &resumed, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_FALSE(resumed);
    CU_ASSERT(exists(data, "run-ab"));
    CU_ASSERT_PTR_NULL(runs_begin(rs, "ab", &(runs_opts){0}, &resumed, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "in progress"));
    run *b = runs_begin(rs, "cd", &(runs_opts){.keep = true}, &resumed, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_TRUE(resumed);
    CU_ASSERT_EQUAL(runs_count(rs), 2);

    uint16_t port;
    pid_t pa, pb;
    CU_ASSERT_EQUAL(run_start(rs, a, PROCS_SERVER, 1, false, false, &port, &pa, &err), 0);
    CU_ASSERT_EQUAL(run_start(rs, b, PROCS_SERVER, 1, false, false, &port, &pb, &err), 0);
    CU_ASSERT(exists(data, "run-ab/pids/server-1.pid"));
    CU_ASSERT(exists(data, "run-cd/pids/server-1.pid"));
    /* The cap counts both runs. */
    CU_ASSERT_EQUAL(run_start(rs, a, PROCS_CLIENT, 2, false, false, &port, &pa, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "at most 2 processes"));

    /* Killed from outside: found by pid, in its run, with the signal. */
    CU_ASSERT_EQUAL(kill(pb, SIGKILL), 0);
    int status;
    CU_ASSERT_EQUAL(waitpid(pb, &status, 0), pb);
    procs_death d;
    CU_ASSERT_PTR_NULL(runs_reaped(rs, 999999, status, &d));
    CU_ASSERT_PTR_EQUAL(runs_reaped(rs, pb, status, &d), b);
    CU_ASSERT_EQUAL(d.id, 1);
    CU_ASSERT_EQUAL(d.kind, PROCS_SERVER);
    CU_ASSERT_EQUAL(d.signal, 9);
    CU_ASSERT_EQUAL(d.code, -1);
    char text[128];
    procs_death_text(&d, text, sizeof text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "killed by signal 9"));
    CU_ASSERT_FALSE(exists(data, "run-cd/pids/server-1.pid"));
    CU_ASSERT_EQUAL(run_kill(b, 1, &err), -1); /* gone already */

    /* Ends: a's directory goes, b's was kept. */
    runs_end(rs, a, "test", false);
    CU_ASSERT_FALSE(exists(data, "run-ab"));
    runs_end(rs, b, "test", false);
    CU_ASSERT(exists(data, "run-cd/KEEP"));
    CU_ASSERT_EQUAL(runs_count(rs), 0);
    /* The orphan nobody claimed goes after its grace period. */
    runs_tick(rs, 500000);
    CU_ASSERT(exists(data, "run-ef"));
    runs_tick(rs, 1000000);
    CU_ASSERT_FALSE(exists(data, "run-ef"));
    runs_free(rs);

    /* Local: one run, there from the start, of the given id only. */
    runs_config lc = {.bin_dir = bin, .run_dir = data, .run_id = "aa", .child_host = "127.0.0.1",
                      .max_procs = 2, .start_timeout_ms = 10000};
    rs = runs_new(&lc, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_PTR_NOT_NULL(runs_local(rs));
    CU_ASSERT_PTR_NULL(runs_begin(rs, "bb", &(runs_opts){0}, &resumed, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "serves run aa only"));
    run *l = runs_begin(rs, "aa", &(runs_opts){0}, &resumed, &err);
    CU_ASSERT_PTR_EQUAL(l, runs_local(rs));
    run_set_owner(l, rs);
    CU_ASSERT_PTR_NULL(runs_begin(rs, "aa", &(runs_opts){0}, &resumed, &err));
    runs_free(rs);
    tests_rmtree(bin);
    tests_rmtree(data);
}

void add_procs_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"at most max processes at once", test_cap},
        {"pid records: pid and start time", test_pid_records},
        {"runs: isolated, capped together, deaths by pid, ended, orphans", test_runs},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("procs", NULL, NULL, tests);
}
