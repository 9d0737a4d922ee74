#!/usr/bin/env python3
"""Where calltrail's CPU went, from `perf script -F comm,tid,ip,sym` of a call-graph profile.

Reads the script output on stdin; writes folded stacks (one line per distinct stack, for any
flame-graph renderer such as `inferno-flamegraph`) to the file named by the first argument, and
prints two tables: the samples by task (what the outermost future was: an HTTP worker, an ingest
writer, the projector) and, within the HTTP workers, the share of samples whose stack includes each
stage of a request (a sample can be in several, so those shares do not add up to 100 %).
Run by scripts/bench-ingest.sh with BENCH_FLAMEGRAPH=1.
"""
import collections
import re
import sys

# The outermost frame that says which task a sample belongs to, checked from the root down.
TASKS = [
    ("ingest writers", "calltrail::ingest::group_commit::Writer::run"),
    ("projector", "calltrail::projection::worker::Worker::run"),
    ("HTTP workers", "actix_server::worker"),
    ("HTTP workers", "actix_server::service::StreamService"),
]

# Stages of a request inside an HTTP worker: a sample counts for each whose frame is on its stack.
STAGES = [
    ("request span (the whole request)", "request_span"),
    ("callback handler", "callbacks::receive"),
    ("parsing the events", "calltrail::events"),
    ("authentication", "calltrail::auth"),
    ("queueing for the writer and awaiting the commit", "IngestQueue::submit"),
    ("freeing the parsed events", "drop_in_place<calltrail::events"),
    ("reading the request (HTTP/1.1 dispatcher)", "poll_request"),
    ("writing the answer (HTTP/1.1 dispatcher)", "poll_response"),
    ("sendto (on loopback, also the peer's receive)", "__sys_sendto"),
    ("epoll_wait", "epoll_wait"),
    ("metrics", "metrics::"),
    ("allocator", "malloc"),
]


def samples(stream):
    """Yields each sample's frames, leaf first, as symbol names."""
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if not line.startswith((" ", "\t")):
            continue  # the sample's header line (command and thread id)
        parts = line.strip().split(" ", 1)
        frames.append(parts[1] if len(parts) == 2 else parts[0])
    if frames:
        yield frames


def fold_name(symbol):
    # Semicolons separate frames in the folded format.
    return symbol.replace(";", ":")


def main():
    folded = collections.Counter()
    tasks = collections.Counter()
    stages = collections.Counter()
    total = workers = 0
    for frames in samples(sys.stdin):
        total += 1
        folded[";".join(fold_name(f) for f in reversed(frames))] += 1
        stack = "\n".join(frames)
        task = "other (runtimes' idle machinery, pool maintenance)"
        for name, pattern in TASKS:
            if pattern in stack:
                task = name
                break
        tasks[task] += 1
        if task == "HTTP workers":
            workers += 1
            for name, pattern in STAGES:
                if pattern in stack:
                    stages[name] += 1
    with open(sys.argv[1], "w") as out:
        for stack, count in folded.most_common():
            out.write(f"{stack} {count}\n")
    print(f"calltrail: {total} samples")
    for name, count in tasks.most_common():
        print(f"  {100 * count / max(total, 1):5.1f} %  {name}")
    print(f"within the HTTP workers ({workers} samples; a sample counts for every stage on its stack):")
    for name, _ in STAGES:
        print(f"  {100 * stages[name] / max(workers, 1):5.1f} %  {name}")


if __name__ == "__main__":
    main()
