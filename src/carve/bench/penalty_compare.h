// Evaluates every contractive-penalty method on one random encoder and batch and measures how
// far each is from the exact (autograd) method, in value and in every parameter gradient.
// Backs `carve penalty compare`; the tests use it too.
//
//   carve::CompareConfig config;
//   config.inputs = 784; config.hidden = 1000; config.dtype = torch::kFloat64;
//   carve::CompareReport report = carve::compare_penalties(config);
//   nlohmann::json j = carve::to_json(report);
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carve/nn/activation.h"
#include "carve/penalty/contractive.h"

namespace carve {

/// What `carve penalty compare` measures: the encoder's shape, the batch, device and repetitions.
struct CompareConfig {
  Activation activation = Activation::sigmoid;
  int64_t inputs = 784;
  int64_t hidden = 1000;
  int64_t layers = 1;
  int64_t batch = 100;
  bool tied = true;
  torch::Dtype dtype = torch::kFloat64;
  int64_t projections = 1;
  Projection projection = Projection::gaussian;
  JacobianMode mode = JacobianMode::automatic;
  uint64_t seed = 0;
  std::string device = "cpu";
  int64_t repeats = 3;  // timed repetitions after the measured run

  void validate() const;  // throws UsageError naming the offending value
};

/// One method's value, its errors against the exact method and its time.
struct MethodReport {
  std::string method;
  double value = 0;
  double value_rel_err = 0;  // |v - v_exact| / |v_exact|
  double grad_rel_err = 0;   // max over parameters of ||g - g_exact|| / ||g_exact||
  double ms = 0;             // mean milliseconds per forward + backward
  double standard_error = std::numeric_limits<double>::quiet_NaN();  // stochastic only
};

/// The three methods side by side.
struct CompareReport {
  CompareConfig config;
  std::string device;           // resolved
  std::string resolved_mode;    // exact method's mode for this shape
  std::vector<MethodReport> methods;  // analytic, exact, stochastic
};

/// Runs the comparison; to_json and to_table format it (--format json | table).
CompareReport compare_penalties(const CompareConfig& config);
nlohmann::json to_json(const CompareReport& report);
std::string to_table(const CompareReport& report);

}  // namespace carve
