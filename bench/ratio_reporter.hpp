// SPDX-License-Identifier: Apache-2.0
// A console reporter that also prints throughput ratios between benchmark runs
// of the same binary, so every claim compares against a baseline measured in
// the same run. The ratio definitions also go into the benchmark context, so a
// JSON file written with --benchmark_out carries them for bench/report.py.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace limen::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  /// A line "label: numerator / denominator" to print after the runs (run names as shown).
  struct Ratio {
    std::string label;
    std::string numerator;
    std::string denominator;
    /// When not empty: the denominator is the fastest of these runs ("the best of").
    std::vector<std::string> best_of = {};
  };

  /// Call after benchmark::Initialize and before the runs (the context is printed first).
  explicit RatioReporter(std::vector<Ratio> ratios) : ratios_(std::move(ratios)) {
    for (Ratio& r : ratios_) {
      if (r.best_of.empty()) r.best_of = {r.denominator};  // one list of candidates from here on
      benchmark::AddCustomContext("ratio: " + r.label, spec(r));
    }
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      // With repetitions, the median stands for the run (it is reported after the
      // repetitions, so it replaces them); other aggregates are left out.
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rate_[run.run_name.str()] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-58s %10s\n", "ratio (items/s, same run)", "value");
    for (const Ratio& r : ratios_) {
      const auto num = rate_.find(r.numerator);
      const double den = denominator(r);
      if (num == rate_.end() || den == 0) {
        std::printf("%-58s %10s\n", r.label.c_str(), "n/a");
        continue;
      }
      std::printf("%-58s %9.2fx\n", r.label.c_str(), num->second / den);
    }
  }

 private:
  /// "num=<run>;den=<run>[,<run>...];metric=items_per_second" (the format report.py reads).
  static std::string spec(const Ratio& r) {
    std::string den;
    for (const std::string& name : r.best_of) den += (den.empty() ? "" : ",") + name;
    return "num=" + r.numerator + ";den=" + den + ";metric=items_per_second";
  }

  double denominator(const Ratio& r) const {
    double best = 0;
    for (const std::string& name : r.best_of) {
      if (auto it = rate_.find(name); it != rate_.end() && it->second > best) best = it->second;
    }
    return best;
  }

  std::vector<Ratio> ratios_;
  std::map<std::string, double> rate_;
};

}  // namespace limen::bench
