// How a computation runs: the run context (worker threads, cancellation, Ctrl-C
// polling), the errors a run can stop with, and run_tasks, the one place where
// worker threads are started.
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

// What every long computation carries: how many worker threads it may use, the flag
// that stops every worker, and the poll the waiting thread calls (true = interrupt).
struct RunContext {
    int threads = 1;                      // 0: run inline (nested calls), never poll
    std::atomic<bool>* cancel = nullptr;  // never null in a context given to run_tasks
    std::function<bool()> poll;           // may be empty

    bool cancelled() const { return cancel->load(std::memory_order_relaxed); }
    void check_cancel() const {
        if (cancelled()) throw Cancelled("cancelled");
    }
};

// Run fn(task) for task = 0..ntasks-1 on ctx.threads worker threads, dynamically
// scheduled in increasing order. The calling thread waits and calls ctx.poll() about
// every kPollInterval; when it returns true the work is cancelled (Cancelled is thrown).
// The first exception of a worker is rethrown here after all workers stop.
void run_tasks(int ntasks, const RunContext& ctx, const std::function<void(int)>& fn);

}  // namespace exactrelu
