#include "carve/report/analysis.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "carve/atomic_file.h"
#include "carve/csv.h"
#include "carve/data/file_bytes.h"
#include "carve/error.h"
#include "carve/metrics/geometry.h"
#include "carve/report/images.h"
#include "carve/resources.h"
#include "carve/train/run_dir.h"

namespace carve {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

void write_text(const fs::path& path, const std::string& text) { data::write_text_file(path.string(), text); }

// A numeric CSV with a header: column name -> values.
std::vector<std::pair<std::string, std::vector<double>>> read_csv(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(fmt::format("{}: no such file", path.string()));
  std::string line;
  std::getline(in, line);
  std::vector<std::pair<std::string, std::vector<double>>> cols;
  std::stringstream header(line);
  for (std::string name; std::getline(header, name, ',');) cols.push_back({name, {}});
  while (std::getline(in, line)) {
    std::stringstream row(line);
    size_t c = 0;
    for (std::string cell; std::getline(row, cell, ',') && c < cols.size(); ++c) {
      cols[c].second.push_back(cell.empty() || cell == "nan" ? std::nan("") : std::stod(cell));
    }
  }
  return cols;
}

const std::vector<double>& column(const std::vector<std::pair<std::string, std::vector<double>>>& csv,
                                  const std::string& name) {
  for (const auto& [n, v] : csv) {
    if (n == name) return v;
  }
  throw DataError(fmt::format("no column '{}'", name));
}

json series(const std::string& label, const std::vector<double>& x, const std::vector<double>& y) {
  json xs = json::array(), ys = json::array();
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!std::isfinite(y[i])) continue;  // e.g. no validation split
    xs.push_back(x[i]);
    ys.push_back(y[i]);
  }
  return {{"label", label}, {"x", xs}, {"y", ys}};
}

json figure(const fs::path& out, const std::string& title, const std::string& xlabel, const std::string& ylabel,
            json list, bool logx = false, bool logy = false, const std::string& kind = "lines") {
  return {{"out", out.string()}, {"title", title}, {"xlabel", xlabel}, {"ylabel", ylabel}, {"series", list},
          {"logx", logx}, {"logy", logy}, {"kind", kind}, {"width", 800}, {"height", 500}};
}

void plot(const json& figures, const fs::path& work, const AnalysisOptions& o) {
  const auto spec = work / "figures.json";
  write_text(spec, figures.dump());
  const std::string plotter =
      o.plotter.empty() ? resource_path("plot/carve_plot.py") : o.plotter;
  const std::string command = fmt::format("'{}' '{}' '{}' 2> '{}'", o.python, plotter, spec.string(),
                                          (work / "plot.log").string());
  for (const auto& f : figures) before_write(f["out"].get<std::string>());
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::ifstream log(work / "plot.log");
    std::string last, line;
    while (std::getline(log, line)) if (!line.empty()) last = line;
    std::error_code ignored;
    fs::remove(spec, ignored);
    fs::remove(work / "plot.log", ignored);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && !last.empty()) throw WriteError(last);  // "FILE: write failed: ..."
    // Nothing in the log: on a full disk the plotter cannot even write its message there (Python
    // then exits 120, its stderr unflushable). Say what the disk says.
    struct statvfs disk {};
    if (last.empty() && ::statvfs(work.c_str(), &disk) == 0 &&
        static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize < (uint64_t(64) << 10)) {
      throw WriteError(fmt::format("{}: write failed: {} (the plots did not fit)", work.string(), std::strerror(ENOSPC)));
    }
    throw std::runtime_error(fmt::format("plotting failed ({}): {}", command, last));
  }
  fs::remove(spec);
  fs::remove(work / "plot.log");
}

// Tiles for a flat vector of `inputs` values: square images when possible.
std::vector<int64_t> tile_shape(int64_t inputs) {
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(inputs))));
  return side * side == inputs ? std::vector<int64_t>{side, side} : std::vector<int64_t>{1, inputs};
}

std::string run_label(const std::string& dir) {
  const auto p = fs::path(dir).lexically_normal();
  return p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
}


void write_csvs(const fs::path& out, const ContractionCurve& curve, const Spectrum& spectrum,
                const Histogram& hist) {
  int64_t total = 0;
  for (auto c : hist.counts) total += c;
  {
    std::string csv = "radius";
    for (size_t l = 0; l < curve.ratio.size(); ++l) csv += fmt::format(",layer_{}", l + 1);
    csv += "\n";
    for (size_t i = 0; i < curve.radii.size(); ++i) {
      csv += fmt::format("{}", curve.radii[i]);
      for (const auto& layer : curve.ratio) csv += fmt::format(",{:.9g}", layer[i]);
      csv += "\n";
    }
    write_text(out / "contraction.csv", csv);
  }
  {
    std::string csv = "index,mean,std\n";
    const auto sd = spectrum.values.std(0);
    for (int64_t i = 0; i < spectrum.mean.size(0); ++i) {
      csv += fmt::format("{},{:.9g},{:.9g}\n", i + 1, spectrum.mean[i].item<double>(), sd[i].item<double>());
    }
    write_text(out / "spectrum.csv", csv);
  }
  {
    std::string csv = "bin_low,bin_high,count,fraction\n";
    for (size_t i = 0; i < hist.counts.size(); ++i) {
      csv += fmt::format("{:.6g},{:.6g},{},{:.9g}\n", hist.edges[i], hist.edges[i + 1], hist.counts[i],
                         static_cast<double>(hist.counts[i]) / std::max<int64_t>(1, total));
    }
    write_text(out / "saturation.csv", csv);
  }
}

// The first 100 filters, and ten evaluation examples above their reconstructions.
void write_pictures(const fs::path& out, Pretrainable& model, const AffineLayer& code_layer, const torch::Tensor& x,
                    int64_t inputs, int64_t hidden) {
  auto shape = tile_shape(inputs);
  const int64_t shown = std::min<int64_t>(100, hidden);
  write_png((out / "filters.png").string(),
            image_grid(code_layer.weight.detach().slice(0, 0, shown).reshape({shown, shape[0], shape[1]}), 10), 2);
  {
    torch::NoGradGuard no_grad;
    const auto originals = x.slice(0, 0, 10);
    const auto recon = model.reconstruct(originals);
    const int64_t k = originals.size(0);
    write_png((out / "reconstructions.png").string(),
              image_grid(torch::cat({originals, recon}).reshape({2 * k, shape[0], shape[1]}), k, false), 2);
  }

}

using Table = std::vector<std::pair<std::string, std::vector<double>>>;

// The per-epoch metrics of a run (one table, label "") or of a stack (one per layer).
std::vector<std::pair<std::string, Table>> training_tables(const LoadedRun& run) {
  std::vector<std::pair<std::string, Table>> tables;
  const auto files = metrics_files(run.directory);
  for (size_t k = 0; k < files.size(); ++k) {
    tables.push_back({run.stack_layers > 0 ? fmt::format("layer {}", k + 1) : std::string(), read_csv(files[k])});
  }
  return tables;
}

json analysis_figures(const fs::path& out, const std::string& name, const std::string& eval_name, int64_t points,
                      const ContractionCurve& curve, const Spectrum& spectrum, const Histogram& hist,
                      const std::vector<std::pair<std::string, Table>>& training) {
  int64_t total = 0;
  for (auto c : hist.counts) total += c;
  json figures = json::array();
  {
    json list = json::array();
    for (size_t l = 0; l < curve.ratio.size(); ++l) {
      list.push_back(series(curve.ratio.size() > 1 ? fmt::format("{} layer {}", name, l + 1) : name, curve.radii, curve.ratio[l]));
    }
    figures.push_back(figure(out / "contraction.png", fmt::format("Contraction ratio ({} {} points)", points, eval_name),
                             "radius r of the sphere around x0", "mean ||f(x1) - f(x0)|| / ||x1 - x0||", list, true));
  }
  {
    std::vector<double> idx, mean;
    for (int64_t i = 0; i < spectrum.mean.size(0); ++i) idx.push_back(i + 1), mean.push_back(spectrum.mean[i].item<double>());
    figures.push_back(figure(out / "spectrum.png",
                             fmt::format("Singular values of J_f(x), mean over {} points ({:.1f} above 1% of the largest)",
                                         points, spectrum.mean_count_above),
                             "rank", "singular value", json::array({series(name, idx, mean)}), false, true));
  }
  {
    std::vector<double> lo(hist.edges.begin(), hist.edges.end() - 1), frac;
    for (auto c : hist.counts) frac.push_back(static_cast<double>(c) / std::max<int64_t>(1, total));
    figures.push_back(figure(out / "activations.png", "Hidden activations", "activation h", "fraction of activations",
                             json::array({series(name, lo, frac)}), false, false, "bars"));
  }
  json loss = json::array(), jac = json::array(), sat = json::array(), pll = json::array();
  for (const auto& [label, metrics] : training) {
    const std::string prefix = label.empty() ? "" : label + ": ";
    const auto& epoch = column(metrics, "epoch");
    loss.push_back(series(prefix + "training loss", epoch, column(metrics, "loss")));
    loss.push_back(series(prefix + "training reconstruction", epoch, column(metrics, "reconstruction")));
    loss.push_back(series(prefix + "validation reconstruction", epoch, column(metrics, "valid_reconstruction")));
    jac.push_back(series(label.empty() ? name : label, epoch, column(metrics, "jacobian_fro")));
    sat.push_back(series(label.empty() ? name : label, epoch, column(metrics, "saturation")));
    for (const auto& [n, v] : metrics) {
      // RBMs with binary visible units monitor their pseudo-log-likelihood (run directories of
      // carve 0.1 have no such column).
      if (n == "pseudo_log_likelihood" && std::any_of(v.begin(), v.end(), [](double d) { return std::isfinite(d); })) {
        pll.push_back(series(label.empty() ? name : label, epoch, v));
      }
    }
  }
  figures.push_back(figure(out / "training-loss.png", "Training curves", "epoch", "per-example loss", loss));
  figures.push_back(figure(out / "training-jacobian.png", "Mean Jacobian norm during training", "epoch",
                           "mean ||J_f(x)||_F", jac));
  figures.push_back(figure(out / "training-saturation.png", "Saturation during training", "epoch",
                           "fraction of saturated hidden units", sat));
  if (!pll.empty()) {
    figures.push_back(figure(out / "training-pseudo-likelihood.png", "Validation pseudo-log-likelihood", "epoch",
                             "pseudo-log-likelihood (nats)", pll));
  }
  return figures;
}

// A summary value for a Markdown table: four significant digits; saturation and errors (fractions
// in summary.json) in % with two decimals, as every Markdown table of carve shows them.
bool in_percent(const std::string& key) {
  return key.find("saturation") != std::string::npos || key.size() > 6 && key.compare(key.size() - 6, 6, "_error") == 0;
}
std::string shown(const json& v, const std::string& key = "") {
  if (v.is_number_integer()) return v.dump();
  if (v.is_number() && in_percent(key)) return fmt::format("{:.2f}%", 100 * v.get<double>());
  if (v.is_number()) return fmt::format("{:.4g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.is_null() ? "–" : v.dump();
}

// report.md: readable on its own, pictures beside their captions.
std::string report_markdown(const LoadedRun& run, const std::string& name, const std::string& eval_name,
                            const json& summary_json, int64_t points, const ContractionCurve& curve,
                            const Spectrum& spectrum, const fs::path& out) {
  auto& encoder = run.model->encoder();
  const auto code_layer = encoder.affine_layers().front();
  const int64_t inputs = encoder.input_size(), hidden = encoder.code_size();
  std::string md;
  if (run.stack_layers > 0) {
    std::vector<std::string> sizes{std::to_string(inputs)};
    for (const auto& l : encoder.affine_layers()) sizes.push_back(std::to_string(l.weight.size(0)));
    md = fmt::format("# Run {}\n\n`{}` · dataset `{}` · a stack of {} layers, {} {} units (each layer's configuration "
                     "in layer-k/config.yaml)",
                     name, run.spec.file, run.spec.data.dataset, run.stack_layers, fmt::join(sizes, " → "),
                     to_string(encoder.affine_layers().back().activation));
  } else {
    md = fmt::format("# Run {}\n\n`{}` · dataset `{}` · {} {} → {} {} units{} · ", name, run.spec.file,
                     run.spec.data.dataset, to_string(run.spec.model.type), inputs, hidden, to_string(code_layer.activation),
                     run.spec.model.type == ModelType::rbm ? "" : run.spec.model.tied ? ", tied weights" : ", untied weights");
    const auto& g = run.spec.regularizers;
    std::vector<std::string> regs;
    if (g.weight_decay.weight > 0) regs.push_back(fmt::format("weight decay {}", g.weight_decay.weight));
    if (g.contractive.weight > 0) regs.push_back(fmt::format("contractive {} ({})", g.contractive.weight, to_string(g.contractive.method)));
    if (g.higher_order.weight > 0) regs.push_back(fmt::format("higher-order {} (σ {})", g.higher_order.weight, g.higher_order.sigma));
    if (g.sparsity.weight > 0) regs.push_back(fmt::format("sparsity {} ({})", g.sparsity.weight, to_string(g.sparsity.kind)));
    if (run.spec.corruption.type != CorruptionType::none) regs.push_back(fmt::format("{} corruption {}", to_string(run.spec.corruption.type), run.spec.corruption.level));
    md += regs.empty() ? "no regularizer" : fmt::format("{}", fmt::join(regs, ", "));
  }
  md += "\n\n## Summary\n\nSaturation and errors in % (summary.json holds them as fractions).\n\n| metric | value |\n|---|---:|\n";
  if (summary_json.is_object() && summary_json.contains("best")) {
    for (const auto& [k, v] : summary_json["best"].items()) md += fmt::format("| best {} | {} |\n", k, shown(v, k));
    md += fmt::format("| best epoch | {} of {} |\n", shown(summary_json["best_epoch"]), shown(summary_json["epochs_run"]));
  }
  if (summary_json.is_object()) {
    for (const char* k : {"jacobian_fro_mean", "saturation", "test_error", "valid_error"}) {
      if (summary_json.contains(k)) md += fmt::format("| {} ({} split) | {} |\n", k, shown(summary_json.value("metrics_split", json("test"))), shown(summary_json[k], k));
    }
  }
  md += fmt::format("| singular values above 1% of the largest (mean over {} points) | {:.1f} |\n", points, spectrum.mean_count_above);
  md += fmt::format("| contraction ratio at r = {} / r = {} | {:.4g} / {:.4g} |\n", curve.radii.front(), curve.radii.back(),
                    curve.ratio.back().front(), curve.ratio.back().back());
  md += run.stack_layers > 0 ? "\nPer-epoch numbers: layer-k/metrics.csv; configuration: [config.yaml](config.yaml).\n\n"
                             : "\nPer-epoch numbers: [metrics.csv](metrics.csv); configuration: [config.yaml](config.yaml).\n\n";
  md += "## Contraction\n\nMean ratio of distances in feature space and input space between a " + eval_name +
        " point x0 and a point x1 drawn on the sphere of radius r around it ([csv](analysis/contraction.csv)). "
        "A contractive encoder keeps the ratio low at small radii.\n\n![contraction](analysis/contraction.png)\n\n";
  md += "## Jacobian spectrum\n\nSingular values of J_f(x) from the exact (autograd) Jacobian, sorted and averaged over "
        "points ([csv](analysis/spectrum.csv)). A CAE keeps a few large ones, the directions of the data manifold, and "
        "contracts the rest.\n\n![spectrum](analysis/spectrum.png)\n\n";
  md += "## Hidden activations\n\nHistogram of the hidden activations ([csv](analysis/saturation.csv)); mass near 0 and 1 "
        "is saturation.\n\n![activations](analysis/activations.png)\n\n";
  md += "## Filters and reconstructions\n\nThe first 100 encoder weight rows, each scaled to its own range:\n\n"
        "![filters](analysis/filters.png)\n\nEvaluation examples (top) and their reconstructions (bottom):\n\n"
        "![reconstructions](analysis/reconstructions.png)\n\n";
  md += "## Training\n\n![loss](analysis/training-loss.png)\n\n![jacobian](analysis/training-jacobian.png)\n\n"
        "![saturation](analysis/training-saturation.png)\n";
  if (fs::exists(out / "training-pseudo-likelihood.png")) {
    md += "\n![pseudo-log-likelihood](analysis/training-pseudo-likelihood.png)\n";
  }
  return md;
}

}  // namespace

namespace {

struct Analyzed {
  LoadedRun run;
  json numbers;
  std::string name, eval_name;
  ContractionCurve curve;
  Spectrum spectrum;
};

Analyzed analyze(const std::string& run_dir, const fs::path& out, const AnalysisOptions& o) {
  if (o.points <= 0) throw UsageError(fmt::format("--points must be positive, got {}", o.points));
  for (double r : o.radii) {
    if (!(r > 0)) throw UsageError(fmt::format("radii must be positive, got {}", r));
  }
  const auto say = [&](const std::string& what) {
    if (o.progress) o.progress(what);
  };
  say(fmt::format("{}: loading the run and its data", run_dir));
  auto run = load_run(run_dir);
  auto& encoder = run.model->encoder();
  const auto code_layer = encoder.affine_layers().front();
  const int64_t inputs = encoder.input_size(), hidden = encoder.code_size();
  const auto splits = load_run_splits(run.spec);
  const Dataset& eval = splits.valid.size() > 0 ? splits.valid : splits.test.size() > 0 ? splits.test : splits.train;
  const std::string eval_name = splits.valid.size() > 0 ? "validation" : splits.test.size() > 0 ? "test" : "training";
  const auto x = eval.flat().slice(0, 0, o.points);
  fs::create_directories(out);
  const std::string name = run_label(run_dir);  // sweep points share the spec's name

  torch::manual_seed(o.seed);
  say(fmt::format("{}: contraction curve, {} points x {} radii", run_dir, x.size(0), o.radii.size()));
  const auto curve = contraction_curve(encoder, x, o.radii);
  say(fmt::format("{}: Jacobian spectrum, {} exact Jacobians of {} x {}", run_dir, x.size(0), hidden, inputs));
  const auto spectrum = jacobian_spectrum(encoder, x);
  say(fmt::format("{}: activations, filters, reconstructions", run_dir));
  const auto hist = activation_histogram(encoder, eval.flat().slice(0, 0, run.spec.training.metric_examples));
  write_csvs(out, curve, spectrum, hist);
  // Filters and reconstructions.
  write_pictures(out, *run.model, code_layer, x, inputs, hidden);

  auto figures = analysis_figures(out, name, eval_name, x.size(0), curve, spectrum, hist, training_tables(run));
  figures.push_back({{"out", (out / "filters.png").string()}, {"kind", "image"},
                     {"title", fmt::format("Filters of {}: the first {} encoder weight rows, each scaled to its range", name,
                                           std::min<int64_t>(100, hidden))}});
  figures.push_back({{"out", (out / "reconstructions.png").string()}, {"kind", "image"},
                     {"title", fmt::format("Reconstructions of {}: {} examples (top), reconstructions (bottom)", name, eval_name)}});
  say(fmt::format("{}: plotting", run_dir));
  plot(figures, out, o);

  // No path and no name of the run: it lives in the run's tree, which may be copied or renamed.
  json a{{"points", x.size(0)},
         {"evaluation_split", eval_name},
         {"seed", o.seed},
         {"radii", curve.radii},
         {"contraction_ratio", curve.ratio},
         {"spectrum_mean", std::vector<double>(spectrum.mean.data_ptr<double>(), spectrum.mean.data_ptr<double>() + spectrum.mean.numel())},
         {"singular_values_above_1pct", spectrum.mean_count_above}};
  write_text(out / "analysis.json", a.dump(2) + "\n");
  return {std::move(run), a, name, eval_name, curve, spectrum};
}

}  // namespace

json analyze_run_into(const std::string& run_dir, const std::string& out, const AnalysisOptions& o) {
  return analyze(run_dir, out, o).numbers;
}

json analyze_run(const std::string& run_dir, const AnalysisOptions& o) {
  const fs::path out = fs::path(run_dir) / "analysis";
  const auto a = analyze(run_dir, out, o);
  json summary_json;
  if (fs::exists(fs::path(run_dir) / "summary.json")) std::ifstream(fs::path(run_dir) / "summary.json") >> summary_json;
  write_text(fs::path(run_dir) / "report.md",
             report_markdown(a.run, a.name, a.eval_name, summary_json, a.numbers["points"].get<int64_t>(), a.curve,
                             a.spectrum, out));
  return a.numbers;
}

void compare_runs(const std::vector<std::string>& run_dirs, const std::string& out_dir, const AnalysisOptions& o) {
  if (run_dirs.size() < 2) throw UsageError("compare needs at least two run directories");
  const fs::path out(out_dir);
  fs::create_directories(out);
  json contraction = json::array(), spectrum = json::array(), valid = json::array(), jac = json::array();
  std::string md = "# Comparison\n\nSAT in % (compare.csv: a fraction); the contraction ratio is at each run's smallest "
                   "analyzed radius r.\n\n"
                   "| run | best valid rec. | test rec. | test error % | mean ‖J‖_F | SAT % | σ above 1% | ratio at smallest r | r | points |\n"
                   "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::string csv = csv_row({"run", "valid_reconstruction", "test_reconstruction", "test_error", "jacobian_fro_mean",
                             "saturation", "singular_values_above_1pct", "contraction_at_smallest_radius",
                             "smallest_radius", "points"});
  std::vector<std::string> settings;  // "label (r = .., N points)", to tell when they differ
  std::set<std::pair<double, int64_t>> distinct;
  for (size_t k = 0; k < run_dirs.size(); ++k) {
    const auto& dir = run_dirs[k];
    const auto label = run_label(dir);
    // A run's own analysis where it has one; else one made under --out (the run is only read).
    fs::path analyzed = fs::path(dir) / "analysis";
    json analysis;
    if (fs::exists(analyzed / "analysis.json")) {
      std::ifstream(analyzed / "analysis.json") >> analysis;
    } else {
      analyzed = out / "runs" / fmt::format("{}-{}", k + 1, label);  // a directory name already
      analysis = analyze_run_into(dir, analyzed.string(), o);
    }
    const auto c = read_csv(analyzed / "contraction.csv");
    contraction.push_back(series(label, column(c, "radius"), c.back().second));
    const auto s = read_csv(analyzed / "spectrum.csv");
    spectrum.push_back(series(label, column(s, "index"), column(s, "mean")));
    // A stack's training curves are its layers': the top layer's are shown.
    const auto files = metrics_files(dir);
    const std::string curve_label = files.size() > 1 ? fmt::format("{} (top layer {})", label, files.size()) : label;
    const auto m = read_csv(files.back());
    valid.push_back(series(curve_label, column(m, "epoch"), column(m, "valid_reconstruction")));
    jac.push_back(series(curve_label, column(m, "epoch"), column(m, "jacobian_fro")));
    json summary;
    if (fs::exists(fs::path(dir) / "summary.json")) std::ifstream(fs::path(dir) / "summary.json") >> summary;
    // compare.md shows four significant digits, compare.csv nine.
    // A value the run does not have: "–" in compare.md, `nan` in compare.csv (as in every CSV).
    const auto get = [&](const char* k, int digits = 4) {
      if (!summary.is_object()) return std::string("nan");
      const auto& v = summary.contains("best") && summary["best"].contains(k) ? summary["best"][k] : summary.value(k, json());
      return v.is_number() ? fmt::format("{:.{}g}", v.get<double>(), digits) : std::string("nan");
    };
    const auto percent = [](const std::string& v) { return v == "nan" ? std::string("–") : fmt::format("{:.2f}", 100 * std::stod(v)); };
    const auto shown_md = [](const std::string& v) { return v == "nan" ? std::string("–") : v; };
    const double first_ratio = analysis["contraction_ratio"].back()[0].get<double>();
    const double radius = analysis["radii"].front().get<double>();
    const int64_t points = analysis["points"].get<int64_t>();
    distinct.insert({radius, points});
    settings.push_back(fmt::format("{} (r = {}, {} points)", label, radius, points));
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {:.1f} | {:.4g} | {} | {} |\n", label,
                      shown_md(get("valid_reconstruction")), shown_md(get("test_reconstruction")),
                      percent(get("test_error", 9)), shown_md(get("jacobian_fro_mean")), percent(get("saturation", 9)),
                      analysis["singular_values_above_1pct"].get<double>(), first_ratio, radius, points);
    csv += csv_row({label, get("valid_reconstruction", 9), get("test_reconstruction", 9), get("test_error", 9),
                    get("jacobian_fro_mean", 9), get("saturation", 9),
                    fmt::format("{}", analysis["singular_values_above_1pct"].get<double>()),
                    fmt::format("{:.9g}", first_ratio), fmt::format("{}", radius), std::to_string(points)});
  }
  if (distinct.size() > 1) {
    md += fmt::format("\n**Not comparable as they stand:** the runs were analyzed at different radii or points ({}). "
                      "Their contraction ratios and spectra are not measured alike; analyze them again with the same "
                      "`--radii` and `--points` (`carve analyze RUN_DIR --radii ... --points ...`).\n",
                      fmt::join(settings, "; "));
  }
  json figures = json::array();
  figures.push_back(figure(out / "contraction.png", "Contraction ratio", "radius r of the sphere around x0",
                           "mean ||f(x1) - f(x0)|| / ||x1 - x0||", contraction, true));
  figures.push_back(figure(out / "spectrum.png", "Singular values of J_f(x), mean over points", "rank", "singular value",
                           spectrum, false, true));
  figures.push_back(figure(out / "valid-reconstruction.png", "Validation reconstruction", "epoch",
                           "per-example reconstruction error", valid));
  figures.push_back(figure(out / "jacobian.png", "Mean Jacobian norm during training", "epoch", "mean ||J_f(x)||_F", jac));
  plot(figures, out, o);
  md += "\n![contraction](contraction.png)\n\n![spectrum](spectrum.png)\n\n![valid](valid-reconstruction.png)\n\n"
        "![jacobian](jacobian.png)\n";
  write_text(out / "compare.md", md);
  write_text(out / "compare.csv", csv);
}

}  // namespace carve
