#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace crust::bench {

/// Runs `op` in batches until `budget` has passed; returns operations per
/// second. Batches keep the clock reads out of the measured work.
template<class Op>
double ops_per_second(Op&& op, std::chrono::duration<double> budget,
                      size_t batch = 16) {
  using clock = std::chrono::steady_clock;
  size_t count = 0;
  auto start = clock::now();
  auto elapsed = std::chrono::duration<double>::zero();
  do {
    for (size_t i = 0; i < batch; ++i)
      op();
    count += batch;
    elapsed = clock::now() - start;
  } while (elapsed < budget);
  return static_cast<double>(count) / elapsed.count();
}

/// The median of a few samples: robust against one noisy round on a shared
/// machine.
inline double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto mid = xs.size() / 2;
  return xs.size() % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/// Measures a candidate and its baseline in alternating rounds, so both see
/// the same machine load. Rates are medians over the rounds; the ratio is the
/// median of the per-round ratios (each taken under one load), with its
/// spread.
struct paired_result {
  double candidate = 0;
  double baseline = 0;
  double ratio = 0;
  double ratio_min = 0;
  double ratio_max = 0;
};

template<class Candidate, class Baseline>
paired_result measure_pair(Candidate&& candidate, Baseline&& baseline,
                           int rounds, std::chrono::duration<double> budget) {
  std::vector<double> xs;
  std::vector<double> ys;
  std::vector<double> ratios;
  for (int i = 0; i < rounds; ++i) {
    xs.push_back(ops_per_second(candidate, budget));
    ys.push_back(ops_per_second(baseline, budget));
    ratios.push_back(ys.back() > 0 ? xs.back() / ys.back() : 0);
  }
  auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  return {median(xs), median(ys), median(ratios), *lo, *hi};
}

} // namespace crust::bench
