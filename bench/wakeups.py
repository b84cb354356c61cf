#!/usr/bin/env python3
"""Who wakes the worker's threads: sched_wakeup events recorded by
`BENCH_PERF_EVENT=sched:sched_wakeup bench/run.sh --phases pipeline --profile` (perf-worker.data in the
run's logs), counted by cause. Usage: bench/wakeups.py PERF_DATA [MESSAGES_IN_THE_8_S_WINDOW]

perf cannot unwind past glibc's pthread_cond_signal (no frame pointers there), so a thread-pool worker
woken through the pool's semaphore from code that left no other frame is counted as "pool semaphore".
"""
import collections
import re
import subprocess
import sys

# First match wins: the causes this pipeline has, from the most specific frame to the most generic.
CAUSES = [
    ("MQTTnet publish queue (receive loop -> ApplicationMessageReceived task)", lambda ev, waker: "EnqueueReceivedPublishPacket" in ev),
    ("receive backlog (held reader let go)", lambda ev, waker: "ReceiveBacklog" in ev or "ReceiveWhenRoom" in ev),
    ("alert loop (queue, batching window, judged wait)", lambda ev, waker: "AlertingService" in ev),
    ("acknowledgements (MQTTnet send, coalesced flush)", lambda ev, waker: "SpoolWriter" in ev and "SendPacket" in ev),
    ("spool writer (group commit)", lambda ev, waker: "SpoolWriter" in ev),
    ("Kestrel (the bench reading /api/pipeline)", lambda ev, waker: "Kestrel" in ev),
    ("thread pool: a worker that found work asks for one more", lambda ev, waker: "Dispatch()" in ev and "MaybeAddWorkingWorker" in ev),
    ("timers", lambda ev, waker: "TimerQueue" in ev or waker == ".NET Timer"),
    ("socket engine (epoll thread) -> thread pool", lambda ev, waker: waker == ".NET Sockets"),
    ("pool semaphore (caller not unwound past libc)", lambda ev, waker: "pthread_cond_signal" in ev),
]


def main():
    script = subprocess.run(["perf", "script", "-i", sys.argv[1]], capture_output=True, text=True, check=True).stdout
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    counts = collections.Counter()
    total = 0
    for ev in script.split("\n\n"):
        head = ev.strip().split("\n")[0]
        if "sched_wakeup" not in head:
            continue
        total += 1
        target = re.search(r"sched_wakeup: comm=(.*?) pid=", head).group(1).strip()
        waker = re.match(r"(.*?)\s+\d+ \[", head).group(1).strip()
        cause = next((name for name, match in CAUSES if match(ev, waker)), "other")
        counts[(cause, target if target.startswith(".NET") else "other processes")] += 1
    print(f"{total} wake-ups" + (f", {total / messages:.2f} per message" if messages else ""))
    for (cause, target), n in counts.most_common():
        per = f"{n / messages:6.3f}/msg " if messages else ""
        print(f"{n:7d} {per}{cause} -> {target}")


if __name__ == "__main__":
    main()
