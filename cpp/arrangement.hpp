// Cells, rays and counts of a central arrangement, and the threaded walk over its
// lines (1-dimensional flats) that the enumerators and the pricing loop share.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "flats.hpp"

namespace exactrelu {

// Run fn(task) for task = 0..ntasks-1 on `threads` worker threads, dynamically
// scheduled in increasing order. The calling thread waits and calls poll() about
// every 50 ms; when poll() returns true the work is cancelled (Cancelled is thrown).
// The first exception of a worker is rethrown here after all workers stop.
void run_tasks(int ntasks, int threads, const std::function<void(int)>& fn,
               std::atomic<bool>& cancel, const std::function<bool()>& poll);

// A line found during the walk: the 2-flat node, its sweep and the class index.
struct LineRef {
    const FlatWalker* walker;
    const Node* node;
    const Sweep* sweep;
    int cls;
};

// Direction (r coordinates, float) of the line of class `cls` at a 2-flat.
void line_direction(const LineRef& L, int r, double* v);

// Walk every line of the arrangement of rows 0..m-1 of H (m x r, rank r >= 2) in a
// deterministic order, split into tasks. on_line(task, LineRef) is called for each
// line, on the worker thread running `task`. Returns the number of tasks.
int walk_lines(const double* H, int m, int r, bool integral, int threads,
               std::atomic<bool>& cancel, const std::function<bool()>& poll,
               const std::function<void(int)>& on_tasks_known,
               const std::function<void(int, const LineRef&)>& on_line);

struct CellsResult {
    int words = 0;                  // 64-bit words per pattern
    std::vector<uint64_t> bits;     // n_cells x words, bit h = hyperplane h positive
    std::vector<double> witnesses;  // n_cells x r
    // For cells too thin to hold a double point: the exact witness is witnesses + lo
    // (as real numbers); empty when every witness is exact in doubles.
    std::vector<double> witnesses_lo;
    std::size_t n_cells() const { return words ? bits.size() / words : 0; }
};

// Cells of the arrangement of the m x r matrix H (rank r, distinct rows).
CellsResult enumerate_cells_core(const double* H, int m, int r, bool integral, int threads,
                                 long long max_cells, bool want_witnesses,
                                 std::atomic<bool>& cancel, const std::function<bool()>& poll);

struct RaysResult {
    std::vector<double> dirs;            // n_lines x r (one direction per line)
    std::vector<int64_t> indptr{0};      // CSR over lines: incident hyperplanes
    std::vector<int32_t> indices;
};

RaysResult enumerate_lines_core(const double* H, int m, int r, bool integral, int threads,
                                long long max_lines, std::atomic<bool>& cancel,
                                const std::function<bool()>& poll);

// Exact number of cells and of lines (1-flats).
struct Counts {
    unsigned __int128 cells = 0;
    unsigned __int128 lines = 0;
};
Counts count_core(const double* H, int m, int r, bool integral, int threads, bool want_cells,
                  std::atomic<bool>& cancel, const std::function<bool()>& poll);

}  // namespace exactrelu
