// run_tasks: a small pool of worker threads over a numbered list of tasks, with the
// calling thread polling for Ctrl-C and reporting progress while it waits.
#include "tasks.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace exactrelu {

// How often the waiting thread polls for signals: short enough that Ctrl-C feels
// immediate, long enough that the poll (which takes the GIL) costs nothing.
constexpr std::chrono::milliseconds kPollInterval{50};
// Least time between two progress reports of one stage (the first and the last are
// always made): at most about ten a second, each of which takes the GIL.
constexpr std::chrono::milliseconds kReportInterval{100};

void run_tasks(int ntasks, const RunContext& ctx, const std::function<void(int)>& fn,
               const char* stage) {
    if (ntasks <= 0) return;
    std::atomic<bool>& cancel = *ctx.cancel;
    if (ctx.threads <= 0) {  // inline (nested calls): no threads, no polling
        for (int t = 0; t < ntasks; ++t) {
            ctx.check_cancel();
            fn(t);
        }
        return;
    }
    std::atomic<int> next{0};
    std::atomic<long long> done{0};  // tasks finished, for the progress reports
    const bool reporting = static_cast<bool>(ctx.report);
    int nt = std::max(1, std::min(ctx.threads, ntasks));
    std::mutex mu;
    std::condition_variable cv;
    int finished = 0;
    std::exception_ptr err;
    bool interrupted = false;
    auto worker = [&]() {
        try {
            while (!cancel.load(std::memory_order_relaxed)) {
                int t = next.fetch_add(1);
                if (t >= ntasks) break;
                fn(t);
                if (reporting) done.fetch_add(1, std::memory_order_relaxed);
            }
        } catch (...) {
            std::lock_guard<std::mutex> lk(mu);
            if (!err) err = std::current_exception();
            cancel.store(true);
        }
        {
            std::lock_guard<std::mutex> lk(mu);
            ++finished;
        }
        cv.notify_all();
    };
    // the stage starts: (stage, 0, ntasks), before any worker does
    if (reporting && ctx.report(stage, 0, ntasks)) throw Cancelled("interrupted");
    std::vector<std::thread> pool;
    pool.reserve(nt);
    try {
        for (int i = 0; i < nt; ++i) pool.emplace_back(worker);
    } catch (...) {
        cancel.store(true);
        for (auto& th : pool) th.join();
        throw;
    }
    {
        using clock = std::chrono::steady_clock;
        auto last_report = clock::now();
        std::unique_lock<std::mutex> lk(mu);
        while (finished < nt) {
            if (reporting && !interrupted && clock::now() - last_report >= kReportInterval) {
                lk.unlock();
                bool stop = ctx.report(stage, done.load(std::memory_order_relaxed), ntasks);
                lk.lock();
                last_report = clock::now();
                if (stop) {
                    interrupted = true;
                    cancel.store(true);
                }
            }
            if (finished >= nt) break;
            cv.wait_for(lk, kPollInterval);
            if (finished >= nt) break;
            lk.unlock();
            bool stop = !interrupted && ctx.poll ? ctx.poll() : false;
            lk.lock();
            if (stop) {
                interrupted = true;
                cancel.store(true);
            }
        }
    }
    for (auto& th : pool) th.join();
    if (interrupted) throw Cancelled("interrupted");
    if (err) std::rethrow_exception(err);
    if (reporting && ctx.report(stage, ntasks, ntasks)) throw Cancelled("interrupted");
}

}  // namespace exactrelu
