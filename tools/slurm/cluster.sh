#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for the cluster tests (and for trying `carve submit`):
# Debian's slurm-wlm and munge, every file in one directory, its own ports, daemons started and
# stopped by process id (never by name: another cluster may run on the same machine).
#
#   tools/slurm/cluster.sh start DIR     installs slurm-wlm and munge if needed, writes
#                                        DIR/slurm.conf, starts munged, slurmctld, slurmd;
#                                        prints `export SLURM_CONF=DIR/slurm.conf`
#   tools/slurm/cluster.sh stop DIR      stops the daemons that `start DIR` started
#   tools/slurm/cluster.sh start DIR --if-possible
#                                        as start, but where no cluster can be had here (not
#                                        root), says why and exits 0 without DIR/slurm.conf:
#                                        the tests that need one skip (what ctest runs)
#
# Root runs it (SlurmUser=root). SchedulerParameters=kill_invalid_depend cancels the dependents
# of a failed job rather than leaving them pending forever.
set -euo pipefail
cmd=${1:?usage: cluster.sh start|stop DIR [--if-possible]}
dir=${2:?usage: cluster.sh start|stop DIR [--if-possible]}
optional=${3:-}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir/slurm.conf.ready"

# No cluster here: fail, or (--if-possible) say why and leave the tests that need one to skip.
unavailable() {
  if [[ $optional == --if-possible ]]; then
    echo "cluster.sh: no SLURM cluster: $1; the tests that need one are skipped" >&2
    exit 0
  fi
  echo "cluster.sh: $1" >&2
  exit 1
}

stop() {
  local pid
  for name in slurmd slurmctld munged; do
    if [[ -f $dir/$name.pid ]]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
}

if [[ $cmd == stop ]]; then stop; exit 0; fi
[[ $cmd == start ]] || { echo "cluster.sh: unknown command '$cmd' (start or stop)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || unavailable "it runs its daemons as root (SlurmUser=root); run it as root"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >"$dir/apt.log" 2>&1 ||
    unavailable "apt-get install slurm-wlm munge failed (see $dir/apt.log)"
fi
stop  # a cluster left over in DIR

# Ports of our own, from the directory's name, so that two clusters on one machine do not meet.
base=$((20000 + $(cksum <<<"$dir" | cut -d' ' -f1) % 20000))
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
[[ -f $dir/munge/munge.key ]] || { head -c 1024 /dev/urandom >"$dir/munge/munge.key"; chmod 400 "$dir/munge/munge.key"; }

cat >"$dir/slurm.conf" <<CONF
ClusterName=carve-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.daemon.pid
SlurmdPidFile=$dir/slurmd.daemon.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=kill_invalid_depend
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf

setsid munged -F -f --socket="$dir/munge/socket" --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" >/dev/null 2>&1 &
echo $! >"$dir/munged.pid"
for _ in $(seq 50); do [[ -S $dir/munge/socket ]] && break; sleep 0.1; done
setsid slurmctld -D -i -f "$dir/slurm.conf" >"$dir/slurmctld.out" 2>&1 &
echo $! >"$dir/slurmctld.pid"
setsid slurmd -D -f "$dir/slurm.conf" >"$dir/slurmd.out" 2>&1 &
echo $! >"$dir/slurmd.pid"

# Ready when the node is idle.
for _ in $(seq 150); do
  if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
    touch "$dir/slurm.conf.ready"
    echo "export SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 0.2
done
tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 2>/dev/null || true
stop
echo "cluster.sh: the cluster did not come up in 30 s; logs in $dir (slurmctld.log, slurmd.log)" >&2
exit 1
