/* tests: the CUnit unit tests. Each file registers one suite per module
 * through its add_*_tests function; test_main.c runs them all. */
#ifndef DKV_TESTS_H
#define DKV_TESTS_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/vclock.h"

void add_vclock_tests(void);
void add_version_tests(void);
void add_ids_tests(void);
void add_wire_tests(void);
void add_route_tests(void);
void add_peermsg_tests(void);
void add_record_tests(void);
void add_store_tests(void);
void add_config_tests(void);
void add_auth_tests(void);
void add_kv_tests(void);
void add_seal_tests(void);
void add_core_tests(void);
void add_links_tests(void);
void add_script_tests(void);
void add_output_tests(void);
void add_model_tests(void);
void add_session_tests(void);
void add_rpcserve_tests(void);
void add_rpcflat_tests(void);
void add_proto_tests(void);
void add_screen_tests(void);
void add_loop_tests(void);
void add_buf_tests(void);
void add_checker_tests(void);
void add_fixture_tests(void);
void add_procs_tests(void);
void add_history_tests(void);
void add_dump_tests(void);
void add_report_tests(void);

/* Registers a suite and its NULL-terminated test table. Aborts the run on a
 * registry error: a half-registered run would report a misleading count. */
void tests_add_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
                     const CU_TestInfo *tests);

/* A fresh directory under /tmp for tests that need disk (LevelDB). Returns
 * a malloc'ed path, or NULL on failure; tests_rmtree removes it and frees. */
char *tests_mkdtemp(void);
void tests_rmtree(char *path);
/* path/name in a static buffer that the next call overwrites. */
const char *tests_path(const char *dir, const char *name);

/* The scratch directory of the suite running now (suites run one at a
 * time), for suites that keep stores on disk: tests_scratch_init and
 * tests_scratch_cleanup are the suite's CUnit init and cleanup (the cleanup
 * removes everything in it). tests_scratch_path names NAME in it, and
 * tests_scratch_fresh a new PREFIXn in it per call, so tests do not see
 * each other's data; both in tests_path's static buffer. */
int tests_scratch_init(void);
int tests_scratch_cleanup(void);
const char *tests_scratch_path(const char *name);
const char *tests_scratch_fresh(const char *prefix);

/* A listening socket on a free loopback port (*port); the test stops when
 * there is none. */
int tests_listen(uint16_t *port);
/* fork(2) after flushing stdio, so that the child cannot write the
 * parent's buffered output again; the test stops when fork fails. */
pid_t tests_fork(void);

/* Builds a clock from vclock_format text; aborts on bad text because that
 * is a bug in the test itself. Caller frees with vclock_free. */
vclock *tests_vc(const char *text);

/* Tests that expose a bug in a module are named "KNOWN BUG: ..." and stay
 * failing until the module is fixed. */
#define KNOWN_BUG "KNOWN BUG: "

#endif
