# Sourced by the test and benchmark scripts (from the repository root):
# the one shell reader of a process's start time, which with its pid names
# one process for good, so scripts end only the processes they recorded and
# never a pid the system has since reused. common/pidfile.c is the C
# reader; scripts/cleanup keeps its own copy, since it must run alone.

# start_time PID: field 22 of /proc/PID/stat (clock ticks since boot); fails
# when PID is gone. The command name in field 2 may hold spaces and ')'.
start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    set -- $stat
    echo "${20}"
}
