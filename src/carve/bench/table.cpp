// The human-readable form of every benchmark's result: its measurements, then its goals.
#include <fmt/format.h>

#include "carve/bench/benchmarks.h"

namespace carve::bench {

namespace {

// " (products' rate moved 3.1% within the run)", or a discarded run said so.
std::string roofline_note(const nlohmann::json& roofline) {
  const double change = 100 * roofline.value("rate_change", 0.0);
  if (roofline.value("discarded", false)) {
    return fmt::format(" -- DISCARDED: the products' own rate moved {:.1f}% within the run (> 10%)", change);
  }
  return fmt::format(" (products' rate moved {:.1f}% within the run)", change);
}

}  // namespace

namespace {

std::string penalty_table(const nlohmann::json& r) {
  const auto& c = r["config"];
  const auto& m = r["carve"];
  const bool py = r.contains("python");
  const auto peer = [&](const char* key, const char* f) {
    // "-" where the peer has no such number (no peer, or a transform its torch cannot differentiate).
    return py && r["python"].contains(key) ? fmt::format(fmt::runtime(f), r["python"][key].get<double>())
                                            : std::string("-");
  };
  std::string out = fmt::format(
      "carve bench penalty: sigmoid {} -> {}, tied, batch {}, float32, on {}, {} threads, exact in {} mode\n\n",
      c["inputs"].get<int64_t>(), c["hidden"].get<int64_t>(), c["batch"].get<int64_t>(), c.value("device", "cpu"),
      c["threads"].get<int>(), c["exact_mode"].get<std::string>());
  out += fmt::format("{:<44} {:>12} {:>12}\n", "measurement (median ms)", "carve", "python");
  out += fmt::format("{:<44} {:>12.2f} {:>12}\n", "AE step (SGD, cross-entropy)", m["ae_step_ms"].get<double>(),
                     peer("ae_step_ms", "{:.2f}"));
  out += fmt::format("{:<44} {:>12.2f} {:>12}\n", "AE step + analytic penalty", m["ae_analytic_step_ms"].get<double>(),
                     peer("ae_analytic_step_ms", "{:.2f}"));
  out += fmt::format("{:<44} {:>12.2f} {:>12}\n", "AE step + stochastic penalty (k=1)",
                     m["ae_stochastic1_step_ms"].get<double>(), "-");
  out += fmt::format("{:<44} {:>12.1f} {:>12}\n", "exact penalty fwd+bwd (py: vmap(jacrev))",
                     m["exact_ms"].get<double>(), peer("exact_jacrev_ms", "{:.1f}"));
  out += fmt::format("{:<44} {:>12} {:>12}\n", "exact penalty fwd+bwd (py: vmap(jacfwd))", "",
                     peer("exact_jacfwd_ms", "{:.1f}"));
  if (m["exact_peak_mib"].get<double>() >= 0) {  // -1 on CUDA: the host's peak says nothing there
    out += fmt::format("{:<44} {:>12.0f} {:>12}\n", "exact peak resident memory (MiB)",
                       m["exact_peak_mib"].get<double>(), peer("exact_peak_mib", "{:.0f}"));
  }
  const auto& q = r["ratios"];
  if (py && r["python"].contains("exact_functorch_way")) {
    out += fmt::format("\npython: torch {}; its fastest exact way, {}, takes {:.2f}x carve's exact time",
                       r["python"].value("torch_version", "?"), r["python"]["exact_functorch_way"].get<std::string>(),
                       q["functorch_over_exact"].get<double>());
  }
  out += fmt::format("\nexact penalty / AE step {:.1f}x", q["exact_over_ae"].get<double>());
  if (q.contains("ae_step_python_over_carve")) {
    out += fmt::format("; python AE step / carve {:.2f}x; python AE+analytic / carve {:.2f}x",
                       q["ae_step_python_over_carve"].get<double>(), q["ae_analytic_python_over_carve"].get<double>());
  }
  return out + "\n";
}

std::string train_table(const nlohmann::json& r) {
  std::string out = fmt::format("carve bench train: the trainer's CAE step (sigmoid, tied, analytic penalty, SGD), "
                                "on {}, {} threads\n\n", r.value("device", "cpu"), r["threads"].get<int>());
  for (const auto& p : r["points"]) {
    out += fmt::format("{} -> {}, batch {}: carve {:.3f} ms/step ({:.0f} examples/s)", p["inputs"].get<int64_t>(),
                       p["hidden"].get<int64_t>(), p["batch"].get<int64_t>(), p["carve_ms"].get<double>(),
                       p["carve_examples_per_s"].get<double>());
    if (p.contains("python_ms")) {
      out += fmt::format(", python {:.3f} ms/step ({:.0f} examples/s)", p["python_ms"].get<double>(),
                         p["python_examples_per_s"].get<double>());
    }
    if (p.contains("carve_autograd_ms")) {
      out += fmt::format("\n  the same step through autograd (training.step: autograd): {:.3f} ms; fused / autograd "
                         "throughput {:.2f}x", p["carve_autograd_ms"].get<double>(), p["fused_over_autograd"].get<double>());
    }
    out += fmt::format("\n  the five products a step requires, each timed alone with mm_out ({:.1f} GFLOP/s): {:.3f} ms = "
                       "{:.1f}% of the step{}\n",
                       p["sgemm_gflops"].get<double>(), p["roofline_ms"].get<double>(),
                       100 * p["roofline_fraction"].get<double>(), roofline_note(p["roofline"]));
  }
  if (r.contains("finetune")) {
    const auto& f = r["finetune"];
    out += fmt::format("\nfine-tuning step (sigmoid {} -> {} -> softmax {}, batch {}, SGD, finetune.step: auto): "
                       "carve {:.3f} ms/step ({:.0f} examples/s)\n  the same step through autograd (finetune.step: "
                       "autograd): {:.3f} ms; fused / autograd throughput {:.2f}x\n  the five products a step requires, "
                       "each timed alone with mm_out: {:.3f} ms = {:.1f}% of the step{}\n",
                       f["inputs"].get<int64_t>(), f["hidden"].get<int64_t>(), f["classes"].get<int64_t>(),
                       f["batch"].get<int64_t>(), f["carve_ms"].get<double>(), f["carve_examples_per_s"].get<double>(),
                       f["carve_autograd_ms"].get<double>(), f["fused_over_autograd"].get<double>(),
                       f["roofline_ms"].get<double>(), 100 * f["roofline_fraction"].get<double>(),
                       roofline_note(f["roofline"]));
  }
  return out;
}

std::string rbm_table(const nlohmann::json& r) {
  std::string out = fmt::format(
      "carve bench rbm: one epoch of PCD-1, {} -> {}, batch {}, {} examples, {} threads\n\n"
      "carve (float32)                 {:>9.0f} examples/s\n",
      r["visible"].get<int64_t>(), r["hidden"].get<int64_t>(), r["batch"].get<int64_t>(), r["examples"].get<int64_t>(),
      r["threads"].get<int>(), r["carve_examples_per_s"].get<double>());
  if (r.contains("roofline_fraction")) {
    out += fmt::format("five products, each timed alone with mm_out ({:.1f} GFLOP/s): {:.3f} ms per step = {:.0f} "
                       "examples/s; carve reaches {:.1f}% of it{}\n",
                       r["sgemm_gflops"].get<double>(), r["roofline_ms_per_step"].get<double>(),
                       r["roofline_examples_per_s"].get<double>(), 100 * r["roofline_fraction"].get<double>(),
                       roofline_note(r["roofline"]));
  }
  for (const char* dtype : {"float32", "float64"}) {
    const auto key = std::string("carve_over_sklearn_") + dtype;
    if (!r.contains(key)) continue;
    out += fmt::format("scikit-learn BernoulliRBM ({})  {:>9.0f} examples/s   carve / sklearn {:.2f}x\n", dtype,
                       r[std::string("sklearn_") + dtype + "_examples_per_s"].get<double>(), r[key].get<double>());
  }
  return out;
}

std::string run_table(const nlohmann::json& r) {
  const double wall = r["wall_seconds"].get<double>();
  std::string out = fmt::format("carve bench run {} (task {}), on cpu, {} threads: {:.1f} s of wall time ({} "
                                "calibrations, {:.1f} s more, left out)\n\n",
                                r["file"].get<std::string>(), r["task"].get<std::string>(), r["threads"].get<int>(), wall,
                                r["calibrations"].get<int>(), r["calibration_seconds"].get<double>());
  out += fmt::format("{:<30} {:>10} {:>8} {:>14} {:>10}\n", "phase", "seconds", "of wall", "products (s)", "of phase");
  for (const auto& p : r["phases"]) {
    out += fmt::format("{:<30} {:>10.2f} {:>7.1f}% {:>14.2f} {:>9.1f}%\n", p["phase"].get<std::string>(),
                       p["seconds"].get<double>(), 100 * p["share_of_wall"].get<double>(),
                       p["roofline_seconds"].get<double>(), 100 * p["roofline_fraction"].get<double>());
  }
  out += fmt::format("\n{:<20} {:<40} {:>22} {:>10} {:>10} {:>10}\n", "phase", "product", "m x k x n", "count",
                     "ms each", "seconds");
  for (const auto& p : r["products"]) {
    const auto& s = p["shape"];
    out += fmt::format("{:<20} {:<40} {:>22} {:>10} {:>10.4f} {:>10.2f}\n", p["phase"].get<std::string>(),
                       p["name"].get<std::string>(),
                       fmt::format("{} x {} x {}", s["m"].get<int64_t>(), s["k"].get<int64_t>(), s["n"].get<int64_t>()),
                       p["count"].get<int64_t>(), p["last_ms"].get<double>(), p["seconds"].get<double>());
  }
  out += fmt::format("\nthe run's roofline: its products, each timed alone: {:.2f} s = {:.1f}% of the wall time\n",
                     r["roofline_seconds"].get<double>(), 100 * r["roofline_fraction"].get<double>());
  return out;
}

std::string data_table(const nlohmann::json& r) {
  return fmt::format(
      "carve bench data: all 70,000 Fashion-MNIST images and labels (IDX, gzip), best of {}\n\n"
      "zcat of the four files      {:>9.1f} ms\n"
      "carve load (float32 [0,1])  {:>9.1f} ms\n",
      r["repeats"].get<int64_t>(), r["zcat_ms"].get<double>(), r["carve_load_ms"].get<double>());
}

}  // namespace

std::string to_table(const nlohmann::json& r) {
  const auto bench = r.value("bench", "");
  std::string out = bench == "penalty" ? penalty_table(r)
                    : bench == "train" ? train_table(r)
                    : bench == "rbm"   ? rbm_table(r)
                    : bench == "run"   ? run_table(r)
                                       : data_table(r);
  if (r.contains("goals") && !r["goals"].empty()) {
    out += "\ngoal                                                     measured   target\n";
    for (const auto& g : r["goals"]) {
      out += fmt::format("{:<56} {:>9.3g}   {} {:<8g} {}\n", g["name"].get<std::string>(), g["measured"].get<double>(),
                         g["comparison"].get<std::string>(), g["target"].get<double>(),
                         g["met"].get<bool>() ? "met" : "MISSED");
    }
  }
  return out;
}

}  // namespace carve::bench
