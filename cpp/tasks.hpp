// How a computation runs: the run context (worker threads, cancellation, Ctrl-C
// polling, progress reports), the errors a run can stop with, and run_tasks, the one
// place where worker threads are started.
#pragma once

#include <atomic>
#include <functional>
#include <stdexcept>

namespace exactrelu {

// Raised when a computation is cancelled (Ctrl-C) or exceeds a size limit.
struct Cancelled : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct SizeLimit : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Progress of one stage of a computation: report(stage, tasks done, tasks in the
// stage); it returns true to stop the computation (as a poll does).
using ProgressReport = std::function<bool(const char* stage, long long done, long long total)>;

// What every long computation carries: how many worker threads it may use, the flag
// that stops every worker, the poll the waiting thread calls (true = interrupt), and
// the progress report it calls (rarely; see run_tasks).
struct RunContext {
    int threads = 1;                      // 0: run inline (nested calls), never poll or report
    std::atomic<bool>* cancel = nullptr;  // never null in a context given to run_tasks
    std::function<bool()> poll;           // may be empty
    ProgressReport report;                // may be empty (no progress reporting)
    // The shard this run computes (docs/design.md section 9): of the root tasks of a
    // walk (walk_lines, count_core) only those with task % shard_count == shard_index
    // run; the others contribute nothing. 1 shard: everything. Nested runs use 1.
    int shard_index = 0;
    int shard_count = 1;

    bool in_shard(int task) const { return task % shard_count == shard_index; }

    bool cancelled() const { return cancel->load(std::memory_order_relaxed); }
    void check_cancel() const {
        if (cancelled()) throw Cancelled("cancelled");
    }
};

// Run fn(task) for task = 0..ntasks-1 on ctx.threads worker threads, dynamically
// scheduled in increasing order. The calling thread waits and calls ctx.poll() about
// every kPollInterval; when it returns true the work is cancelled (Cancelled is thrown).
// With a ctx.report, the calling thread (never a worker) also reports (stage, tasks
// finished, ntasks): (stage, 0, ntasks) before the workers start, at most every
// kReportInterval while they run, and (stage, ntasks, ntasks) when every task is done;
// a report returning true cancels the work like the poll (Cancelled is thrown). The first exception of a worker is rethrown here after all workers stop.
void run_tasks(int ntasks, const RunContext& ctx, const std::function<void(int)>& fn,
               const char* stage = "tasks");

}  // namespace exactrelu
