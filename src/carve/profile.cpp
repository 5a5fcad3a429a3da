#include "carve/profile.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace carve::profile {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct State {
  bool on = false;
  int calibrate_every = 0, epochs = 0;
  double start = 0;
  Scope* current = nullptr;
  Report report;
  std::map<std::tuple<int, std::string, Shape>, int64_t> pending;  // counted since the last calibration
};
State& state() {
  static State s;
  return s;
}

// The median time of one [m, k] x [k, n] product in float32 at this layout, alone, with
// at::mm_out into an output made once, in milliseconds: the median of 7 timings of a batch of
// calls long enough (~2 ms) for the clock.
double product_ms(const Shape& s) {
  const auto a = s.a_transposed ? torch::rand({s.k, s.m}).t() : torch::rand({s.m, s.k});
  const auto b = s.b_transposed ? torch::rand({s.n, s.k}).t() : torch::rand({s.k, s.n});
  auto out = torch::empty({s.m, s.n});
  for (int w = 0; w < 2; ++w) at::mm_out(out, a, b);
  const double t0 = now();
  at::mm_out(out, a, b);
  const double one = std::max(now() - t0, 1e-7);
  const int calls = static_cast<int>(std::clamp(2e-3 / one, 1.0, 10000.0));
  std::vector<double> times;
  for (int r = 0; r < 7; ++r) {
    const double t = now();
    for (int c = 0; c < calls; ++c) at::mm_out(out, a, b);
    times.push_back((now() - t) / calls);
  }
  std::sort(times.begin(), times.end());
  return 1e3 * times[times.size() / 2];
}

// Times every shape counted since the last calibration and charges its counts at that time.
void calibrate() {
  auto& s = state();
  if (s.pending.empty()) return;
  const double t0 = now();
  std::map<Shape, double> ms;
  for (auto& [key, count] : s.pending) {
    const auto& shape = std::get<2>(key);
    auto it = ms.find(shape);
    if (it == ms.end()) it = ms.emplace(shape, product_ms(shape)).first;
    auto& total = s.report.products[key];
    total.count += count;
    total.seconds += static_cast<double>(count) * it->second / 1e3;
    total.last_ms = it->second;
  }
  s.pending.clear();
  ++s.report.calibrations;
  const double spent = now() - t0;
  s.report.calibration_seconds += spent;
  if (s.current != nullptr) s.current->exclude(spent);  // not the enclosing phases' time either
}

}  // namespace

const char* to_string(Phase phase) {
  switch (phase) {
    case Phase::data_loading: return "data loading";
    case Phase::pretraining_steps: return "pretraining steps";
    case Phase::epoch_metrics: return "per-epoch metrics";
    case Phase::finetune_steps: return "fine-tuning steps";
    case Phase::evaluation: return "evaluation";
    case Phase::writes: return "checkpoints and other writes";
    case Phase::other: return "other";
  }
  return "?";
}

double Report::roofline_seconds() const {
  double t = 0;
  for (const auto& [key, total] : products) t += total.seconds;
  return t;
}

bool enabled() { return state().on; }

void start(int calibrate_every) {
  auto& s = state();
  s = State();
  s.on = true;
  s.calibrate_every = std::max(calibrate_every, 1);
  s.start = now();
}

Report stop() {
  auto& s = state();
  if (!s.on) return {};
  calibrate();
  auto r = s.report;
  r.wall_seconds = now() - s.start - r.calibration_seconds;
  double scoped = 0;
  for (int p = 0; p < kPhases; ++p) {
    if (p != static_cast<int>(Phase::other)) scoped += r.seconds[p];
  }
  r.seconds[static_cast<int>(Phase::other)] += std::max(0.0, r.wall_seconds - scoped);
  s = State();
  return r;
}

void count_product(Phase phase, const char* name, const Shape& shape, int64_t count) {
  auto& s = state();
  if (!s.on || count <= 0 || shape.m == 0 || shape.n == 0 || shape.k == 0) return;
  s.pending[std::make_tuple(static_cast<int>(phase), std::string(name), shape)] += count;
}

void epoch_done() {
  auto& s = state();
  if (!s.on) return;
  if (++s.epochs % s.calibrate_every == 0) calibrate();
}

Scope::Scope(Phase phase) : active_(state().on), phase_(phase) {
  if (!active_) return;
  start_ = now();
  outer_ = state().current;
  state().current = this;
}

Scope::~Scope() {
  if (!active_ || !state().on) return;
  const double elapsed = now() - start_;
  state().report.seconds[static_cast<int>(phase_)] += elapsed - inner_;
  if (outer_ != nullptr) outer_->inner_ += elapsed;
  state().current = outer_;
}

}  // namespace carve::profile
