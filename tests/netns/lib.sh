# Sourced (from bash) by tests/netns.sh and bench/run.sh: "machines" made of
# network namespaces on one box. A switch namespace holds a bridge; each
# machine namespace holds one end of a veth pair (eth0, with its own
# address), whose other end is a port of the bridge. Machine 0 is the
# master's; machines 1..N run standing watchdogs. Every name carries the
# caller's pid (NS_TAG), so parallel runs never collide, and nothing is
# made in the root namespace: deleting the namespaces deletes the veths and
# the bridge with them.
#
#   ns_usable              0 when root, iproute2 and netns work; else prints
#                          the reason on stdout and returns 1
#   ns_setup N             the switch, machine 0 (the master's) and 1..N
#   ns_teardown            kills every process inside the namespaces (all
#                          were started by the caller), deletes them
#   ns_name I, ns_addr I   machine I's namespace and address
#   ns_exec I CMD...       runs CMD on machine I
#   ns_pids I              the processes on machine I
#   ns_crash I             SIGKILLs every process on machine I and waits
#                          until they are gone
#   ns_cut I, ns_heal I    takes machine I's switch port down / up
#   wd_start DIR I [PORT]  a standing watchdog on machine I (DIR/secret,
#                          data DIR/data-mI, log DIR/watchdog-mI.log, on
#                          PORT or a port it picks): sets WD_PID[I],
#                          WD_PORT[I]
#   wd_cluster DIR N [SECRET [FILE]]  writes FILE (DIR/cluster.json) naming
#                          m1..mN, with secret_file SECRET (secret)
#   wait_for COND TENTHS   polls a shell condition, bounded
#
# The caller's EXIT trap must call ns_teardown.
NS_TAG=${NS_TAG:-dkv$$}
NS_NET=10.77.0 # private to these namespaces: no clash with the host's
NS_MADE=()
WD_PID=() WD_PORT=()

wait_for() { # condition, bound in tenths of a second
    local i
    for ((i = 0; i < $2; i++)); do eval "$1" && return 0; sleep 0.1; done
    return 1
}

ns_name() { echo "$NS_TAG-m$1"; }
ns_addr() { echo "$NS_NET.$(($1 + 1))"; }
ns_exec() { local i=$1; shift; ip netns exec "$(ns_name "$i")" "$@"; }
ns_pids() { ip netns pids "$(ns_name "$1")" 2>/dev/null; }

ns_usable() {
    [ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
    command -v ip > /dev/null 2>&1 || { echo "no ip command (Debian package iproute2)"; return 1; }
    local p=$NS_TAG-probe why
    if ! why=$({ ip netns add "$p" && ip -n "$p" link add br0 type bridge &&
                 ip -n "$p" link add v0 type veth peer name v1 && ip -n "$p" link set lo up &&
                 ip netns exec "$p" true; } 2>&1); then
        ip netns del "$p" 2> /dev/null
        echo "network namespaces, bridges or veths do not work here: $(echo "$why" | head -n 1)"
        return 1
    fi
    ip netns del "$p"
}

ns_setup() {
    local n=$1 i ns sw=$NS_TAG-sw
    ip netns add "$sw" || return 1
    NS_MADE+=("$sw")
    ip -n "$sw" link add br0 type bridge || return 1
    ip -n "$sw" link set br0 up || return 1
    for ((i = 0; i <= n; i++)); do
        ns=$(ns_name "$i")
        ip netns add "$ns" || return 1
        NS_MADE+=("$ns")
        ip -n "$sw" link add "v$i" type veth peer name eth0 netns "$ns" || return 1
        ip -n "$sw" link set "v$i" master br0 up || return 1
        ip -n "$ns" link set lo up || return 1
        ip -n "$ns" addr add "$(ns_addr "$i")/24" dev eth0 || return 1
        ip -n "$ns" link set eth0 up || return 1
    done
    # Every port forwarding (no STP: at once, but it is a condition to
    # await, not to assume).
    wait_for "[ \"\$(bridge -n $sw link show | grep -c 'state forwarding')\" = $((n + 1)) ]" 50 ||
        { echo "ns_setup: the bridge's ports do not forward: $(bridge -n "$sw" link show)"; return 1; }
}

# ns_kill_in NS: SIGKILLs every process in namespace NS, waits (bounded)
# until none is left.
ns_kill_in() {
    local pids
    pids=$(ip netns pids "$1" 2> /dev/null)
    [ -n "$pids" ] || return 0
    kill -9 $pids 2> /dev/null
    wait_for "[ -z \"\$(ip netns pids '$1' 2> /dev/null)\" ]" 50
}

ns_crash() { ns_kill_in "$(ns_name "$1")"; }

ns_teardown() {
    local ns
    for ns in "${NS_MADE[@]}"; do ns_kill_in "$ns"; done
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2> /dev/null; done
    NS_MADE=()
}

ns_cut() { ip -n "$NS_TAG-sw" link set "v$1" down; }
ns_heal() { ip -n "$NS_TAG-sw" link set "v$1" up; }

wd_start() {
    local dir=$1 i=$2 port=${3:-0}
    : > "$dir/port-m$i"
    # Started from a subshell, so it is not the caller's job (no "Killed"
    # notices when it is killed on purpose); $! is the watchdog itself.
    (
        ip netns exec "$(ns_name "$i")" "$WD_BIN/watchdog" --listen "$(ns_addr "$i"):$port" \
            --secret-file "$dir/secret" --data-dir "$dir/data-m$i" > "$dir/port-m$i" \
            2>> "$dir/watchdog-m$i.log" 7>&- 8>&- &
        echo $! > "$dir/pid-m$i"
    )
    WD_PID[$i]=$(cat "$dir/pid-m$i")
    wait_for "[ -n \"\$(head -n 1 '$dir/port-m$i')\" ]" 100 || return 1
    WD_PORT[$i]=$(head -n 1 "$dir/port-m$i")
}

wd_cluster() {
    local dir=$1 n=$2 secret=${3:-secret} out=${4:-$1/cluster.json} i sep=""
    {
        printf '{"secret_file": "%s", "machines": [\n' "$secret"
        for ((i = 1; i <= n; i++)); do
            printf '%s{"name": "m%d", "watchdog": "%s:%s"}\n' "$sep" "$i" "$(ns_addr "$i")" "${WD_PORT[$i]}"
            sep=,
        done
        echo ']}'
    } > "$out"
}
